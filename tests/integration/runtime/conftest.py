"""The runtime's fixtures live in ``harness`` so that the security suite shares them."""

from tests.integration.runtime.harness import (
    builtin_runtime,
    busybox_applets,
    rootfs_factory,
    runtime,
)

__all__ = ["builtin_runtime", "busybox_applets", "rootfs_factory", "runtime"]
