#!/usr/bin/env bash
# Quick start, command 1: installs the packages, builds, and runs the main job: the explorer on
# the bundled demo, a needle-in-a-haystack retrieval traced with Stream-Attn through our own
# trained retriever (resources/demo-model-16k). Without a display it traces a fresh 4k needle prompt
# with the demo model on the CPU, exports a figure of a retrieval head and says where.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup/build.sh
cli=./build/dev/app/sparsetrace
demo=resources/demo/needle-retrieved.sptrace
"$cli" info "$demo"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec ./build/dev/app/explorer/sparsetrace-explorer "$demo"
fi
# Headless: a new 4k-token needle prompt (RULER's noise haystack), traced with the default bound
# score rule at K = 8 (about 93% of the token interactions pruned), scored and exported.
out="$PWD/build/dev/demo"
rm -rf "$out"
"$cli" niah --model resources/demo-model-16k --haystack noise --lengths 4k --depths 45 --k 8 --bq 16 --bk 16 \
  --sinks 16 --window 16 --tokens-to-generate 10 --seed 2026 --keep-traces --out "$out"
./build/dev/app/explorer/sparsetrace-explorer --export "$out/layer1-head3.png" --layer 1 --head 3 \
  "$out/traces/cell-0.sptrace"
# The one cell of the table: did the sparse run keep the needle?
python3 - "$out/niah.json" "$out/traces/cell-0.sptrace" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["cells"][0]
verdict = "retrieved" if c["retrieved"] else "did NOT retrieve"
dense = "retrieved" if c["dense_retrieved"] else "did not retrieve"
print(f"demo: no display found; traced a fresh {c['prompt_tokens']}-token needle prompt to {sys.argv[2]}")
print(f"demo: the sparse run (sparsity {c['sparsity']:.3f}) {verdict} the needle's value {c['value']} "
      f"(generated {c['generated']!r}; the dense run {dense} it)")
EOF
echo "demo: wrote the explorer's figure of layer 1, head 3 (a retrieval head) to $out/layer1-head3.png"
