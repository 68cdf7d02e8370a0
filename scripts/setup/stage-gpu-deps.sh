#!/usr/bin/env bash
# On Debian: copies the -dev packages the headless build needs into .deps/ so that they can be
# carried to the GPU machine (which has CUDA, PyTorch and Eigen but no package access).
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${SPARSETRACE_SHARED:-../shared}"
bash "$shared/device/stage-deps" .deps nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev
