"""The one error hierarchy of composer.

Every error a user can cause is a ``ComposerError`` carrying a message a person
can act on; the CLI catches the base class once, prints the message on one
line and exits with ``exit_code``. Foreign errors (OSError, yaml, pydantic) are
translated once, at the boundary where they happen, with ``raise X from exc``.

    ComposerError
    ├── ConfigError              the compose file or the options are wrong
    │   ├── InterpolationError   a ${VAR} form is malformed or a required var is unset
    │   ├── UnsupportedError     a key composer does not act on yet
    │   └── DependencyCycleError depends_on forms a cycle (names it: a -> b -> a)
    ├── NotFoundError            a named thing does not exist
    │   ├── ServiceNotFoundError
    │   ├── ImageNotFoundError
    │   └── ContainerNotFoundError
    ├── ImageError               a broken archive, a hostile layer, a bad reference
    ├── RuntimeFailure           the kernel refused (names the syscall and path)
    │   └── ContainerStartError  the container process could not be started
    ├── NetworkError             bridges, veths, addresses, ports
    │   └── PortInUseError       a published port is taken (names it and its holder)
    ├── DependencyFailedError    a dependency did not reach its condition
    ├── LockError                another composer command holds the project
    └── StateError               on-disk state is missing or inconsistent
"""

from __future__ import annotations


class ComposerError(Exception):
    """Base of every error a user can cause; ``str(err)`` is the message."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(ComposerError):
    """The compose file, the environment or the command-line options are wrong."""

    exit_code = 1  # as Docker Compose v2.40 (checked with its binary, for both `config` and `up`)


class InterpolationError(ConfigError):
    """A ``${VAR}`` form is malformed, or a ``${VAR:?err}`` variable is unset."""


class UnsupportedError(ConfigError):
    """The file uses a key composer does not act on yet; the message names it."""


class DependencyCycleError(ConfigError):
    """``depends_on`` (or another ordering relation) forms a cycle."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle detected: " + " -> ".join([*cycle, cycle[0]]))


class NotFoundError(ComposerError):
    """A named thing (service, image, container, network) does not exist."""


class ServiceNotFoundError(NotFoundError):
    """A service named on the command line is not in the project."""


class ImageNotFoundError(NotFoundError):
    """An image reference is not in the local store."""


class ContainerNotFoundError(NotFoundError):
    """No container of that name or id."""


class ImageError(ComposerError):
    """A broken image archive, a hostile layer entry, a malformed reference."""


class RuntimeFailure(ComposerError):
    """A kernel call failed; the message names the syscall and the path."""

    @classmethod
    def from_oserror(cls, syscall: str, target: str, exc: OSError) -> RuntimeFailure:
        reason = exc.strerror or str(exc)
        return cls(f"{syscall} {target}: {reason}")


class ContainerStartError(RuntimeFailure):
    """The container process could not be started (bad command, bad mount, ...)."""


class NetworkError(ComposerError):
    """Creating or wiring a network, an address or a published port failed."""


class PortInUseError(NetworkError):
    """A published port is already bound on the host."""


class DependencyFailedError(ComposerError):
    """A dependency did not reach its ``depends_on`` condition."""


class LockError(ComposerError):
    """Another composer command holds the project's lock."""


class StateError(ComposerError):
    """On-disk state is missing or inconsistent."""
