"""What the image store hands out: images, their config, list rows.

These are read-only views built from the OCI blobs; the store is the only
writer. ``ImageConfig`` holds the fields of an OCI image config's ``config``
object that the engine needs to create a container, with Python names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from composer.values import field, valueclass


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(str(v) for v in value)


@valueclass
class ImageConfig:
    """The runtime defaults an image gives its containers (OCI ``config`` object)."""

    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    stop_signal: str | None = None
    healthcheck: dict[str, Any] | None = field(default=None, hash=False)

    @classmethod
    def from_oci(cls, config: Mapping[str, Any] | None) -> ImageConfig:
        c = config or {}
        return cls(
            env=_strings(c.get("Env")) or (),
            cmd=_strings(c.get("Cmd")),
            entrypoint=_strings(c.get("Entrypoint")),
            working_dir=str(c.get("WorkingDir") or ""),
            user=str(c.get("User") or ""),
            exposed_ports=tuple(sorted(c.get("ExposedPorts") or {})),
            volumes=tuple(sorted(c.get("Volumes") or {})),
            labels={str(k): str(v) for k, v in (c.get("Labels") or {}).items()},
            stop_signal=c.get("StopSignal") or None,
            healthcheck=c.get("Healthcheck") or None,
        )


@valueclass
class Image:
    """An image in the store, its layers unpacked and ready to be overlay lower dirs."""

    id: str  # "sha256:<hex of the config blob>", as Docker's image id
    digest: str  # the manifest digest
    refs: tuple[str, ...]  # familiar references ("busybox:latest"), sorted
    config: ImageConfig
    layers: tuple[Path, ...]  # snapshot fs directories, bottom-first
    diff_ids: tuple[str, ...]
    created: datetime
    size: int  # bytes of unpacked content
    architecture: str
    os: str
    raw_config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]


@valueclass
class ImageSummary:
    """One row of ``image ls``: an image under one of its references."""

    repository: str  # familiar repository ("busybox", "localhost/x") or "<none>"
    tag: str  # or "<none>"
    id: str
    created: datetime
    size: int


@valueclass
class RemoveResult:
    """What ``remove`` did, in Docker's words: references untagged, images and layers deleted."""

    untagged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()


def parse_created(text: str | None) -> datetime:
    """An RFC 3339 timestamp (Go writes nanoseconds; Python keeps microseconds)."""
    if not text:
        return datetime.fromtimestamp(0, UTC)
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction = f".{rest[:min(digits, 6)]}" if digits else ""
        value = f"{head}{fraction}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_created(when: datetime) -> str:
    """RFC 3339 as Go writes it (``time.RFC3339Nano``: no trailing zeros in the fraction).

    A Go tool that re-encodes a config (skopeo converting a Docker manifest to
    OCI) then writes the same bytes, so the image keeps its id.
    """
    utc = when.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
