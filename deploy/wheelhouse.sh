#!/usr/bin/env sh
# Build an offline wheelhouse: run on a machine WITH internet (same OS and Python version as the
# server), copy the whole checkout to the intranet server, then there:
#   python3 -m venv .venv && .venv/bin/pip install --no-index --find-links=deploy/wheelhouse .
set -eu
cd "$(dirname "$0")/.."
python3 -m pip wheel --wheel-dir deploy/wheelhouse .
echo "wheelhouse ready: $(ls deploy/wheelhouse | wc -l) wheels in deploy/wheelhouse"
