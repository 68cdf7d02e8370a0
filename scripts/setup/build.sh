#!/usr/bin/env bash
# Configures and builds SparseTrace (preset `dev` unless PRESET is set) after installing the
# Debian packages it needs. Usage: scripts/setup/build.sh [--werror] [--no-deps]
set -euo pipefail
cd "$(dirname "$0")/../.."
werror=OFF
deps=1
for a in "$@"; do
  case "$a" in
    --werror) werror=ON ;;
    --no-deps) deps=0 ;;
    *) echo "build.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
[ $deps -eq 1 ] && scripts/setup/install-deps.sh
preset="${PRESET:-dev}"
cmake --preset "$preset" -DSPARSETRACE_WERROR=$werror > "build-$preset-configure.log" 2>&1 \
  || { cat "build-$preset-configure.log"; exit 1; }
cmake --build --preset "$preset" -j "$(nproc)"
