"""The image each service runs: found in the store (later: built or pulled).

``ensure_images`` is the one place the engine asks for images, so that
``pull_policy`` and ``build:`` (the image issue) plug in here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from composer.errors import ConfigError

if TYPE_CHECKING:
    from composer.image.store import Image, ImageStore
    from composer.schema.model import Project


def ensure_images(
    project: Project, names: Sequence[str], store: ImageStore,
    report: Callable[[str, str, str], None] | None = None,
) -> dict[str, Image]:
    """The image of each named service, by service name."""
    out = {}
    for name in names:
        svc = project.services[name]
        if not svc.image:
            raise ConfigError(f"service {name!r} has neither an image nor a build context specified")
        out[name] = store.get(svc.image)
    return out
