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
# pip's generated console script imports `re` (~10 ms) to strip Windows suffixes from
# argv[0]; a three-line wrapper makes `composer version` cost little more than the
# interpreter (issue #7). Rewritten on every run, so it survives `pip install -e .`.
wrapper="#!$HERE/.venv/bin/python
import sys
from composer.cli.entry import main
sys.exit(main())"
if [[ "$(cat .venv/bin/composer 2>/dev/null)" != "$wrapper" ]]; then
    printf '%s\n' "$wrapper" > .venv/bin/composer.tmp
    chmod 755 .venv/bin/composer.tmp
    mv -f .venv/bin/composer.tmp .venv/bin/composer
fi
# Bytecode for the package, as a regular (non-editable) pip install writes it: without
# it, a shell with PYTHONDONTWRITEBYTECODE=1 recompiles every module on every command.
.venv/bin/python -m compileall -q composer >/dev/null || true
bash scripts/make-busybox-image.sh
