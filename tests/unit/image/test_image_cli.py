"""``composer image ...`` rendered as ``docker image ...``."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tarbuild import d, f, make_tar
from typer.testing import CliRunner

from composer.cli.image import human_duration, human_size, image_app, render_images, table
from composer.errors import ImageNotFoundError
from composer.image.model import ImageSummary

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def invoke(root: Path, *args: str, input: bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(image_app, list(args), obj={"state_root": root, "run_root": root / "run"},
                              input=input)


@pytest.mark.parametrize(("size", "text"), [(0, "0B"), (999, "999B"), (1000, "1kB"), (12345, "12.3kB"),
                                             (1_982_420, "1.98MB"), (4_261_000, "4.26MB"),
                                             (123_456_789, "123MB"), (1_500_000_000, "1.5GB")])
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(("seconds", "text"), [(0.5, "Less than a second"), (1, "1 second"),
                                               (59, "59 seconds"), (60, "About a minute"),
                                               (150, "2 minutes"), (3600, "About an hour"),
                                               (5 * 3600, "5 hours"), (3 * 86400, "3 days"),
                                               (20 * 86400, "2 weeks"), (100 * 86400, "3 months"),
                                               (800 * 86400, "2 years")])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_table_like_docker() -> None:
    rows = [ImageSummary("busybox", "latest", "sha256:" + "ab" * 32, NOW - timedelta(minutes=2), 1_982_420),
            ImageSummary("<none>", "<none>", "sha256:" + "cd" * 32, NOW - timedelta(days=3), 512)]
    assert render_images(rows, "table", False, False, NOW) == (
        "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n"
        "busybox      latest    abababababab   2 minutes ago   1.98MB\n"
        "<none>       <none>    cdcdcdcdcdcd   3 days ago      512B\n"
    )
    assert render_images(rows, "table", True, False, NOW) == "abababababab\ncdcdcdcdcdcd\n"
    line = json.loads(render_images(rows[:1], "json", False, False, NOW))
    assert line["ID"] == "abababababab" and line["Repository"] == "busybox"
    assert line["CreatedSince"] == "2 minutes ago" and line["Size"] == "1.98MB"
    assert line["CreatedAt"] == "2024-06-01 11:58:00 +0000 UTC"
    assert table([["A", "B"]]) == "A         B\n"


def test_import_ls_tag_rm(tmp_path: Path) -> None:
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(make_tar(d("bin"), f("bin/busybox", b"elf", mode=0o755)))
    result = invoke(tmp_path, "import", "-c", 'CMD ["sh"]', "--change", "LABEL a=b", "-m", "hello",
                    str(tar), "busybox:latest")
    assert result.exit_code == 0, result.output
    image_id = result.output.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    result = invoke(tmp_path, "import", "-", input=tar.read_bytes())
    assert result.exit_code == 0, result.output
    anon_id = result.output.strip()

    result = invoke(tmp_path, "ls")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split()[:3] == ["<none>", "<none>", anon_id[7:19]]
    assert lines[2].split()[:3] == ["busybox", "latest", image_id[7:19]]
    assert invoke(tmp_path, "ls", "-q").output.split() == [anon_id[7:19], image_id[7:19]]
    rows = [json.loads(x) for x in invoke(tmp_path, "ls", "--format", "json").output.splitlines()]
    assert [r["Repository"] for r in rows] == ["<none>", "busybox"]

    [info] = json.loads(invoke(tmp_path, "inspect", "busybox").output)
    assert info["Id"] == image_id and info["Config"]["Labels"] == {"a": "b"}
    assert info["Comment"] == "hello" and info["RepoTags"] == ["busybox:latest"]

    assert invoke(tmp_path, "tag", "busybox", "localhost/mine:1").exit_code == 0
    result = invoke(tmp_path, "rm", "busybox")
    assert result.output == "Untagged: busybox:latest\n"
    result = invoke(tmp_path, "rm", "localhost/mine:1")
    assert result.output.splitlines()[:2] == ["Untagged: localhost/mine:1", f"Deleted: {image_id}"]


def test_errors_propagate(tmp_path: Path) -> None:
    result = invoke(tmp_path, "inspect", "nothere")
    assert isinstance(result.exception, ImageNotFoundError)
    assert str(result.exception) == "No such image: nothere:latest"


def test_state_root_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COMPOSER_ROOT", str(tmp_path))
    result = CliRunner().invoke(image_app, ["import", "-", "x"], input=io.BytesIO(make_tar(f("a"))).read())
    assert result.exit_code == 0, result.output
    assert (tmp_path / "images" / "index.json").exists()
