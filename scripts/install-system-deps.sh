#!/usr/bin/env bash
# Installs the Debian packages composer needs, only when they are missing:
#   busybox-static  the static /bin/busybox the base test image is made from
#   crun            the second OCI runtime backend (tests run on every backend present)
#   iproute2        ip(8), used by tests to inspect links (composer itself uses netlink)
set -euo pipefail
need=()
[[ -x /bin/busybox ]] && /bin/busybox --help 2>&1 | grep -q BusyBox || need+=(busybox-static)
command -v crun >/dev/null || need+=(crun)
command -v ip >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
    echo "installing: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}" >/dev/null \
        || { apt-get -o DPkg::Lock::Timeout=600 update >/dev/null &&
             apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi
