"""What each Dockerfile instruction does to the build state.

One handler per keyword, ``(builder, stage, instruction, state) -> state``.
Word processing (quotes, escapes, ``$VAR`` expansion) is ``changes.split_words``;
instructions that only touch the config reuse ``changes.apply_changes``, the
same code as ``import --change``. COPY and ADD are in ``buildcopy``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from composer.errors import ImageError
from composer.image.changes import apply_changes, split_words

if TYPE_CHECKING:
    from composer.image.builder import Builder, _State
    from composer.image.dockerfile import Instruction, Stage

Handler = Callable[["Builder", "Stage", "Instruction", "_State"], "_State"]

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                "m": 60_000_000_000, "h": 3_600_000_000_000}


def expand(text: str, env: Mapping[str, str]) -> str:
    return " ".join(split_words(text, env))


def arg_pairs(ins: Instruction, env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """The ``name[=default]`` pairs of an ARG line, defaults expanded."""
    pairs: list[tuple[str, str | None]] = []
    for word in split_words(ins.args, env):
        name, sep, value = word.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ImageError(f"Dockerfile:{ins.line}: ARG: invalid name {name!r}")
        pairs.append((name, value if sep else None))
    if not pairs:
        raise ImageError(f"Dockerfile:{ins.line}: ARG requires at least one argument")
    return pairs


def scope(state: _State) -> dict[str, str]:
    """ARGs then ENV: what ``$VAR`` expands to in this stage."""
    env = dict(state.args)
    for item in state.config.get("Env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    return env


def _with(state: _State, **changes: Any) -> _State:
    from dataclasses import replace

    return replace(state, **changes)


def _arg(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    args = dict(state.args)
    for name, default in arg_pairs(ins, scope(state)):
        given = b.opts.args.get(name)
        if given is not None:
            args[name] = given
        elif default is not None:
            args[name] = default
        elif name in b.global_args:
            args[name] = b.global_args[name]
        else:
            args.pop(name, None)
    from composer.image.builder import chain

    text = json.dumps(sorted(args.items()))
    return _with(state, args=args, key=chain(state.key, "ARG " + text))


def _config_change(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    config = apply_changes(state.config, [f"{ins.keyword} {ins.args}"], build_args=state.args)
    shown = f"{ins.keyword} {ins.args}"
    return b.meta(state, shown + json.dumps(config, sort_keys=True), shown, config)


def _exec_or_shell(state: _State, ins: Instruction) -> list[str]:
    exec_form = ins.json_args()
    if exec_form is not None:
        return exec_form
    shell = state.config.get("Shell") or ["/bin/sh", "-c"]
    return [*shell, ins.args]


def _cmd(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    config = dict(state.config)
    argv = _exec_or_shell(state, ins)
    if ins.keyword == "CMD":
        config["Cmd"] = argv
        new = b.meta(state, f"CMD {json.dumps(argv)}", f"CMD {json.dumps(argv)}", config)
        return _with(new, cmd_set=True)
    config["Entrypoint"] = argv
    if not state.cmd_set:
        config.pop("Cmd", None)  # an ENTRYPOINT resets the CMD inherited from the base image
    return b.meta(state, f"ENTRYPOINT {json.dumps(argv)} {state.cmd_set}", f"ENTRYPOINT {json.dumps(argv)}", config)


def _shell(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    argv = ins.json_args()
    if not argv:
        raise ImageError("SHELL requires the arguments to be in JSON form")
    config = {**state.config, "Shell": argv}
    return b.meta(state, f"SHELL {json.dumps(argv)}", f"SHELL {json.dumps(argv)}", config)


def _onbuild(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    keyword = ins.args.split(None, 1)[0].upper() if ins.args.strip() else ""
    if keyword in ("ONBUILD", "FROM", "MAINTAINER"):
        raise ImageError(f"{keyword} isn't allowed as an ONBUILD trigger")
    config = {**state.config, "OnBuild": [*(state.config.get("OnBuild") or []), ins.args]}
    return b.meta(state, f"ONBUILD {ins.args}", f"ONBUILD {ins.args}", config)


def _maintainer(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    return b.meta(state, f"MAINTAINER {ins.args}", f"MAINTAINER {ins.args}", state.config)


def parse_duration(text: str, flag: str) -> int:
    """A Go duration (``30s``, ``1m30s``, ``500ms``) in nanoseconds."""
    pos, total = 0, 0.0
    if text == "0":
        return 0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match[1]) * _DURATION_NS[match[2]]
        pos = match.end()
    if pos != len(text) or not text:
        raise ImageError(f"invalid value {text!r} for --{flag}: expected a duration such as 30s")
    return int(total)


def _healthcheck(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    config = dict(state.config)
    words = ins.args.split(None, 1)
    kind = words[0].upper() if words else ""
    if kind == "NONE":
        if ins.flags:
            raise ImageError("HEALTHCHECK NONE takes no options")
        config["Healthcheck"] = {"Test": ["NONE"]}
    elif kind == "CMD" and len(words) == 2:
        rest = words[1]
        try:
            exec_form = json.loads(rest) if rest.strip().startswith("[") else None
        except ValueError:
            exec_form = None
        test = ["CMD", *exec_form] if isinstance(exec_form, list) else ["CMD-SHELL", rest]
        check: dict[str, Any] = {"Test": test}
        for flag, key in (("interval", "Interval"), ("timeout", "Timeout"),
                          ("start-period", "StartPeriod"), ("start-interval", "StartInterval")):
            if flag in ins.flags:
                check[key] = parse_duration(ins.flags[flag], flag)
        if "retries" in ins.flags:
            try:
                check["Retries"] = int(ins.flags["retries"])
            except ValueError:
                raise ImageError(f"invalid value {ins.flags['retries']!r} for --retries") from None
        config["Healthcheck"] = check
    else:
        raise ImageError("HEALTHCHECK requires NONE or CMD and a command")
    shown = f"HEALTHCHECK {json.dumps(config['Healthcheck'], sort_keys=True)}"
    return b.meta(state, shown, shown, config)


def _workdir(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    from composer.image import buildcopy

    new = _config_change(b, stage, ins, state)
    return buildcopy.ensure_dir(b, new, new.config.get("WorkingDir") or "/")


def _run(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    from composer.image import buildexec

    return buildexec.run(b, stage, ins, state)


def _copy(b: Builder, stage: Stage, ins: Instruction, state: _State) -> _State:
    from composer.image import buildcopy

    return buildcopy.copy(b, stage, ins, state)


HANDLERS: dict[str, Handler] = {
    "ARG": _arg,
    "ENV": _config_change,
    "LABEL": _config_change,
    "EXPOSE": _config_change,
    "VOLUME": _config_change,
    "USER": _config_change,
    "STOPSIGNAL": _config_change,
    "WORKDIR": _workdir,
    "CMD": _cmd,
    "ENTRYPOINT": _cmd,
    "SHELL": _shell,
    "ONBUILD": _onbuild,
    "MAINTAINER": _maintainer,
    "HEALTHCHECK": _healthcheck,
    "RUN": _run,
    "COPY": _copy,
    "ADD": _copy,
}
