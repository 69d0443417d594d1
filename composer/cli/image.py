"""``composer image ...``: import, ls, inspect, tag, rm, rendered as ``docker image`` does.

Command bodies stay thin: build the store, call one method, render. The image
package is imported inside the commands so that registering this sub-app costs
nothing to commands that never touch images.
"""

import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from composer.cli.render import table
from composer.engine.humanize import human_duration, human_size

if TYPE_CHECKING:
    from composer.image.model import Image, ImageSummary
    from composer.image.store import ImageStore

image_app = typer.Typer(name="image", help="Manage images", no_args_is_help=True)


def state_root_from_ctx(ctx: typer.Context) -> Path:
    """The state root the main app put in ``ctx.obj`` (else COMPOSER_ROOT, else the default)."""
    obj = ctx.obj
    if isinstance(obj, dict) and obj.get("state_root"):
        return Path(obj["state_root"])
    return Path(os.environ.get("COMPOSER_ROOT", "/var/lib/composer"))


def _store(ctx: typer.Context) -> "ImageStore":
    from composer.image.store import ImageStore

    return ImageStore(state_root_from_ctx(ctx))


@image_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="file|-", help="Tar archive (plain, gzip, bzip2, xz); - reads stdin")],
    reference: Annotated[Optional[str], typer.Argument(metavar="[REPOSITORY[:TAG]]")] = None,  # noqa: UP045
    change: Annotated[Optional[list[str]], typer.Option("--change", "-c", help="Apply Dockerfile instruction to the created image")] = None,  # noqa: UP045
    message: Annotated[Optional[str], typer.Option("--message", "-m", help="Set commit message for imported image")] = None,  # noqa: UP045
) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    src: Any = sys.stdin.buffer if file == "-" else Path(file)
    image = _store(ctx).import_rootfs(src, reference, change or (), message)
    typer.echo(image.id)


@image_app.command("ls")
def ls(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only show image IDs")] = False,
    format_: Annotated[str, typer.Option("--format", help="Format output: table or json")] = "table",
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Don't truncate output")] = False,
) -> None:
    """List images."""
    rows = _store(ctx).list()
    typer.echo(render_images(rows, format_, quiet, no_trunc, datetime.now(UTC)), nl=False)


@image_app.command("inspect")
def inspect(
    ctx: typer.Context,
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...")],
) -> None:
    """Display detailed information on one or more images."""
    store = _store(ctx)
    typer.echo(json.dumps([inspect_dict(store.get(ref)) for ref in images], indent=4))


@image_app.command("tag")
def tag(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SOURCE_IMAGE[:TAG]")],
    target: Annotated[str, typer.Argument(metavar="TARGET_IMAGE[:TAG]")],
) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    _store(ctx).tag(source, target)


@image_app.command("rm")
def rm(
    ctx: typer.Context,
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...")],
    force: Annotated[bool, typer.Option("--force", "-f", help="Force removal of the image")] = False,
) -> None:
    """Remove one or more images."""
    store = _store(ctx)
    for ref in images:
        result = store.remove(ref, force=force)
        for name in result.untagged:
            typer.echo(f"Untagged: {name}")
        for digest in result.deleted:
            typer.echo(f"Deleted: {digest}")


# rendering (pure functions, tested on their own)


def render_images(
    rows: "Sequence[ImageSummary]", format_: str, quiet: bool, no_trunc: bool, now: datetime
) -> str:
    def image_id(full: str) -> str:
        return full if no_trunc else full.removeprefix("sha256:")[:12]

    if quiet:
        return "".join(image_id(r.id) + "\n" for r in rows)
    if format_ == "json":
        out = []
        for r in rows:
            since = human_duration((now - r.created).total_seconds()) + " ago"
            out.append(json.dumps({
                "Containers": "N/A", "CreatedAt": r.created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC"),
                "CreatedSince": since, "Digest": "<none>", "ID": image_id(r.id),
                "Repository": r.repository, "SharedSize": "N/A", "Size": human_size(r.size),
                "Tag": r.tag, "UniqueSize": "N/A", "VirtualSize": human_size(r.size),
            }, separators=(",", ":")))
        return "".join(line + "\n" for line in out)
    if format_ != "table":
        from composer.errors import ConfigError

        raise ConfigError(f"unsupported --format {format_!r}: use table or json")
    body = [
        [r.repository, r.tag, image_id(r.id),
         human_duration((now - r.created).total_seconds()) + " ago", human_size(r.size)]
        for r in rows
    ]
    return table([["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], *body])


def inspect_dict(image: "Image") -> dict[str, Any]:
    """The fields of ``docker image inspect`` that composer knows."""
    raw = image.raw_config
    return {
        "Id": image.id,
        "RepoTags": list(image.refs),
        "RepoDigests": [],
        "Comment": ((raw.get("history") or [{}])[-1] or {}).get("comment", ""),
        "Created": raw.get("created", ""),
        "Config": raw.get("config") or {},
        "Architecture": image.architecture,
        "Os": image.os,
        "Size": image.size,
        "RootFS": {"Type": "layers", "Layers": list(image.diff_ids)},
        "Metadata": {"LastTagTime": ""},
        "GraphDriver": {"Name": "overlay2",
                        "Data": {"LowerDir": ":".join(str(p) for p in reversed(image.layers))}},
    }
