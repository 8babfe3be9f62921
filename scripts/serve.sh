#!/usr/bin/env bash
# Installs what is needed, builds the release binary and runs `switchboard serve` with its
# embedded defaults (extra arguments are passed on, e.g. --listen 0.0.0.0:8080 --echo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target switchboard
exec build/release/switchboard serve "$@"
