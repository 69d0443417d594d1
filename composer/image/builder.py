"""The Dockerfile builder: stages, instructions, the layer cache.

``build(store, options) -> Image`` parses the Dockerfile, picks the stages
the target needs (BuildKit skips the others), and runs each instruction on a
``_State`` (the image config being made, its layers and history, the ARGs
in scope). Instructions that only change the config (ENV, LABEL, CMD, ...)
cost nothing; RUN, COPY, ADD and a WORKDIR that creates its directory make
a layer.

The cache: every instruction extends a *chain key*, the digest of the parent
key and what the instruction does (its expanded text, the ARGs a RUN sees,
the content digest of COPY sources). A layer-making step whose key is in
``STATE/builder/cache/`` reuses the recorded layer and config instead of
running; so an unchanged rebuild runs nothing and, because the image's
``created`` time comes from the cache too, gives the same image id.
``--no-cache`` skips lookups (results are still recorded); ``--pull`` pulls
base images even when they are in the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import secrets
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from composer.errors import ImageError, ImageNotFoundError
from composer.image.buildinstr import HANDLERS, arg_pairs, expand
from composer.image.dockerfile import Dockerfile, Instruction, Stage, parse
from composer.image.model import Image, format_created
from composer.image.store import ImageStore, host_architecture

Log = Callable[[str], None]

#: ARGs every build knows without declaring them (Docker's predefined args are proxies)
_DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass(frozen=True)
class BuildOptions:
    """What ``docker build`` and Compose's ``build:`` say."""

    context: Path
    dockerfile: str | None = None  # relative to the context, or absolute
    dockerfile_inline: str | None = None
    args: Mapping[str, str | None] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    tags: Sequence[str] = ()
    network: str | None = None  # None, "default", "host": the host's; "none"
    shm_size: int | None = None
    extra_hosts: Sequence[str] = ()
    no_cache: bool = False
    pull: bool = False
    run_timeout: float | None = None


Puller = Callable[[str], Image]


@dataclass
class _State:
    config: dict[str, Any]  # the OCI "config" object
    layers: list[dict[str, Any]]
    diff_ids: list[str]
    history: list[dict[str, Any]]
    key: str
    created: str
    architecture: str = field(default_factory=host_architecture)
    args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False

    def copy_image(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "architecture": self.architecture,
            "os": "linux",
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": list(self.diff_ids)},
            "history": self.history,
        }


