"""Progress rendering: plain lines, JSON events, an in-place block on a terminal."""

from __future__ import annotations

import io
import json

from composer.cli.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_when_not_a_terminal() -> None:
    out = io.StringIO()
    p = Progress("auto", "auto", out)
    p("Container", "p-web-1", "Started")
    p("Warning", "", "something odd")
    assert out.getvalue() == " Container p-web-1  Started\nWARN[0000] something odd\n"


def test_json_events() -> None:
    out = io.StringIO()
    Progress("json", "auto", out)("Network", "p_default", "Created")
    event = json.loads(out.getvalue())
    assert event["id"] == "Network p_default" and event["status"] == "Created"


def test_tty_redraws_one_line_per_resource() -> None:
    out = Tty()
    p = Progress("auto", "auto", out)
    p("Container", "p-web-1", "Starting")
    p("Container", "p-web-1", "Started")
    text = out.getvalue()
    assert "[+] Running 0/1" in text and "[+] Running 1/1" in text
    assert "\x1b[2F\x1b[J" in text  # the block is redrawn in place
    assert text.rstrip().endswith("s")  # elapsed time column


def test_ansi_never_falls_back_to_plain_and_quiet_prints_nothing() -> None:
    out = Tty()
    Progress("tty", "never", out)("Container", "x", "Started")
    assert out.getvalue() == " Container x  Started\n"
    quiet = io.StringIO()
    Progress("quiet", "auto", quiet)("Container", "x", "Started")
    assert quiet.getvalue() == ""
