"""``composer image ...``: import, ls, inspect, tag, rm, save, load, history, prune, pull, push.

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
    from composer.errors import ImageError

    store = _store(ctx)
    used = _used_image_ids(state_root_from_ctx(ctx))
    for ref in images:
        image = store.get(ref)
        if image.id in used and not force and (len(image.refs) <= 1 or ref.startswith("sha256:")):
            raise ImageError(f'conflict: unable to remove repository reference "{ref}" (must force)'
                             f" - a container is using its referenced image {image.short_id}")
        result = store.remove(ref, force=force)
        for name in result.untagged:
            typer.echo(f"Untagged: {name}")
        for digest in result.deleted:
            typer.echo(f"Deleted: {digest}")


@image_app.command("save")
def save(
    ctx: typer.Context,
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to a file, instead of STDOUT")] = None,  # noqa: UP045
) -> None:
    """Save one or more images to a tar archive (docker save and OCI layout in one)."""
    from composer.errors import ImageError
    from composer.image.archive import save as save_archive

    store = _store(ctx)
    if output is None:
        if sys.stdout.isatty():
            raise ImageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        save_archive(store, images, sys.stdout.buffer)
        return
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            save_archive(store, images, fh)
        os.replace(tmp, output)
    except OSError as exc:
        raise ImageError(f"save to {output}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


@image_app.command("load")
def load(
    ctx: typer.Context,
    input_: Annotated[Optional[Path], typer.Option("--input", "-i", help="Read from tar archive file, instead of STDIN")] = None,  # noqa: UP045
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Suppress the load output")] = False,
) -> None:
    """Load images from a tar archive (docker save or OCI archive, plain or compressed)."""
    from composer.image.archive import load as load_archive

    src: Any = input_ if input_ is not None else sys.stdin.buffer
    for line in load_archive(_store(ctx), src, str(input_) if input_ else "STDIN"):
        if not quiet:
            typer.echo(line)


@image_app.command("history")
def history(
    ctx: typer.Context,
    image: Annotated[str, typer.Argument(metavar="IMAGE")],
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Don't truncate output")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only show image IDs")] = False,
    format_: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show the history of an image."""
    img = _store(ctx).get(image)
    typer.echo(render_history(img, datetime.now(UTC), no_trunc, quiet, format_), nl=False)


@image_app.command("prune")
def prune(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Remove all unused images, not just dangling ones")] = False,
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not prompt for confirmation")] = False,
) -> None:
    """Remove unused images."""
    if not force:
        what = "all images without at least one container associated to them" if all_ else "all dangling images"
        if not typer.confirm(f"WARNING! This will remove {what}.\nAre you sure you want to continue?"):
            return
    store = _store(ctx)
    used = _used_image_ids(state_root_from_ctx(ctx))
    result, reclaimed = store.prune(used, all_)
    if result.untagged or result.deleted:
        typer.echo("Deleted Images:")
        for name in result.untagged:
            typer.echo(f"untagged: {name}")
        for digest in result.deleted:
            typer.echo(f"deleted: {digest}")
        typer.echo("")
    typer.echo(f"Total reclaimed space: {human_size(reclaimed)}")


def _used_image_ids(state_root: Path) -> set[str]:
    """Image ids of the containers under the state root (their records name them)."""
    used: set[str] = set()
    for record in (state_root / "containers").glob("*/container.json"):
        try:
            value = json.loads(record.read_text()).get("image_id")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str):
            used.add(value)
    return used


@image_app.command("pull")
def pull(
    ctx: typer.Context,
    image: Annotated[str, typer.Argument(metavar="NAME[:TAG|@DIGEST]")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Suppress verbose output")] = False,
    platform: Annotated[Optional[str], typer.Option("--platform", help="Set platform if server is multi-platform capable")] = None,  # noqa: UP045
) -> None:
    """Download an image from a registry."""
    from composer.cli.buildcmd import docker_config_path, insecure_registries
    from composer.image import distribution as registry

    progress = None if quiet else (lambda line: typer.echo(line))
    image_obj = registry.pull(_store(ctx), image, docker_config=docker_config_path(),
                              insecure=insecure_registries(), progress=progress, platform=platform)
    if quiet:
        typer.echo(image)
    else:
        typer.echo(f"Status: Downloaded image for {image} ({image_obj.short_id})")


@image_app.command("push")
def push(
    ctx: typer.Context,
    image: Annotated[str, typer.Argument(metavar="NAME[:TAG]")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Suppress verbose output")] = False,
) -> None:
    """Upload an image to a registry."""
    from composer.cli.buildcmd import docker_config_path, insecure_registries
    from composer.image import distribution as registry

    progress = None if quiet else (lambda line: typer.echo(line))
    digest = registry.push(_store(ctx), image, docker_config=docker_config_path(),
                           insecure=insecure_registries(), progress=progress)
    if not quiet:
        typer.echo(f"{image}: digest: {digest}")


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


def render_history(image: "Image", now: datetime, no_trunc: bool, quiet: bool, format_: str) -> str:
    """``docker history``: newest step first; only the top row carries the image id."""
    from composer.image.model import parse_created

    entries = list(image.raw_config.get("history") or [])
    sizes = _layer_sizes(image)
    rows = []
    layer = len([e for e in entries if not e.get("empty_layer")]) - 1
    for position, entry in enumerate(reversed(entries)):
        size = 0
        if not entry.get("empty_layer"):
            size = sizes[layer] if 0 <= layer < len(sizes) else 0
            layer -= 1
        shown_id = image.id if position == 0 else "<missing>"
        if shown_id != "<missing>" and not no_trunc:
            shown_id = shown_id.removeprefix("sha256:")[:12]
        created = parse_created(entry.get("created"))
        by = str(entry.get("created_by") or "")
        if not no_trunc and len(by) > 45:
            by = by[:44] + "…"
        rows.append({"ID": shown_id, "CreatedSince": human_duration((now - created).total_seconds()) + " ago",
                     "CreatedBy": by, "Size": human_size(size), "Comment": str(entry.get("comment") or "")})
    if quiet:
        return "".join(r["ID"] + "\n" for r in rows)
    if format_ == "json":
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    body = [[r["ID"], r["CreatedSince"], r["CreatedBy"], r["Size"], r["Comment"]] for r in rows]
    return table([["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], *body])


def _layer_sizes(image: "Image") -> list[int]:
    sizes = []
    for fs in image.layers:
        try:
            sizes.append(int(json.loads((fs.parent / "layer.json").read_text())["size"]))
        except (OSError, ValueError, KeyError):
            sizes.append(0)
    return sizes
