"""Image timestamps are written as Go writes them, so Go tools re-encode configs byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from composer.image.model import format_created, parse_created


@pytest.mark.parametrize(("micro", "text"), [
    (952790, "2026-11-28T09:09:22.95279Z"),  # Go's RFC3339Nano trims trailing zeros (skopeo re-encodes so)
    (100000, "2026-11-28T09:09:22.1Z"),
    (0, "2026-11-28T09:09:22Z"),
    (1, "2026-11-28T09:09:22.000001Z"),
    (123456, "2026-11-28T09:09:22.123456Z"),
])
def test_created_is_go_rfc3339nano(micro: int, text: str) -> None:
    when = datetime(2026, 11, 28, 9, 9, 22, micro, tzinfo=UTC)
    assert format_created(when) == text
    assert parse_created(text) == when


def test_created_is_utc() -> None:
    when = datetime(2026, 11, 28, 10, 9, 22, 500000, tzinfo=timezone(timedelta(hours=1)))
    assert format_created(when) == "2026-11-28T09:09:22.5Z"
