"""The Dockerfile builder against the real kernel: RUN in containers, layers, the cache."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from composer.errors import ImageError
from composer.image.builder import BuildOptions, build
from composer.image.layers import lookup
from composer.image.store import ImageStore
from tests import helpers

pytestmark = pytest.mark.root


def _build(root: Path, ctx: Path, dockerfile: str, lines: list[str] | None = None, **kw: object) -> object:
    (ctx / "Dockerfile").write_text(dockerfile)
    out = lines if lines is not None else []
    opts = BuildOptions(context=ctx, tags=kw.pop("tags", ["t:latest"]), **kw)  # type: ignore[arg-type]
    return build(ImageStore(root), opts, root / "run", out.append)


def _read(root: Path, image: str, path: str) -> str | None:
    img = ImageStore(root).get(image)
    found = lookup(list(img.layers), path.lstrip("/"))
    if found is None:
        return None
    return found[0].read_text()


def _stat(root: Path, image: str, path: str) -> os.stat_result | None:
    img = ImageStore(root).get(image)
    found = lookup(list(img.layers), path.lstrip("/"))
    return found[1] if found else None


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    d = tmp_path / "ctx"
    d.mkdir()
    return d


def test_multistage_build_and_cache(composer_root: Path, ctx: Path) -> None:
    (ctx / "src").mkdir()
    (ctx / "src" / "a.txt").write_text("alpha\n")
    dockerfile = (
        "ARG BASE=busybox\n"
        "FROM ${BASE} AS gen\n"
        "ARG WHO=world\n"
        "WORKDIR /w\n"
        "COPY src/ ./src/\n"
        'RUN echo "hello $WHO" > out.txt && cat src/a.txt >> out.txt\n'
        "FROM busybox\n"
        "COPY --from=gen /w/out.txt /app/\n"
        'CMD ["cat", "/app/out.txt"]\n'
    )
    lines: list[str] = []
    first = _build(composer_root, ctx, dockerfile, lines, args={"WHO": "tests"})
    assert _read(composer_root, "t:latest", "/app/out.txt") == "hello tests\nalpha\n"
    assert not any(line == "CACHED" for line in lines)
    lines.clear()
    started = time.monotonic()
    second = _build(composer_root, ctx, dockerfile, lines, args={"WHO": "tests"})
    assert time.monotonic() - started < 10  # no RUN this time (loose: a busy machine; the count below is the proof)
    assert lines.count("CACHED") == 3  # COPY src, RUN, COPY --from
    assert second.id == first.id  # type: ignore[attr-defined]
    # a changed source file invalidates its COPY and what follows
    (ctx / "src" / "a.txt").write_text("beta\n")
    lines.clear()
    third = _build(composer_root, ctx, dockerfile, lines, args={"WHO": "tests"})
    assert third.id != first.id  # type: ignore[attr-defined]
    assert _read(composer_root, "t:latest", "/app/out.txt") == "hello tests\nbeta\n"
    # --no-cache runs everything again
    lines.clear()
    _build(composer_root, ctx, dockerfile, lines, args={"WHO": "tests"}, no_cache=True)
    assert "CACHED" not in lines


def test_config_instructions(composer_root: Path, ctx: Path) -> None:
    dockerfile = (
        "FROM busybox\n"
        "ENV A=1 B=\"two words\"\n"
        "ENV C=${A}-x\n"
        "LABEL org.example.k=v\n"
        "EXPOSE 8080 53/udp\n"
        "VOLUME /data\n"
        "USER nobody\n"
        "WORKDIR /srv/app\n"
        "STOPSIGNAL SIGINT\n"
        "HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://127.0.0.1/ || exit 1\n"
        "ONBUILD RUN echo triggered\n"
        'ENTRYPOINT ["/bin/sh", "-c"]\n'
        'CMD ["echo hi"]\n'
    )
    image = _build(composer_root, ctx, dockerfile, tags=["cfg:1"])
    config = image.raw_config["config"]  # type: ignore[attr-defined]
    assert "A=1" in config["Env"] and "B=two words" in config["Env"] and "C=1-x" in config["Env"]
    assert config["Labels"] == {"org.example.k": "v"}
    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert config["Volumes"] == {"/data": {}}
    assert config["User"] == "nobody"
    assert config["WorkingDir"] == "/srv/app"
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- http://127.0.0.1/ || exit 1"],
                                     "Interval": 5_000_000_000, "Retries": 2}
    assert config["OnBuild"] == ["RUN echo triggered"]
    assert config["Entrypoint"] == ["/bin/sh", "-c"] and config["Cmd"] == ["echo hi"]
    assert _stat(composer_root, "cfg:1", "/srv/app") is not None  # WORKDIR created it
    # ONBUILD triggers run in the child build; ENTRYPOINT resets an inherited CMD
    lines: list[str] = []
    child = _build(composer_root, ctx, 'FROM cfg:1\nENTRYPOINT ["sh"]\n', lines, tags=["child:1"])
    assert "triggered" in lines
    assert "Cmd" not in child.raw_config["config"]  # type: ignore[attr-defined]
    assert "OnBuild" not in child.raw_config["config"]  # type: ignore[attr-defined]


def test_run_user_shell_whiteouts_and_network(composer_root: Path, ctx: Path) -> None:
    dockerfile = (
        "FROM busybox\n"
        "RUN rm /etc/nsswitch.conf && mkdir -p /o && id -u > /o/root-uid\n"
        "USER nobody\n"
        "RUN id -u > /tmp/uid\n"
        "USER root\n"
        'SHELL ["/bin/sh", "-ec"]\n'
        "RUN ip -o link | wc -l > /o/links-host\n"
        "RUN --network=none ip -o link | wc -l > /o/links-none\n"
    )
    _build(composer_root, ctx, dockerfile)
    assert _read(composer_root, "t:latest", "/o/root-uid") == "0\n"
    assert _read(composer_root, "t:latest", "/tmp/uid") == "65534\n"
    assert _stat(composer_root, "t:latest", "/etc/nsswitch.conf") is None  # whiteout hides it
    assert _read(composer_root, "t:latest", "/o/links-none") == "1\n"  # only lo
    # the host's interfaces (others' tests add and remove veths meanwhile: just "more than lo")
    assert int(_read(composer_root, "t:latest", "/o/links-host") or "0") > 1
    tmp = _stat(composer_root, "t:latest", "/tmp")
    assert tmp is not None and tmp.st_mode & 0o7777 == 0o1777


def test_copy_add_rules(composer_root: Path, ctx: Path) -> None:
    (ctx / "one.txt").write_text("1")
    (ctx / "two.txt").write_text("2")
    (ctx / "skip.log").write_text("no")
    (ctx / "d").mkdir()
    (ctx / "d" / "inner.txt").write_text("in")
    (ctx / ".dockerignore").write_text("*.log\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg/readme")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    (ctx / "pkg.tar.gz").write_bytes(buf.getvalue())
    dockerfile = (
        "FROM busybox\n"
        "COPY *.txt /multi/\n"
        "COPY --chown=nobody:nogroup --chmod=600 one.txt /owned\n"
        "COPY d /dcontents\n"
        "ADD pkg.tar.gz /opt/\n"
        "COPY one.txt /tmp\n"
    )
    _build(composer_root, ctx, dockerfile)
    assert _read(composer_root, "t:latest", "/multi/one.txt") == "1"
    assert _read(composer_root, "t:latest", "/multi/two.txt") == "2"
    owned = _stat(composer_root, "t:latest", "/owned")
    assert owned is not None and (owned.st_uid, owned.st_gid, owned.st_mode & 0o777) == (65534, 65534, 0o600)
    assert _read(composer_root, "t:latest", "/dcontents/inner.txt") == "in"
    assert _read(composer_root, "t:latest", "/opt/pkg/readme") == "hello"
    assert _read(composer_root, "t:latest", "/tmp/one.txt") == "1"  # onto an existing dir: inside it
    tmp = _stat(composer_root, "t:latest", "/tmp")
    assert tmp is not None and tmp.st_mode & 0o7777 == 0o1777  # parent keeps its metadata
    with pytest.raises(ImageError, match=r'"/skip.log": not found'):
        _build(composer_root, ctx, "FROM busybox\nCOPY skip.log /\n")
    with pytest.raises(ImageError, match="must be a directory and end with a /"):
        _build(composer_root, ctx, "FROM busybox\nCOPY one.txt two.txt /nodir\n")


def test_scratch_target_and_errors(composer_root: Path, ctx: Path) -> None:
    (ctx / "f").write_text("x")
    dockerfile = "FROM scratch AS s\nCOPY f /f\nFROM busybox AS other\nRUN exit 3\n"
    image = _build(composer_root, ctx, dockerfile, target="s", tags=["scr:1"])
    assert len(image.layers) == 1  # type: ignore[attr-defined]
    with pytest.raises(ImageError) as info:
        _build(composer_root, ctx, dockerfile, target="other")
    assert str(info.value) == ('Dockerfile:4: RUN: process "/bin/sh -c exit 3" did not complete successfully:'
                               " exit code: 3")
    with pytest.raises(ImageError, match="target stage 'nope' could not be found"):
        _build(composer_root, ctx, dockerfile, target="nope")
    assert helpers.mounts_under(composer_root) == []
    assert not any((composer_root / "builder" / "tmp").iterdir())


def test_compose_up_build_sample(composer_root: Path, run: object, project_name: str, tmp_path: Path) -> None:
    """samples/build: ``up --build`` builds both services, then serves the rendered site."""
    import shutil

    sample = tmp_path / "sample"
    shutil.copytree(helpers.REPO / "samples" / "build", sample)
    port = str(_free_port())
    env = {"BUILD_SAMPLE_PORT": port}
    args = ("-p", project_name, "-f", str(sample / "compose.yaml"))
    try:
        run(*args, "up", "--build", "-d", env=env)  # type: ignore[operator]

        def page() -> str:  # up -d returns once the server is started, not once it listens
            return subprocess.run(["timeout", "5", "busybox", "wget", "-qO-", f"http://127.0.0.1:{port}/"],
                                  capture_output=True, text=True, check=False).stdout

        served = helpers.wait_for(page, timeout=30, interval=0.2, what="the site's page")
        assert "<h1>Built by composer</h1>" in served and "about.html" in served
        helpers.wait_for(lambda: "flavour=inline" in run(*args, "logs", "tool", env=env).stdout,  # type: ignore[operator]
                         timeout=30, interval=0.2, what="tool's log")
        logs = run(*args, "logs", "tool", env=env).stdout  # type: ignore[operator]
        assert "flavour=inline" in logs and "facts.txt copied from the context" in logs
        images = run(*args, "images", env=env).stdout  # type: ignore[operator]
        assert "buildsample/site" in images
        busy = run("image", "rm", "buildsample/site:latest", check=False)  # type: ignore[operator]
        assert busy.returncode != 0 and "a container is using its referenced image" in busy.stderr
        started = time.monotonic()
        out = run(*args, "build", env=env)  # type: ignore[operator]
        assert out.stderr.count("CACHED") >= 5
        assert time.monotonic() - started < 30  # all cached (loose: a busy machine; the count above is the proof)
    finally:
        run(*args, "down", check=False, env=env)  # type: ignore[operator]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_build_leaves_no_state_on_interrupted_context(composer_root: Path, ctx: Path) -> None:
    with pytest.raises(ImageError, match="failed to read dockerfile"):
        build(ImageStore(composer_root), BuildOptions(context=ctx), composer_root / "run")
    assert json.loads((composer_root / "images" / "index.json").read_text())["manifests"]
