#!/usr/bin/env bash
# Quick start, command 2: installs the packages, builds, and runs the whole test suite.
# Usage: scripts/test.sh [--werror]    (CI passes --werror)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup/build.sh "$@"
preset="${PRESET:-dev}"
ctest --preset "$preset" -j "$(nproc)"
