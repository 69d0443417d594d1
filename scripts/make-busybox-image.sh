#!/usr/bin/env bash
# make-busybox-image.sh -- build the busybox:latest base image without any
# registry and import it into composer's image store.
#
# rootfs = /bin/busybox from Debian's busybox-static + applet symlinks
#          (busybox --install -s, run in a chroot so the links point at
#          /bin/busybox inside the rootfs) + minimal /etc files.
# The image deliberately sets no PATH: the engine gives the default PATH, as
# Docker does for images without one.
#
# Idempotent: the tarball is reproducible (fixed mtime, owner and order, umask
# 022), and the import is skipped when busybox:latest already carries the
# label composer.busybox.sha=<sha of the tarball>.
#
# Environment: COMPOSER (default <repo>/.venv/bin/composer), COMPOSER_ROOT
# (the state root, passed through to composer), BUSYBOX_TAR (also keep the
# tarball at this path).
set -euo pipefail
umask 022
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSER=${COMPOSER:-$HERE/.venv/bin/composer}
REF=busybox:latest

# (no `cmd | grep -q` under pipefail: grep's early exit can kill cmd with SIGPIPE)
if [[ ! -x /bin/busybox ]] || [[ "$(/bin/busybox --help 2>&1)" != *BusyBox* ]]; then
    apt-get -o DPkg::Lock::Timeout=600 install -y busybox-static
fi
if command -v file >/dev/null && [[ "$(file -L /bin/busybox)" != *"statically linked"* ]]; then
    echo "/bin/busybox is not statically linked (install busybox-static)" >&2
    exit 1
fi

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/composer-busybox.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
ROOTFS=$BUILD/rootfs
TAR=$BUILD/busybox.tar

mkdir -p "$ROOTFS"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/www,var/log,data,run}
chmod 1777 "$ROOTFS/tmp"
chmod 0700 "$ROOTFS/root"
install -m 0755 /bin/busybox "$ROOTFS/bin/busybox"
chroot "$ROOTFS" /bin/busybox --install -s
cat > "$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo 'hosts: files dns' > "$ROOTFS/etc/nsswitch.conf"
echo 'hello from the composer busybox image' > "$ROOTFS/var/www/index.html"
: > "$ROOTFS/etc/hosts"
: > "$ROOTFS/etc/resolv.conf"
: > "$ROOTFS/etc/hostname"

tar --sort=name --mtime='2024-01-01 00:00:00 UTC' --owner=0 --group=0 --numeric-owner \
    --format=gnu -C "$ROOTFS" -cf "$TAR" .
SHA=$(sha256sum "$TAR" | cut -c1-16)
if [[ -n ${BUSYBOX_TAR:-} ]]; then
    cp "$TAR" "$BUSYBOX_TAR"
fi

if [[ "$("$COMPOSER" image inspect "$REF" 2>/dev/null || true)" == *"\"composer.busybox.sha\": \"$SHA\""* ]]; then
    echo "$REF is up to date (composer.busybox.sha=$SHA)"
    exit 0
fi
"$COMPOSER" image import -c 'CMD ["sh"]' -c "LABEL composer.busybox.sha=$SHA" - "$REF" < "$TAR" >/dev/null
echo "$REF imported (composer.busybox.sha=$SHA, $(find "$ROOTFS" -type l | wc -l) applet links)"
