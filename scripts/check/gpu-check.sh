#!/usr/bin/env bash
# On the GPU machine (Ubuntu, CUDA, PyTorch, no Qt, no package access): builds the headless
# preset against PyTorch's CUDA libtorch and runs the GPU tests with REQUIRE_GPU=1.
# Needs .deps/ (scripts/setup/stage-gpu-deps.sh, run on a Debian machine) carried along.
# Usage: scripts/check/gpu-check.sh [--build-only] [extra ctest args]
#   JOBS=N sets the build's parallelism (default: every core); TARGETS="a b" builds only those.
set -euo pipefail
build_only=0
if [ "${1:-}" = "--build-only" ]; then build_only=1; shift; fi
cd "$(dirname "$0")/../.."
[ -d .deps/usr ] || { echo "gpu-check: .deps/ is missing: run scripts/setup/stage-gpu-deps.sh on Debian and carry .deps" >&2; exit 2; }
# stage-deps wrote absolute prefixes of the machine it ran on; point them here.
for pc in .deps/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc; do sed -i "s|^prefix=.*|prefix=$PWD/.deps/usr|" "$pc"; done
# One nlohmann/json only: where the machine has its own (found by find_package), the staged
# copy beside pcre2 and utf8proc in .deps/usr/include would shadow it in some targets and not in
# others, and the two versions' inline ABI namespaces do not link together.
if [ -f /usr/share/cmake/nlohmann_json/nlohmann_jsonConfig.cmake ] && [ -d .deps/usr/include/nlohmann ]; then
  rm -rf .deps/usr/include/nlohmann .deps/usr/share/pkgconfig/nlohmann_json.pc
fi
export PKG_CONFIG_PATH="$PWD/.deps/usr/lib/x86_64-linux-gnu/pkgconfig"
export LD_LIBRARY_PATH="$PWD/.deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export TORCH_CMAKE_PREFIX="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
export CUDACXX="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
start=$(date +%s)
cmake --preset cuda-headless > build-configure.log 2>&1 || { tail -40 build-configure.log; exit 1; }
cmake --build --preset cuda-headless -j "${JOBS:-$(nproc)}" ${TARGETS:+--target $TARGETS} 2>&1 | tail -n 20
echo "gpu-check: built in $(( $(date +%s) - start )) s"
[ $build_only = 1 ] && exit 0
REQUIRE_GPU=1 ctest --preset cuda-headless -L gpu "$@"
