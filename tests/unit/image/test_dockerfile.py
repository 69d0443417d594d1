"""The Dockerfile parser, .dockerignore matching and the other pure parts of the builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ImageError
from composer.image.buildexec import command
from composer.image.buildinstr import parse_duration
from composer.image.context import Ignore, find_sources, resolve_in_root
from composer.image.dockerfile import parse


def test_directives_comments_continuations() -> None:
    df = parse(
        "# syntax=docker/dockerfile:1\n"
        "# escape=`\n"
        "\n"
        "FROM busybox\n"
        "RUN echo a `\n"
        "  # a comment inside the continuation\n"
        "\n"
        "  && echo b\n"
        "# a comment\n"
        "copy --chown=1:2 --from=x a b\n"
    )
    assert df.escape == "`" and df.syntax == "docker/dockerfile:1"
    run, copy = df.stages[0].instructions
    assert (run.keyword, run.args, run.line) == ("RUN", "echo a   && echo b", 5)
    assert (copy.keyword, copy.flags, copy.args) == ("COPY", {"chown": "1:2", "from": "x"}, "a b")


def test_directive_after_comment_is_a_comment() -> None:
    df = parse("# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n")
    assert df.escape == "\\"
    assert df.stages[0].instructions[0].args == "a  b"


def test_stages_and_global_args() -> None:
    df = parse("ARG V=1\nFROM busybox:${V} AS Build\nRUN x\nFROM scratch\nCOPY --from=build /a /a\n")
    assert [a.args for a in df.global_args] == ["V=1"]
    assert [(s.index, s.name, s.base) for s in df.stages] == [(0, "build", "busybox:${V}"), (1, None, "scratch")]
    assert df.stage("BUILD").index == 0 and df.stage(None).index == 1
    with pytest.raises(ImageError, match="target stage 'nope' could not be found"):
        df.stage("nope")


def test_heredocs() -> None:
    df = parse("FROM busybox\nRUN <<EOF\necho 1\necho 2\nEOF\nCOPY <<-'A' /a\n\tline\n\tA\nCMD x\n")
    run, copy, cmd = df.stages[0].instructions
    assert run.heredocs[0].content == "echo 1\necho 2\n" and run.heredocs[0].expand
    assert copy.heredocs[0].content == "line\n" and not copy.heredocs[0].expand and copy.heredocs[0].chomp
    assert cmd.args == "x"
    assert command(run, ["/bin/sh", "-c"]) == ["/bin/sh", "-c", "echo 1\necho 2\n"]


def test_heredoc_as_stdin_of_a_command() -> None:
    df = parse("FROM busybox\nRUN cat > /f <<EOF\nhi\nEOF\n")
    assert command(df.stages[0].instructions[0], ["/bin/sh", "-c"]) == ["/bin/sh", "-c", "cat > /f <<EOF\nhi\nEOF\n"]


@pytest.mark.parametrize(("text", "message"), [
    ("RUN x\n", "Dockerfile:1: no build stage in current context"),
    ("FROM a\nFOO bar\n", "Dockerfile:2: unknown instruction: FOO"),
    ("FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM a\nRUN <<EOF\nno end\n", "Dockerfile:2: heredoc <<EOF is not terminated"),
    ("FROM a\nCOPY --frm=x a b\n", "unknown flag: --frm for COPY"),
    ("# escape=x\nFROM a\n", "invalid escape token"),
    ("", "the Dockerfile has no FROM instruction"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        parse(text)


def test_exec_form() -> None:
    ins = parse('FROM a\nCMD ["a", "b c"]\nCMD [bad\n').stages[0].instructions
    assert ins[0].json_args() == ["a", "b c"]
    assert ins[1].json_args() is None


@pytest.mark.parametrize(("text", "ns"), [("30s", 30_000_000_000), ("1m30s", 90_000_000_000),
                                          ("500ms", 500_000_000), ("0", 0), ("1h", 3_600_000_000_000)])
def test_durations(text: str, ns: int) -> None:
    assert parse_duration(text, "interval") == ns


def test_bad_duration() -> None:
    with pytest.raises(ImageError, match="invalid value '5x' for --interval"):
        parse_duration("5x", "interval")


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    (["*.log"], "a.log", True),
    (["*.log"], "dir/a.log", False),
    (["**/*.log"], "dir/sub/a.log", True),
    (["**/*.log"], "a.log", True),
    (["node_modules"], "node_modules/x/y.js", True),
    (["/build"], "build/out", True),
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "CHANGES.md", True),
    (["docs", "!docs/keep.txt"], "docs/keep.txt", False),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["# comment", ""], "# comment", False),
])
def test_dockerignore(patterns: list[str], path: str, excluded: bool) -> None:
    assert Ignore(patterns).excluded(path) is excluded


def test_sources_never_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "ctx"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.txt").write_text("x")
    (root / "escape").symlink_to("/etc")
    (tmp_path / "outside").write_text("secret")
    assert resolve_in_root(root, "../../outside") == root / "outside"
    assert resolve_in_root(root, "escape/passwd") == root / "etc" / "passwd"
    with pytest.raises(ImageError, match='"/outside": not found in context'):
        find_sources(root, "../outside", None, "context")
    found = find_sources(root, "d/*.txt", None, "context")
    assert [s.rel for s in found] == ["d/f.txt"]
    with pytest.raises(ImageError, match="no source files were specified"):
        find_sources(root, "*.nothing", None, "context")


@pytest.mark.parametrize(("text", "expected"), [
    ("${A:-x}", ["1"]), ("${B:-x}", ["x"]), ("${E:-x}", ["x"]), ("${E-x}", [""]), ("${B-x}", ["x"]),
    ("${A:+y}", ["y"]), ("${E+y}", ["y"]), ("${E:+y}", [""]), ("'$A' \"$A\" \\$A", ["$A", "1", "$A"]),
])
def test_variable_expansion(text: str, expected: list[str]) -> None:
    from composer.image.changes import split_words

    assert split_words(text, {"A": "1", "E": ""}) == expected


def test_required_variable() -> None:
    from composer.image.changes import split_words

    with pytest.raises(ImageError, match="B: need B"):
        split_words("${B:?need B}", {})
