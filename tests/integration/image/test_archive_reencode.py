"""An image id survives skopeo's re-encoding of its config, whatever the clock said at import.

skopeo converts a ``docker-archive:`` manifest to OCI by re-encoding the
config in Go, whose RFC 3339 times have no trailing zeros: a config written
with ``.950000`` came back as ``.95`` and the loaded image had another id
(the flaky ``test_skopeo_archives_load_and_run``). The clock is pinned here
to such a time, so the case is no longer left to chance.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import pytest

from composer.image import archive
from composer.image import store as store_module
from composer.image.store import ImageStore
from tests import helpers

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed"),
]


class _Clock(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _Clock:
        return cls(2026, 11, 28, 9, 9, 22, 950000, tzinfo=UTC)


def _skopeo(*args: str) -> None:
    done = subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_id_survives_a_go_reencoding(tmp_path: Path, busybox_tarball: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "datetime", _Clock)
    roots = [tmp_path / "root", tmp_path / "fresh"]
    try:
        store = ImageStore(roots[0])
        image = store.import_rootfs(busybox_tarball, "example/clock:zero", ['CMD ["sh"]'])
        assert '"created":"2026-11-28T09:09:22.95Z"' in store.layout.blob_path(image.id).read_text()
        with open(tmp_path / "saved.tar", "wb") as out:
            archive.save(store, ["example/clock:zero"], out)
        _skopeo(f"docker-archive:{tmp_path / 'saved.tar'}", f"oci:{tmp_path / 'layout'}:x")  # re-encodes
        _skopeo(f"oci:{tmp_path / 'layout'}:x", f"docker-archive:{tmp_path / 'back.tar'}:example/clock:back")
        fresh = ImageStore(roots[1])
        assert archive.load(fresh, tmp_path / "back.tar") == ["Loaded image: example/clock:back"]
        assert fresh.get("example/clock:back").id == image.id
    finally:
        for root in roots:
            helpers.cleanup_root(root)
