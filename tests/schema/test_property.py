"""Property test: any YAML document loads to a Project or fails with a ComposerError.

Random compose-shaped documents (every spec key, values of every type) and
random mutations of the table's files go through the whole loader. Anything
but a ``Project`` or a one-line ``ComposerError`` is a bug, and so is taking
more than a few seconds (alias bombs included).
"""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer.errors import ComposerError
from composer.schema import ProjectOptions, load_project
from composer.schema.keys import SERVICE, TOP_LEVEL
from composer.schema.model import Project
from tests.schema.cases import CASES, INVALID

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "a", "80:80", "1g", "10s", "${X}", "$$", "${X:?e}", "./p", "/abs", "a=b", "no", "on"]),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from([*sorted(SERVICE), "x-e", "source", "target", "type", "test"]), children, max_size=4),
    ),
    max_leaves=12,
)
SERVICES = st.dictionaries(
    st.sampled_from(["web", "db", "a.b", "x-s"]),
    st.dictionaries(st.sampled_from(sorted(SERVICE)), VALUES, max_size=6),
    min_size=1,
    max_size=3,
)
DOCUMENTS = st.fixed_dictionaries(
    {"services": SERVICES},
    optional={key: st.dictionaries(st.sampled_from(["n", "v", "default"]), VALUES, max_size=2) for key in sorted(TOP_LEVEL - {"services"})},
)


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def fail(signum: int, frame: Any) -> None:
        raise TimeoutError(f"loading took more than {seconds}s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, _deadline(10):
        directory = Path(tmp) / "proj"
        directory.mkdir()
        (directory / "compose.yaml").write_text(text)
        try:
            result = load_project(ProjectOptions(working_dir=directory, environ={"X": "1"}))
        except ComposerError as exc:
            message = str(exc)
            assert message and "\n" not in message, repr(message)
            return
        assert isinstance(result, Project)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(DOCUMENTS)
def test_random_documents(document: dict[str, Any]) -> None:
    _check(yaml.safe_dump(document, allow_unicode=True))


SEEDS = [c.files["compose.yaml"] for c in CASES.values() if "compose.yaml" in c.files]
SEEDS += [files["compose.yaml"] for files in INVALID.values() if "compose.yaml" in files]


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(min_value=0, max_value=4000), st.sampled_from(list(" :-[]{}&*!|>'\"#%@`$\n\t,?x0")), st.booleans()), max_size=6),
)
def test_mutated_files(seed: str, edits: list[tuple[int, str, bool]]) -> None:
    text = seed
    for position, char, insert in edits:
        i = position % (len(text) + 1)
        text = text[:i] + char + text[i + (0 if insert else 1) :]
    _check(text)


def test_alias_bomb_is_refused_fast() -> None:
    lines = ["x-a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"x-{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    _check("\n".join(lines) + "\nservices:\n  web: {image: x, command: *i}\n")
