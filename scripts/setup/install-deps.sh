#!/usr/bin/env bash
# Installs the Debian 12 packages SparseTrace needs to build, test and run (idempotent).
# Runs apt-get as root (through sudo when started as another user).
# Usage: scripts/setup/install-deps.sh
set -euo pipefail
# libopenblas0-pthread: libtorch's CPU matrix products go through libblas.so.3, which Debian
# points at the reference BLAS unless OpenBLAS is installed (a 4k-token dense prefill of the demo
# model: 22 s with the reference BLAS, 6 s with OpenBLAS, on a 2-core machine).
packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-pthread libeigen3-dev nlohmann-json3-dev libcli11-dev libpcre2-dev libutf8proc-dev
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libgl-dev
  ccache zstd xvfb xauth imagemagick poppler-utils fonts-dejavu-core
  clang libclang-rt-14-dev desktop-file-utils appstream-util
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
