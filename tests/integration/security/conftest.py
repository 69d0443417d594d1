"""The security suite runs on the runtime's fixtures (every backend present)."""

from tests.integration.runtime.harness import (
    builtin_runtime,
    busybox_applets,
    rootfs_factory,
    runtime,
)

__all__ = ["builtin_runtime", "busybox_applets", "rootfs_factory", "runtime"]
