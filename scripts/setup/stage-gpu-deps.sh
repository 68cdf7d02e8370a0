#!/usr/bin/env bash
# On Debian: copies the -dev packages the headless build needs into .deps/ so that they can be
# carried to the GPU machine (which has CUDA and PyTorch but no package access; Eigen 3.4 is
# staged too, since the image is not known to carry its CMake config).
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${SPARSETRACE_SHARED:-../shared}"
bash "$shared/device/stage-deps" .deps nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev libeigen3-dev
