#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the flagship sample, samples/quickstart:
# brings its three services up detached, fetches the published page from the host,
# and shows `composer ps` and the client's logs. The stack keeps running afterwards.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$HERE"
bash scripts/setup.sh
C=(.venv/bin/composer -f samples/quickstart/compose.yaml)
echo "==> composer up -d"
"${C[@]}" up -d
echo
echo "==> GET http://127.0.0.1:18080/ from the host"
.venv/bin/python - <<'PY'
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:18080/", timeout=5).read().decode().strip())
PY
echo
echo "==> composer ps"
"${C[@]}" ps
echo
echo "==> composer logs client"
for _ in $(seq 1 100); do
    out=$("${C[@]}" logs --no-color client)
    grep -q "api says" <<<"$out" && break
    sleep 0.2
done
echo "$out"
echo
echo "The stack is running. Stop and remove it with:"
echo "    .venv/bin/composer -f samples/quickstart/compose.yaml down -v"
