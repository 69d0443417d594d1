"""Image references, parsed and normalised exactly as Docker does.

A reference names an image: ``[domain[:port]/]path[:tag][@digest]``. Docker's
rules (``github.com/distribution/reference``, ``ParseNormalizedNamed``):

- the first path element is a *domain* only if it is ``localhost``, contains a
  ``.`` or a ``:``, or has an uppercase letter; otherwise the domain is
  ``docker.io`` (``index.docker.io`` is an old spelling of it);
- a one-element name on ``docker.io`` lives under ``library/``;
- a name without tag nor digest gets the tag ``latest``.

``familiar()`` is the short form users type and ``docker image ls`` shows
(``busybox:latest``); ``canonical()`` is the full form stored in the image
index (``docker.io/library/busybox:latest``).
"""

from __future__ import annotations

import re

from composer.errors import ImageError
from composer.values import valueclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# The grammar of distribution/reference/regexp.go, transcribed.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?"  # compiled on first use (re caches it): 3-9 ms
_ANCHORED_ID = r"[a-f0-9]{64}"
_SHA256 = r"sha256:[a-f0-9]{64}"

_INVALID = "invalid reference format"


@valueclass(order=True)
class Reference:
    """A normalised reference: ``domain``, ``path``, then ``tag`` and/or ``digest``."""

    domain: str
    path: str
    tag: str | None = DEFAULT_TAG
    digest: str | None = None

    @property
    def name(self) -> str:
        """The full repository name: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The repository as users write it: ``busybox``, ``localhost/localbusybox``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        rest = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
        if rest != self.path and "/" not in rest:
            return rest
        return self.path

    def familiar(self) -> str:
        return self.familiar_name + self._suffix()

    def canonical(self) -> str:
        return self.name + self._suffix()

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.familiar()


def _split_domain(name: str) -> tuple[str, str]:
    """``splitDockerDomain``: (domain, remainder) with the docker.io defaults."""
    first, sep, rest = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if first == "localhost" or any(c in first for c in ".:") or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_reference(text: str) -> Reference:
    """Parse and normalise ``text``; raise ImageError with Docker's message if invalid."""
    if re.fullmatch(_ANCHORED_ID, text):
        raise ImageError(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    domain, remainder = _split_domain(text)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise ImageError(f"{_INVALID}: repository name ({remote}) must be lowercase")
    match = re.fullmatch(_REFERENCE, f"{domain}/{remainder}", re.ASCII)
    if match is None:
        if re.fullmatch(_REFERENCE, f"{domain}/{remainder}".lower(), re.ASCII):
            raise ImageError(f"{_INVALID}: repository name must be lowercase")
        raise ImageError(_INVALID)
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise ImageError(
            f"{_INVALID}: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    if digest is not None and digest.startswith("sha256:") and not re.fullmatch(_SHA256, digest):
        raise ImageError(f"{_INVALID}: invalid checksum digest length")
    domain, _, path = name.partition("/")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def is_image_id(text: str) -> bool:
    """True for a full image id ``sha256:<64 hex>``."""
    return re.fullmatch(_SHA256, text) is not None
