#!/usr/bin/env bash
# Measures the demo retriever with our own CLI (not the training script): `sparsetrace niah` on
# fresh prompts (keys from the evaluation word lists, which training never used; values drawn
# from seeds), War and Peace as the haystack, every cell traced with Stream-Attn and checked
# against the dense model (the dense greedy answer is scored too). Writes OUT/niah.json, OUT/niah.csv
# and prints accuracy by length and by depth decile, dense and sparse.
# Usage: [MODEL=DIR] [SCORE=RULE] resources/demo-model/evaluate.sh OUT [LENGTHS] [DEPTHS] [BQ K] [BUILD_DIR]
#   defaults: OUT 1k,2k,4k 0:99:1 (100 prompts per length) 16 16 build/dev; MODEL resources/demo-model
#   (the 16k model: MODEL=resources/demo-model-16k, lengths up to 16k); SCORE bound (or centre);
#   DEVICE cpu (or cuda, with --dtype f32 so the numbers match the CPU's)
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: evaluate.sh OUT [LENGTHS] [DEPTHS] [BQ K] [BUILD_DIR]}
lengths=${2:-1k,2k,4k}
depths=${3:-0:99:1}
bq=${4:-16}
k=${5:-16}
build=${6:-build/dev}
shared="${SPARSETRACE_SHARED:-../shared}"
model="${MODEL:-resources/demo-model}"
score="${SCORE:-bound}"
device="${DEVICE:-cpu}"
book="$shared/assets/text/war-and-peace.txt.zst"
[ -f "$book" ] || { echo "evaluate: $book is missing" >&2; exit 1; }
mkdir -p "$out"
[ -f "$out/war-and-peace.txt" ] || zstd -dcq "$book" > "$out/war-and-peace.txt"
"$build/app/sparsetrace" niah --model "$model" --haystack "$out/war-and-peace.txt" \
  --lengths "$lengths" --depths "$depths" --k "$k" --score "$score" --bq "$bq" --bk "$bq" --sinks "$bq" --window "$bq" \
  --tokens-to-generate 10 --seed 7001 --device "$device" --dtype f32 --out "$out"
python3 - "$out/niah.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
cells = t["cells"]
p = t["spec"]["extra"]["params"]
print(f"Stream-Attn bq = bk = {p['bq']}, K = {cells[0]['k'] if cells else '?'}, sinks {p['sinks']}, window {p['window']}, score rule {p.get('score', '?')}")
print("| length | prompts | dense retrieved | sparse retrieved | mean sparsity |")
print("|---|---|---|---|---|")
for L in sorted({c["length"] for c in cells}):
    cs = [c for c in cells if c["length"] == L]
    d = sum(1 for c in cs if c["dense_retrieved"]); s = sum(1 for c in cs if c["retrieved"])
    print(f"| {L} | {len(cs)} | {100 * d / len(cs):.0f}% | {100 * s / len(cs):.0f}% | {sum(c['sparsity'] for c in cs) / len(cs):.3f} |")
print()
print("| depth | " + " | ".join(f"{L} dense / sparse" for L in sorted({c['length'] for c in cells})) + " |")
print("|---|" + "---|" * len({c['length'] for c in cells}))
for lo in range(0, 100, 10):
    row = []
    for L in sorted({c["length"] for c in cells}):
        cs = [c for c in cells if c["length"] == L and lo <= c["depth"] < lo + 10]
        if not cs:
            row.append("-"); continue
        d = sum(1 for c in cs if c["dense_retrieved"]); s = sum(1 for c in cs if c["retrieved"])
        row.append(f"{d}/{len(cs)} / {s}/{len(cs)}")
    print(f"| {lo}-{lo + 9}% | " + " | ".join(row) + " |")
EOF
