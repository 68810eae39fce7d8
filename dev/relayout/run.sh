#!/usr/bin/env bash
# Issue 15, first commit: lay medmassage/ out by layer. Run ONCE at the repo root, with nothing
# else in flight, then run the suite, delete dev/relayout/ and commit the moves alone.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RUFF="${RUFF:-ruff}"
python3 "$HERE/relayout.py" .
$RUFF check --fix --select I,F401,F811 -q . || true
python3 "$HERE/relayout_post.py" .
$RUFF check --fix --select I,F401,F811 -q . || true
cp "$HERE/test_layers.py" tests/test_layers.py
$RUFF format -q .
$RUFF check . --output-format concise
