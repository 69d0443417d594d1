#!/usr/bin/env bash
# Runs the whole test suite: lint, types, then unit, integration and e2e tests.
# Integration and e2e tests need root (real namespaces, mounts, bridges); they are
# skipped with a visible reason otherwise. pytest's "no tests ran" (exit 5) fails.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$HERE"
bash scripts/setup.sh
.venv/bin/ruff check composer tests
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
