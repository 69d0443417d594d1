"""The image each service runs: found in the store, built, or pulled, as Compose decides.

``ensure_images`` is the one place the engine asks for images. Compose's rules
(``docker compose up``; compose-go ``types.PullPolicy``):

- a service with ``build:`` runs the image named by ``image:``, or
  ``<project>-<service>`` when it has none; it is built when missing, when
  ``pull_policy: build``, or with ``up --build``; ``pull_policy: always``
  pulls instead, and ``never`` only uses the store;
- a service without ``build:`` uses the store (``missing``, the default),
  pulls when the image is missing, always (``always``) or never (``never``);
  ``--pull`` (``pull=True``) behaves as ``always`` for them.

Builds of independent services run in parallel (threads: each build spends
its time in containers and file I/O); every service naming the same image
shares one build.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.errors import ConfigError, ImageNotFoundError

if TYPE_CHECKING:
    from composer.image.builder import BuildOptions
    from composer.image.store import Image, ImageStore
    from composer.schema.model import Project, Service

Reporter = Callable[[str, str, str], None]
BUILD_PARALLEL = 4


def image_name(project: Project, service: Service) -> str:
    """The image a service runs: ``image:``, else Compose's ``<project>-<service>``."""
    return service.image or f"{project.name}-{service.name}"


def build_options(project: Project, service: Service, *, no_cache: bool = False, pull: bool = False,
                  build_args: dict[str, str] | None = None) -> BuildOptions:
    """The builder's options for a service's ``build:`` section."""
    from composer.image.builder import BuildOptions

    spec: Any = getattr(service, "build", None)
    if spec is None:
        raise ConfigError(f"service {service.name!r} has no build section")
    context = Path(spec.context or ".")
    if not context.is_absolute():
        context = Path(project.working_dir) / context
    args: dict[str, str | None] = {}
    for key, value in (spec.args or {}).items():
        args[key] = value if value is not None else project.environment.get(key)
    args.update(build_args or {})
    tags = [image_name(project, service), *(spec.tags or [])]
    shm = getattr(spec, "shm_size", None)
    return BuildOptions(
        context=context,
        dockerfile=spec.dockerfile,
        dockerfile_inline=spec.dockerfile_inline,
        args=args,
        target=spec.target,
        labels=dict(spec.labels or {}),
        tags=tags,
        network=spec.network,
        shm_size=int(shm) if shm else None,
        extra_hosts=list(spec.extra_hosts or []),
        no_cache=no_cache or bool(spec.no_cache),
        pull=pull or bool(spec.pull),
    )


def _decide(service: Service, store: ImageStore, name: str, build: bool, pull: str | None,
            no_build: bool) -> str:
    """"build", "pull" or "store" for one service."""
    policy = (getattr(service, "pull_policy", None) or "missing").lower()
    if policy == "if_not_present":
        policy = "missing"
    has_build = getattr(service, "build", None) is not None and not no_build
    if policy not in ("always", "never", "missing", "build", "daily", "weekly"):
        raise ConfigError(f"services.{service.name}.pull_policy: invalid value {policy!r}"
                          " (use always, never, missing or build)")
    if has_build and (build or policy == "build"):
        return "build"
    if pull in ("always", "never"):
        policy = pull if not has_build else policy
    if policy == "always":
        return "pull"
    if policy == "never" or store.exists(name):
        return "store"
    return "build" if has_build else "pull"


def _pull_mode(pull: bool | str | None) -> str | None:
    if pull is True:
        return "always"
    if not pull:
        return None
    mode = str(pull).lower()
    if mode not in ("always", "missing", "never", "build"):
        raise ConfigError(f"invalid --pull value {pull!r}: use always, missing or never")
    return mode


