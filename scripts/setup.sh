#!/usr/bin/env bash
# Sets up everything composer needs on a fresh Debian machine (root, Python >= 3.11):
# system packages, a virtualenv in .venv with composer and its dev tools, and the
# busybox:latest base image in the composer root. Idempotent and quiet when done.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$HERE"
bash scripts/install-system-deps.sh
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.composer-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --config-settings editable_mode=compat -e '.[dev]'
    touch "$stamp"
fi
bash scripts/make-busybox-image.sh
