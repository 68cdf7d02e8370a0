#!/usr/bin/env bash
# Screenshots of the explorer's dialogs (New Trace, Needle Sweep, Export Figure) filled in for
# the bundled demo model, and of the map of the bundled fidelity trace with captured mass and
# the oracle-only outlines on. Offscreen (no display needed). Writes docs/images/guide-*.png.
# Usage: scripts/docs/screenshot-dialogs.sh [BUILD_DIR]   (default build/dev; builds doc_screenshots)
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/dev}"
cmake --build "$build" --target doc_screenshots
QT_QPA_PLATFORM=offscreen "$build/tests/tools/doc_screenshots" docs/images "$PWD"
