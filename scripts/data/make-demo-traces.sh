#!/usr/bin/env bash
# Regenerates the bundled demo traces in resources/demo/ with our own CLI and the project's demo
# retriever (resources/demo-model-16k):
#   needle-retrieved.sptrace  a 4k-token needle prompt (War and Peace haystack) traced with the bound
#                             score rule at K = 8 (sparsity above 0.90): retrieved
#   needle-failed.sptrace     the same prompt and K with the centre rule (HiP's): the answer is lost
#   war-and-peace.sptrace     a passage of the book (about 1,000 tokens) with fidelity data
# Usage: scripts/data/make-demo-traces.sh [BUILD_DIR]   (default build/dev; needs ../shared for the book)
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/dev}
cli="$build/app/sparsetrace"
book="${SPARSETRACE_SHARED:-../shared}/assets/text/war-and-peace.txt.zst"
[ -f "$book" ] || { echo "make-demo-traces: $book is missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zstd -dcq "$book" > "$tmp/book.txt"
model=resources/demo-model-16k
blocks=(--bq 16 --bk 16 --sinks 16 --window 16)

# The needle pair: one prompt (seed and depth fixed) and one K, traced with the two score rules
# (a sweep holds one rule, so two sweeps).
for rule in bound centre; do
  "$cli" niah --model "$model" --haystack "$tmp/book.txt" --lengths 4k --depths 45 --k 8 --score "$rule" "${blocks[@]}" \
    --tokens-to-generate 10 --seed 424242 --keep-traces --out "$tmp/niah-$rule"
done
python3 - "$tmp/niah-bound/niah.json" "$tmp/niah-centre/niah.json" <<'EOF'
import json, sys
(good,), (bad,) = (json.load(open(p))["cells"] for p in sys.argv[1:3])
print(f"bound K={good['k']}: {good['generated']!r} retrieved={good['retrieved']} sparsity={good['sparsity']:.3f}; "
      f"centre K={bad['k']}: {bad['generated']!r} retrieved={bad['retrieved']}")
if not good["retrieved"] or bad["retrieved"] or good["sparsity"] < 0.90:
    sys.exit("make-demo-traces: this prompt no longer separates the two rules at sparsity >= 0.90; choose another --depths/--seed")
EOF
cp "$tmp/niah-bound/traces/cell-0.sptrace" resources/demo/needle-retrieved.sptrace
cp "$tmp/niah-centre/traces/cell-0.sptrace" resources/demo/needle-failed.sptrace

# A book passage: the start of Book One, Chapter I, cut at a sentence end near 4,000 characters.
python3 - "$tmp/book.txt" > "$tmp/passage.txt" <<'EOF'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("CHAPTER I")
end = text.index(". ", start + 4000) + 1
sys.stdout.write(text[start:end])
EOF
"$cli" trace --model "$model" --prompt-file "$tmp/passage.txt" --bq 16 --bk 16 --k 8 --sinks 16 --window 16 \
  --check-tokens 2 --fidelity -o resources/demo/war-and-peace.sptrace
for f in needle-retrieved needle-failed war-and-peace; do "$cli" info "resources/demo/$f.sptrace" | head -12; done
