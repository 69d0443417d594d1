"""docs/cli.md is generated from the CLI itself and keeps its hand-written differences."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen-cli-docs.py"


def _generate(out: Path) -> str:
    subprocess.run([sys.executable, str(SCRIPT), "-o", str(out)], check=True, timeout=60)
    return out.read_text()


def test_every_command_and_flag_is_documented(tmp_path: Path) -> None:
    text = _generate(tmp_path / "cli.md")
    for command in ("up", "down", "ps", "logs", "exec", "run", "create", "restart", "kill", "pause",
                    "unpause", "top", "port", "wait", "cp", "ls", "events", "stats"):
        assert f"## `composer {command}`" in text, command
    assert "composer exec [OPTIONS] SERVICE COMMAND..." in text
    for flag in ("`--service-ports`", "`--use-aliases`", "`--entrypoint`", "`--index`", "`--no-stream`",
                 "`--follow-link`, `-L`"):
        assert flag in text, flag
    assert "## Deliberate differences from Docker Compose" in text


def test_hand_written_differences_survive_regeneration(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    _generate(out)
    out.write_text(out.read_text().replace("- **`run` never restarts**", "- **A note of ours.**\n- **`run` never restarts**"))
    assert "- **A note of ours.**" in _generate(out)
    check = subprocess.run([sys.executable, str(SCRIPT), "-o", str(out), "--check"], timeout=60, check=False)
    assert check.returncode == 0