def ensure_images(
    project: Project, names: Sequence[str], store: ImageStore,
    report: Reporter | None = None,
    *,
    build: bool = False,
    no_build: bool = False,
    no_cache: bool = False,
    pull: bool | str | None = None,
    run_root: Path | None = None,
    log: Callable[[str, str], None] | None = None,
    docker_config: Path | None = None,
    allow_pull: bool = False,
) -> dict[str, Image]:
    """The image of each named service, by service name, built or pulled as needed.

    ``build``/``no_build``/``pull`` are ``up --build``, ``--no-build`` and
    ``--pull always|missing|never`` (``True`` = always); ``no_cache`` builds
    without the layer cache; ``run_root`` is where RUN containers keep their
    runtime state (default: ``<state>/run``); ``log(service, line)`` receives
    the build output; ``docker_config`` is the credentials file for pulls.
    Pulling contacts registries, so it happens only with ``allow_pull``;
    without it a missing image is ``No such image: REF``.
    """
    say = report or (lambda _kind, _name, _status: None)
    pull_mode = _pull_mode(pull)
    plan: dict[str, str] = {}
    decisions: dict[str, str] = {}
    for name in names:
        svc = project.services[name]
        if not svc.image and getattr(svc, "build", None) is None:
            raise ConfigError(f"service {name!r} has neither an image nor a build context specified")
        ref = image_name(project, svc)
        plan[name] = ref
        decisions[name] = _decide(svc, store, ref, build, pull_mode, no_build)
        if decisions[name] == "pull" and not allow_pull:
            decisions[name] = "store"
    runs = run_root or store.state_root / "run"
    builds: dict[str, str] = {}  # image ref -> the service that builds it
    for name in names:
        if decisions[name] == "build":
            builds.setdefault(plan[name], name)
    pulls = sorted({plan[n] for n in names if decisions[n] == "pull"})
    for ref in pulls:
        say("Image", ref, "Pulling")
        pull_image(store, ref, docker_config)
        say("Image", ref, "Pulled")
    if builds:
        build_services(project, sorted(builds.values()), store, runs, say, log, no_cache=no_cache,
                       pull=pull_mode == "always", docker_config=docker_config, allow_pull=allow_pull)
    out: dict[str, Image] = {}
    for name in names:
        try:
            out[name] = store.get(plan[name])
        except ImageNotFoundError:
            if getattr(project.services[name], "pull_policy", None) == "never":
                raise ImageNotFoundError(
                    f"No such image: {plan[name]} (service {name!r} has pull_policy: never)"
                ) from None
            raise
    return out


def build_services(
    project: Project, names: Sequence[str], store: ImageStore, run_root: Path,
    report: Reporter | None = None, log: Callable[[str, str], None] | None = None, *,
    no_cache: bool = False, pull: bool = False, build_args: dict[str, str] | None = None,
    docker_config: Path | None = None, allow_pull: bool = False,
) -> dict[str, Image]:
    """Build the named services' images, independent ones in parallel; by service name."""
    from composer.image.builder import build

    say = report or (lambda _kind, _name, _status: None)
    with_build = [n for n in names if getattr(project.services[n], "build", None) is not None]

    def one(name: str) -> Image:
        svc = project.services[name]
        opts = build_options(project, svc, no_cache=no_cache, pull=pull, build_args=build_args)
        say("Image", opts.tags[0], "Building")
        image = build(store, opts, run_root, (lambda line: log(name, line)) if log else None,
                      puller=(lambda ref: pull_image(store, ref, docker_config)) if allow_pull else None)
        say("Image", opts.tags[0], "Built")
        return image

    if len(with_build) <= 1:
        return {n: one(n) for n in with_build}
    # imported here, not at the top: a one-image build runs without threads
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(BUILD_PARALLEL, len(with_build), os.cpu_count() or 1)) as pool:
        futures = {n: pool.submit(one, n) for n in with_build}
        return {n: f.result() for n, f in futures.items()}


def pull_image(store: ImageStore, ref: str, docker_config: Path | None = None) -> Image:
    """Pull ``ref`` from its registry into the store."""
    from composer.image.distribution import pull

    return pull(store, ref, docker_config=docker_config)
