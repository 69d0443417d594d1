"""Image references are parsed and normalised as Docker does."""

from __future__ import annotations

import pytest

from composer.errors import ImageError
from composer.image.reference import parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest", "familiar", "canonical"),
    [
        ("busybox", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36", None,
         "busybox:1.36", "docker.io/library/busybox:1.36"),
        ("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", None,
         "busybox:latest", "docker.io/library/busybox:latest"),
        ("me/app", "docker.io", "me/app", "latest", None, "me/app:latest", "docker.io/me/app:latest"),
        ("localhost:5000/a/b:1.0", "localhost:5000", "a/b", "1.0", None,
         "localhost:5000/a/b:1.0", "localhost:5000/a/b:1.0"),
        ("localhost/localbusybox:latest", "localhost", "localbusybox", "latest", None,
         "localhost/localbusybox:latest", "localhost/localbusybox:latest"),
        ("ghcr.io/o/r", "ghcr.io", "o/r", "latest", None, "ghcr.io/o/r:latest", "ghcr.io/o/r:latest"),
        (f"busybox@{DIGEST}", "docker.io", "library/busybox", None, DIGEST,
         f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", "docker.io", "library/busybox", "1", DIGEST,
         f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}"),
        ("[::1]:5000/x:y", "[::1]:5000", "x", "y", None, "[::1]:5000/x:y", "[::1]:5000/x:y"),
        ("a__b/c-d.e", "docker.io", "a__b/c-d.e", "latest", None,
         "a__b/c-d.e:latest", "docker.io/a__b/c-d.e:latest"),
    ],
)
def test_parse(text: str, domain: str, path: str, tag: str | None, digest: str | None,
               familiar: str, canonical: str) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert ref.familiar() == familiar
    assert ref.canonical() == canonical
    assert parse_reference(ref.canonical()) == ref
    assert parse_reference(ref.familiar()) == ref


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("me/App:1", "invalid reference format: repository name (me/App) must be lowercase"),
        ("", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("busy box", "invalid reference format"),
        ("-busybox", "invalid reference format"),
        ("busybox:" + "x" * 129, "invalid reference format"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal strings"),
        ("x/" + "a" * 260, "invalid reference format: repository name must not be more than 255 characters"),
        ("UPPER.io/x/Y", "invalid reference format: repository name (x/Y) must be lowercase"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(ImageError) as info:
        parse_reference(text)
    assert str(info.value) == message


def test_uppercase_domain_is_a_domain() -> None:
    ref = parse_reference("Registry/x")
    assert (ref.domain, ref.path) == ("Registry", "x")
