#!/usr/bin/env bash
# Quick start, command 1: installs the packages, builds, and runs the main job: the explorer on
# the bundled demo, a needle-in-a-haystack retrieval traced with Stream-Attn through our own
# trained retriever (resources/demo-model). Without a display it traces a fresh needle prompt
# with the demo model on the CPU, exports a figure of a retrieval head and says where.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cli=./build/dev/app/sparsetrace
demo=resources/demo/needle-retrieved.sptrace
"$cli" info "$demo"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec ./build/dev/app/explorer/sparsetrace-explorer "$demo"
fi
# Headless: a new 1k-token needle prompt (RULER's noise haystack), traced, scored and exported.
out="$PWD/build/dev/demo"
rm -rf "$out"
"$cli" niah --model resources/demo-model --haystack noise --lengths 1k --depths 45 --k 16 --bq 16 --bk 16 \
  --sinks 16 --window 16 --tokens-to-generate 10 --seed 2026 --keep-traces --out "$out"
./build/dev/app/explorer/sparsetrace-explorer --export "$out/layer1-head3.png" --layer 1 --head 3 \
  "$out/traces/cell-0.sptrace"
echo "demo: no display found; traced a needle prompt to $out/traces/cell-0.sptrace (table: $out/niah.csv)"
echo "demo: wrote the explorer's figure of layer 1, head 3 (a retrieval head) to $out/layer1-head3.png"