class Builder:
    """One build: a store, the options, where RUN containers keep their state."""

    def __init__(self, store: ImageStore, options: BuildOptions, run_root: Path,
                 log: Log | None = None, puller: Puller | None = None) -> None:
        self.store = store
        self.opts = options
        self.run_root = run_root
        self.log = log or (lambda _line: None)
        self.puller = puller
        self.context = Path(options.context)
        self.cache_dir = store.state_root / "builder" / "cache"
        self.tmp_dir = store.state_root / "builder" / "tmp"
        self.stages_done: dict[int, _State] = {}
        self.dockerfile: Dockerfile | None = None
        self.ignore: Any = None
        self.global_args: dict[str, str] = {}
        self.counter = 0

    # entry point

    def build(self) -> Image:
        from composer.image.context import Ignore

        if not self.context.is_dir():
            raise ImageError(f"unable to prepare context: path {str(self.context)!r} not found")
        text, source = self._dockerfile_text()
        self.dockerfile = parse(text, source)
        self.ignore = Ignore.load(self.context)
        self.global_args = self._global_args(self.dockerfile.global_args)
        target = self.dockerfile.stage(self.opts.target)
        for index in sorted(self._needed(target)):
            self._stage(self.dockerfile.stages[index])
        state = self._stage(target)
        config = state.copy_image()
        if self.opts.labels:
            labels = dict(config["config"].get("Labels") or {})
            labels.update(self.opts.labels)
            config["config"]["Labels"] = labels
        image = self.store.add_image(config, state.layers, list(self.opts.tags))
        self.log(f"writing image {image.id}" + (f" (naming to {', '.join(self.opts.tags)})" if self.opts.tags else ""))
        return image

    def _dockerfile_text(self) -> tuple[str, str]:
        if self.opts.dockerfile_inline is not None:
            return self.opts.dockerfile_inline, "Dockerfile (inline)"
        name = self.opts.dockerfile or "Dockerfile"
        path = Path(name) if os.path.isabs(name) else self.context / name
        try:
            return path.read_text(), str(path)
        except FileNotFoundError:
            raise ImageError(f"failed to read dockerfile: open {path}: no such file or directory") from None
        except OSError as exc:
            raise ImageError(f"failed to read dockerfile: open {path}: {exc.strerror}") from exc

    def _global_args(self, instructions: Sequence[Instruction]) -> dict[str, str]:
        values: dict[str, str] = {}
        for ins in instructions:
            for name, default in arg_pairs(ins, values):
                given = self.opts.args.get(name)
                if given is not None:
                    values[name] = given
                elif default is not None:
                    values[name] = default
        return values

    # stages

    def stage_index(self, ref: str) -> int | None:
        assert self.dockerfile is not None
        for st in self.dockerfile.stages:
            if st.name == ref.lower() or str(st.index) == ref:
                return st.index
        return None

    def _needed(self, target: Stage) -> set[int]:
        """The earlier stages ``target`` uses (FROM a stage, COPY --from a stage), transitively."""
        assert self.dockerfile is not None
        needed: set[int] = set()
        todo = [target]
        while todo:
            stage = todo.pop()
            refs = [expand(stage.base, self.global_args)]
            refs += [ins.flags["from"] for ins in stage.instructions if "from" in ins.flags]
            for ref in refs:
                index = self.stage_index(ref)
                if index is not None and index < stage.index and index not in needed:
                    needed.add(index)
                    todo.append(self.dockerfile.stages[index])
        return needed

    def _stage(self, stage: Stage) -> _State:
        if stage.index in self.stages_done:
            return self.stages_done[stage.index]
        assert self.dockerfile is not None
        base = expand(stage.base, self.global_args)
        self.log(f"[stage {stage.name or stage.index}] FROM {base}")
        state = self._from(base, stage)
        for name in state.config.get("OnBuild") or []:
            onbuild = parse(f"FROM scratch\n{name}\n", "ONBUILD").stages[0].instructions
            state.config = {k: v for k, v in state.config.items() if k != "OnBuild"}
            for ins in onbuild:
                state = self._step(stage, ins, state)
        state.config.pop("OnBuild", None)
        total = len(stage.instructions)
        for n, ins in enumerate(stage.instructions, 1):
            self.log(f"[{stage.name or stage.index} {n}/{total}] {ins.keyword} {ins.args}".rstrip())
            state = self._step(stage, ins, state)
        self.stages_done[stage.index] = state
        return state

    def _from(self, base: str, stage: Stage) -> _State:
        now = format_created(datetime.now(UTC))
        if base.lower() == "scratch":
            return _State(config={}, layers=[], diff_ids=[], history=[], key=_digest("scratch"), created=now)
        index = self.stage_index(base)
        if index is not None and index < stage.index:
            assert self.dockerfile is not None
            parent = self._stage(self.dockerfile.stages[index])
            return _State(config=json.loads(json.dumps(parent.config)), layers=list(parent.layers),
                          diff_ids=list(parent.diff_ids), history=list(parent.history), key=parent.key,
                          created=parent.created, architecture=parent.architecture)
        image = self.base_image(base)
        raw = image.raw_config
        return _State(
            config=json.loads(json.dumps(raw.get("config") or {})),
            layers=self.store.layer_descriptors(image),
            diff_ids=list(image.diff_ids),
            history=list(raw.get("history") or []),
            key=_digest("image:" + image.id),
            created=str(raw.get("created") or now),
            architecture=image.architecture or host_architecture(),
            cmd_set=False,
        )

    def base_image(self, ref: str) -> Image:
        if self.opts.pull and self.puller is not None:
            return self.puller(ref)
        try:
            return self.store.get(ref)
        except ImageNotFoundError:
            if self.puller is None:
                raise ImageNotFoundError(
                    f"failed to solve: {ref}: not found in the local image store (pull or load it first)"
                ) from None
            return self.puller(ref)

    # steps

    def _step(self, stage: Stage, ins: Instruction, state: _State) -> _State:
        handler = HANDLERS.get(ins.keyword)
        if handler is None:
            raise ImageError(f"{ins.keyword} is not supported by composer's builder")
        try:
            result: _State = handler(self, stage, ins, state)
            return result
        except ImageError as exc:
            if exc.message.startswith("Dockerfile"):
                raise
            raise ImageError(f"Dockerfile:{ins.line}: {ins.keyword}: {exc.message}") from exc

    def cached(self, key: str) -> _State | None:
        if self.opts.no_cache:
            return None
        try:
            data = json.loads((self.cache_dir / key).read_text())
        except (OSError, ValueError):
            return None
        if not all(self.store.layout.has_blob(d["digest"]) for d in data["layers"]):
            return None
        return _State(config=data["config"], layers=data["layers"], diff_ids=data["diff_ids"],
                      history=data["history"], key=key, created=data["created"],
                      architecture=data.get("architecture") or host_architecture())

    def remember(self, state: _State) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        from composer.image.layout import atomic_write

        atomic_write(self.cache_dir / state.key, json.dumps({
            "config": state.config, "layers": state.layers, "diff_ids": state.diff_ids,
            "history": state.history, "created": state.created, "architecture": state.architecture,
        }).encode())

    def layer_paths(self, state: _State) -> list[Path]:
        return self.store.snapshot_paths(state.layers, state.diff_ids)

    @contextlib.contextmanager
    def scratch(self) -> Any:
        from composer.image.buildrun import clean

        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        path = self.tmp_dir / f"{os.getpid()}-{secrets.token_hex(6)}"
        path.mkdir()
        try:
            yield path
        finally:
            clean(path)

    def add_layer_from_tar(self, write: Callable[[Any], None], state: _State, key: str,
                           created_by: str, config: dict[str, Any] | None = None) -> _State:
        descriptor, _size = self.store.add_layer(write, f"build step {created_by[:60]!r}")
        now = format_created(datetime.now(UTC))
        new = _State(
            config=config if config is not None else state.config,
            layers=[*state.layers, descriptor],
            diff_ids=[*state.diff_ids, descriptor["digest"]],
            history=[*state.history, {"created": now, "created_by": created_by, "comment": "buildkit.dockerfile.v0"}],
            key=key, created=now, architecture=state.architecture, args=state.args, cmd_set=state.cmd_set,
        )
        self.remember(new)
        return new

    def meta(self, state: _State, key_text: str, created_by: str, config: dict[str, Any]) -> _State:
        """A step that only changes the config: an empty-layer history entry, no cache lookup."""
        return _State(
            config=config, layers=state.layers, diff_ids=state.diff_ids,
            history=[*state.history, {"created": state.created, "created_by": created_by,
                                      "comment": "buildkit.dockerfile.v0", "empty_layer": True}],
            key=chain(state.key, key_text), created=state.created, architecture=state.architecture,
            args=state.args, cmd_set=state.cmd_set,
        )


def chain(parent: str, text: str) -> str:
    return _digest(parent + "\n" + text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_tar_entries(out: Any, entries: Callable[[tarfile.TarFile], None]) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        entries(tar)


def build(store: ImageStore, options: BuildOptions, run_root: Path, log: Log | None = None,
          puller: Puller | None = None) -> Image:
    """Build the image ``options`` describe; tag it with ``options.tags``."""
    started = time.monotonic()
    image = Builder(store, options, run_root, log, puller).build()
    if log is not None:
        log(f"built in {time.monotonic() - started:.2f}s")
    return image


def default_shell() -> list[str]:
    return list(_DEFAULT_SHELL)


def join_workdir(state: _State, path: str) -> str:
    base = state.config.get("WorkingDir") or "/"
    return posixpath.normpath(posixpath.join(base, path)) if not path.startswith("/") else posixpath.normpath(path)
