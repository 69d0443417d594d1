"""RUN: the command line, its environment and user, the cache lookup, the container.

The environment is the image's ENV plus the ARGs in scope (ENV wins; ARGs
are not kept in the image), as Docker gives it. The cache key holds the
command, those ARG values and the network mode, so changing a build arg
re-runs the RUN steps that can see it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from composer.errors import ImageError
from composer.image.layers import lookup

if TYPE_CHECKING:
    from pathlib import Path

    from composer.image.builder import Builder, _State
    from composer.image.dockerfile import Instruction, Stage


def _read_image_file(layers: list[Path], rel: str) -> str:
    found = lookup(layers, rel)
    if found is None:
        return ""
    try:
        return found[0].read_text(errors="replace")
    except OSError:
        return ""


def _table(text: str, fields: int) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            cols = line.split(":")
            if len(cols) >= fields:
                rows.append(cols)
    return rows


def resolve_user(user: str, layers: list[Path], same_gid: bool = False) -> tuple[int, int, tuple[int, ...]]:
    """``name|uid[:group|gid]`` against the image's /etc/passwd and /etc/group.

    ``same_gid``: COPY --chown's rule, a user without group gets gid = uid.
    """
    name, _, group = (user or "0").partition(":")
    if name.isdigit() and (group.isdigit() or (same_gid and not group)):
        return int(name), int(group) if group else int(name), ()
    users = _table(_read_image_file(layers, "etc/passwd"), 7)
    groups = _table(_read_image_file(layers, "etc/group"), 4)
    username: str | None = None
    if name.isdigit():
        uid = int(name)
        match = next((u for u in users if u[2] == name), None)
        gid = uid if same_gid else (int(match[3]) if match else 0)
        username = match[0] if match else None
    else:
        match = next((u for u in users if u[0] == name), None)
        if match is None:
            raise ImageError(f"unable to find user {name}: no matching entries in passwd file")
        uid, username = int(match[2]), name
        gid = uid if same_gid else int(match[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            gmatch = next((g for g in groups if g[0] == group), None)
            if gmatch is None:
                raise ImageError(f"unable to find group {group}: no matching entries in group file")
            gid = int(gmatch[2])
    extra = tuple(int(g[2]) for g in groups
                  if username and username in (g[3].split(",") if g[3] else []) and int(g[2]) != gid)
    return uid, gid, extra


def environment(state: _State) -> list[str]:
    env: dict[str, str] = dict(state.args)
    for item in state.config.get("Env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    return [f"{k}={v}" for k, v in env.items()]


def command(ins: Instruction, shell: list[str]) -> list[str]:
    exec_form = ins.json_args()
    if exec_form is not None:
        if not exec_form:
            raise ImageError("RUN requires at least one argument")
        return exec_form
    text = ins.args
    if ins.heredocs:
        only = len(ins.heredocs) == 1 and text.strip() in (f"<<{ins.heredocs[0].name}", f"<<-{ins.heredocs[0].name}",
                                                           f"<<'{ins.heredocs[0].name}'", f'<<"{ins.heredocs[0].name}"')
        if only:
            return [*shell, ins.heredocs[0].content]
        script = text
        for doc in ins.heredocs:
            script += "\n" + doc.content + doc.name
        return [*shell, script + "\n"]
    if not text.strip():
        raise ImageError("RUN requires at least one argument")
    return [*shell, text]


def network_mode(b: Builder, ins: Instruction) -> str:
    mode = ins.flags.get("network") or b.opts.network or "default"
    if mode in ("default", "host"):
        return "host"
    if mode == "none":
        return "none"
    raise ImageError(f"network mode {mode!r} is not supported for builds (use default, host or none)")


def run(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    from composer.image.builder import chain

    if "mount" in ins.flags:
        raise ImageError("RUN --mount is not supported by composer's builder")
    shell = list(state.config.get("Shell") or ["/bin/sh", "-c"])
    argv = command(ins, shell)
    net = network_mode(b, ins)
    args_seen: Mapping[str, str] = state.args
    key = chain(state.key, "RUN " + json.dumps([argv, sorted(args_seen.items()), net,
                                                list(b.opts.extra_hosts)]))
    hit = b.cached(key)
    if hit is not None:
        b.log("CACHED")
        return _carry(hit, state)
    from composer.image.buildrun import RunSpec, run_step
    from composer.image.layers import write_diff

    layers = b.layer_paths(state)
    uid, gid, extra = resolve_user(str(state.config.get("User") or ""), layers)
    spec = RunSpec(
        argv=tuple(argv), env=tuple(environment(state)), cwd=state.config.get("WorkingDir") or "/",
        uid=uid, gid=gid, additional_gids=extra, network=net, shm_size=b.opts.shm_size,
        extra_hosts=tuple(b.opts.extra_hosts), timeout=b.opts.run_timeout,
    )
    shown = "RUN " + (ins.args if ins.json_args() is None else json.dumps(argv))
    with b.scratch() as scratch:
        upper, skip = run_step(layers, scratch, spec, b.run_root, b.log)
        new = b.add_layer_from_tar(lambda out: write_diff(upper, out, skip), state, key, shown)
    return _carry(new, state)


def _carry(new: _State, old: _State) -> _State:
    """A cached or new state keeps the stage's ARGs and whether CMD was set."""
    from dataclasses import replace

    return replace(new, args=old.args, cmd_set=old.cmd_set)
