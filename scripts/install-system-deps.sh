#!/usr/bin/env bash
# Installs the Debian packages composer and its tests need, only when they are missing:
#   busybox-static   the static /bin/busybox the base test image is made from
#   crun, runc       the other OCI runtime backends (tests run on every backend present)
#   iproute2         ip(8), used by tests to inspect links (composer itself speaks netlink)
#   nftables         nft(8): kernel NAT for published ports
#   docker-registry  a registry server on 127.0.0.1 for the push/pull tests
#   skopeo           an independent tool that reads and writes image archives, for tests
#   zstd             zstd-compressed image layers (when the zstandard module is absent)
#   libseccomp2      compiles the seccomp filter (Docker's default profile) of the built-in runtime
#   tini             /usr/bin/tini-static: pid 1 of `init: true` containers (Docker's docker-init)
set -euo pipefail
need=()
# (no `cmd | grep -q` under pipefail: grep's early exit would make cmd die of SIGPIPE)
[[ -x /bin/busybox ]] && [[ "$(/bin/busybox --help 2>&1)" == *BusyBox* ]] || need+=(busybox-static)
command -v crun >/dev/null || need+=(crun)
command -v runc >/dev/null || need+=(runc)
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
[[ -x /usr/bin/docker-registry ]] || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v zstd >/dev/null || need+=(zstd)
[[ "$(ldconfig -p 2>/dev/null)" == *libseccomp.so.2* ]] || need+=(libseccomp2)
[[ -x /usr/bin/tini-static ]] || need+=(tini)
if ((${#need[@]})); then
    echo "installing: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}" >/dev/null \
        || { apt-get -o DPkg::Lock::Timeout=600 update >/dev/null &&
             apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi
