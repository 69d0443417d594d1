"""Push and pull against a real registry on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from composer.errors import ImageError
from composer.image import distribution
from composer.image.builder import BuildOptions, build
from composer.image.registry import Registry
from composer.image.store import ImageStore
from tests import helpers

pytestmark = pytest.mark.root


def _login(root: Path, host: str, password: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``composer login --password-stdin`` (helpers.composer has no stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "composer", "login", host, "-u", "tester", "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, timeout=60, check=False, cwd=helpers.REPO,
        env={**os.environ, **env, "COMPOSER_ROOT": str(root)},
    )


def _build_app(root: Path, tmp: Path, tag: str) -> None:
    ctx = tmp / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "msg").write_text("pushed and pulled\n")
    (ctx / "Dockerfile").write_text(
        "FROM busybox AS gen\nRUN echo generated > /gen.txt\n"
        "FROM busybox\nCOPY msg /app/msg\nCOPY --from=gen /gen.txt /app/\nCMD [\"cat\", \"/app/msg\", \"/app/gen.txt\"]\n"
    )
    build(ImageStore(root), BuildOptions(context=ctx, tags=[tag]), root / "run")


@pytest.fixture
def fresh_root(tmp_path_factory: pytest.TempPathFactory) -> object:
    root = Path(tmp_path_factory.mktemp("fresh", numbered=True))
    try:
        yield root
    finally:
        helpers.cleanup_root(root)


def _run_image(root: Path, tmp: Path, image: str) -> str:
    project = tmp / "proj"
    project.mkdir(exist_ok=True)
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: {image}\n")
    name = "r" + os.urandom(4).hex()
    try:
        out = helpers.composer(root, "-p", name, "run", "--rm", "app", cwd=project, timeout=60)
    finally:
        helpers.composer(root, "-p", name, "down", cwd=project, check=False, timeout=60)
    return out.stdout


def test_push_pull_run(composer_root: Path, fresh_root: Path, registry: object, tmp_path: Path) -> None:
    host = registry.host  # type: ignore[attr-defined]
    ref = f"{host}/team/app:v1"
    _build_app(composer_root, tmp_path, ref)
    pushed = helpers.composer(composer_root, "image", "push", ref)
    assert "Pushed" in pushed.stdout
    again = helpers.composer(composer_root, "image", "push", ref)
    assert "Layer already exists" in again.stdout and "Pushed" not in again.stdout
    pulled = helpers.composer(fresh_root, "image", "pull", ref)
    assert "Pull complete" in pulled.stdout
    original, copy = ImageStore(composer_root).get(ref), ImageStore(fresh_root).get(ref)
    assert copy.id == original.id and copy.diff_ids == original.diff_ids
    assert _run_image(fresh_root, tmp_path, ref) == "pushed and pulled\ngenerated\n"
    # layers already in the store are not fetched again
    assert "Already exists" in helpers.composer(fresh_root, "image", "pull", ref).stdout


def test_index_platform_selection_and_digest_pull(composer_root: Path, fresh_root: Path, registry: object,
                                                  tmp_path: Path) -> None:
    from composer.image.store import host_architecture

    host = registry.host  # type: ignore[attr-defined]
    _build_app(composer_root, tmp_path, f"{host}/multi:single")
    digest = distribution.push(ImageStore(composer_root), f"{host}/multi:single")
    client = Registry(host)
    manifest = client.request("GET", f"/v2/multi/manifests/{digest}", scope="repository:multi:pull",
                              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    other = "s390x" if host_architecture() != "s390x" else "arm64"
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": len(manifest.body),
         "platform": {"os": "linux", "architecture": arch}} for arch in (other, host_architecture())]}).encode()
    put = client.request("PUT", "/v2/multi/manifests/index", scope="repository:multi:pull,push",
                         headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}, body=index)
    assert put.status == 201
    image = distribution.pull(ImageStore(fresh_root), f"{host}/multi:index")
    assert image.id == ImageStore(composer_root).get(f"{host}/multi:single").id
    by_digest = distribution.pull(ImageStore(fresh_root), f"{host}/multi@{digest}")
    assert ImageStore(fresh_root).get(f"{host}/multi@{digest}").id == by_digest.id
    with pytest.raises(ImageError, match="no matching manifest for linux/mips"):
        distribution.pull(ImageStore(fresh_root), f"{host}/multi:index", platform="linux/mips")


def test_basic_auth_login_logout(composer_root: Path, fresh_root: Path, auth_registry: object,
                                 tmp_path: Path) -> None:
    host = auth_registry.host  # type: ignore[attr-defined]
    ref = f"{host}/private/app:v1"
    _build_app(composer_root, tmp_path, ref)
    env = {"DOCKER_CONFIG": str(tmp_path / "docker")}
    denied = helpers.composer(composer_root, "image", "push", ref, env=env, check=False)
    assert denied.returncode != 0 and "authentication required" in denied.stderr
    wrong = _login(composer_root, host, "nope", env)
    assert wrong.returncode != 0 and "unauthorized" in wrong.stderr
    ok = _login(composer_root, host, "s3cret-pw", env)
    assert "Login Succeeded" in ok.stdout
    config = json.loads((tmp_path / "docker" / "config.json").read_text())
    assert host in config["auths"]
    helpers.composer(composer_root, "image", "push", ref, env=env)
    helpers.composer(fresh_root, "image", "pull", ref, env=env)
    assert ImageStore(fresh_root).get(ref).id == ImageStore(composer_root).get(ref).id
    out = helpers.composer(composer_root, "logout", host, env=env)
    assert f"Removing login credentials for {host}" in out.stdout
    again = helpers.composer(fresh_root, "image", "pull", ref, env=env, check=False)
    assert again.returncode != 0 and "authentication required" in again.stderr


def test_tampered_blob_is_rejected(composer_root: Path, fresh_root: Path, registry: object, tmp_path: Path) -> None:
    host = registry.host  # type: ignore[attr-defined]
    ref = f"{host}/app:v1"
    _build_app(composer_root, tmp_path, ref)
    distribution.push(ImageStore(composer_root), ref)
    blobs = registry.storage / "docker" / "registry" / "v2" / "blobs" / "sha256"  # type: ignore[attr-defined]
    layers = [p for p in blobs.glob("*/*/data") if p.stat().st_size > 10_000]
    assert layers
    for data in layers:  # same size, different bytes: only the digest can tell
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
    result = helpers.composer(fresh_root, "image", "pull", ref, check=False)
    assert result.returncode != 0
    assert "digest mismatch" in result.stderr
    assert not ImageStore(fresh_root).exists(ref)
    # the untouched small layers may be kept (each is verified alone); the tampered one is not
    base = ImageStore(composer_root).get("busybox:latest").diff_ids[0]
    assert not ImageStore(fresh_root).snapshot_dir(base).parent.exists()
    assert not list((fresh_root / "snapshots").glob(".tmp-*"))
    assert not list((fresh_root / "images" / "ingest").iterdir())


def test_missing_image_and_plain_http_refused(registry: object, fresh_root: Path) -> None:
    host = registry.host  # type: ignore[attr-defined]
    result = helpers.composer(fresh_root, "image", "pull", f"{host}/nothere:v1", check=False)
    assert result.returncode != 0 and "not found" in result.stderr
    client = Registry("registry.example.com")
    with pytest.raises(ImageError, match="refusing plain HTTP"):
        client._raw("GET", "http://registry.example.com/v2/", {}, None, False)


def test_compose_build_push_pull(composer_root: Path, fresh_root: Path, registry: object, tmp_path: Path) -> None:
    """``composer build``, ``push`` and, in another root, ``pull`` on a Compose file."""
    host = registry.host  # type: ignore[attr-defined]
    project = tmp_path / "proj"
    (project / "app").mkdir(parents=True)
    (project / "app" / "Dockerfile").write_text("FROM busybox\nARG NOTE=none\nRUN echo $NOTE > /note\n")
    (project / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        f"    image: {host}/compose/app:v1\n"
        "    build:\n"
        "      context: ./app\n"
        "      args:\n"
        "        NOTE: from-compose\n"
        "  other:\n"
        "    image: busybox:latest\n"
    )
    built = helpers.composer(composer_root, "build", "--build-arg", "NOTE=from-cli", cwd=project)
    assert "Built" in built.stderr
    image = ImageStore(composer_root).get(f"{host}/compose/app:v1")
    from composer.image.layers import lookup

    found = lookup(list(image.layers), "note")
    assert found is not None and found[0].read_text() == "from-cli\n"
    pushed = helpers.composer(composer_root, "push", "app", cwd=project)
    assert "Pushed" in pushed.stderr
    # only "app": pulling "other" (busybox) would go to Docker Hub, and tests stay on loopback
    skipped = helpers.composer(fresh_root, "pull", "--ignore-buildable", "app", cwd=project)
    assert "Pulling" not in skipped.stderr
    helpers.composer(fresh_root, "pull", "app", cwd=project)
    assert ImageStore(fresh_root).get(f"{host}/compose/app:v1").id == image.id
