#!/usr/bin/env bash
# Screenshots of the explorer's analysis views on real traces, under a virtual X server
# (Xvfb): thought anchors on a chain of thought of the Thought Anchors data traced by the model,
# a needle sweep (retrieval over length x depth per K) with kept traces, and the route of one of
# its cells compared with the same prompt at a smaller K. Writes docs/images/view-*.png.
# Needs xvfb-run, ImageMagick's `import`, python3 and ../shared (the model and the chains).
# Usage: scripts/docs/screenshot-views.sh [BUILD_DIR] [MODEL_DIR]
#   BUILD_DIR holds app/sparsetrace and app/explorer/sparsetrace-explorer (default build/dev);
#   MODEL_DIR defaults to resources/demo-model (a retriever that finds needles) and falls back to
#   ../shared's stories260K. SPARSETRACE_CLI / SPARSETRACE_EXPLORER override the programs.
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build/dev}"
shared="${SPARSETRACE_SHARED:-../shared}"
model="${2:-resources/demo-model}"
[ -f "$model/config.json" ] || model="$shared/assets/models/stories260K"
cli="${SPARSETRACE_CLI:-$build/app/sparsetrace}"
exe="${SPARSETRACE_EXPLORER:-$build/app/explorer/sparsetrace-explorer}"
for tool in xvfb-run import python3; do
  command -v $tool >/dev/null || { echo "screenshot-views: $tool is not installed" >&2; exit 1; }
done
[ -x "$cli" ] || { echo "screenshot-views: $cli not built" >&2; exit 1; }
[ -x "$exe" ] || { echo "screenshot-views: $exe not built" >&2; exit 1; }
[ -f "$model/config.json" ] || { echo "screenshot-views: no model ($model)" >&2; exit 1; }
archive="$shared/assets/traces/thought-anchors-r1-distill-qwen-14b.tar.zst"
[ -f "$archive" ] || { echo "screenshot-views: $archive is missing" >&2; exit 1; }
mkdir -p docs/images
work="$(mktemp -d)"
config="$(mktemp -d)"
trap 'rm -rf "$work" "$config"' EXIT

# 1. A real chain of thought (its <think> part), cut to what the model's context holds.
tar --zstd -xf "$archive" -C "$work"
context=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_position_embeddings"])' "$model/config.json")
python3 - "$work" "$context" <<'PY'
import json, sys
work, context = sys.argv[1], int(sys.argv[2])
base = json.load(open(f"{work}/deepseek-r1-distill-qwen-14b/correct_base_solution/problem_2189/base_solution.json"))
text = base["full_cot"]
start = text.index("<think>")
# About two characters per token for small vocabularies; end on a sentence.
cot = text[start:start + min(len(text) - start, context * 2 - 200)]
cot = cot[:cot.rfind(". ") + 1]
open(f"{work}/cot.txt", "w").write(cot)
PY
"$cli" trace --model "$model" --prompt-file "$work/cot.txt" --bq 8 --bk 8 --k 4 --sinks 8 --window 16 \
  --check-tokens 0 -o "$work/cot.sptrace"

# 2. A small needle sweep with its traces (SWEEP_DIR: an existing sweep folder with kept traces).
sweep="${SWEEP_DIR:-$work/sweep}"
[ -n "${SWEEP_DIR:-}" ] || "$cli" niah --model "$model" --lengths "${SWEEP_LENGTHS:-512,1024,2048}" --depths 0:100:25 --k 2,8 \
  --bq 16 --bk 16 --sinks 16 --window 32 --tokens-to-generate 8 --keep-traces --out "$sweep"
# The route of the first K = 8 cell that retrieved (else the last cell), against the same prompt at K = 2.
read -r success failure < <(python3 - "$sweep/niah.json" <<'PY'
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
def key(c): return (c["length"], c["depth"])
by = {(key(c), c["k"]): c for c in cells}
pick = next((c for c in cells if c["k"] == 8 and c["retrieved"]), cells[-1])
other = by.get((key(pick), 2), pick)
print(pick["trace"], other["trace"])
PY
)

shot() { # NAME ARGS...: one screenshot of the explorer window
  local name=$1; shift
  XDG_CONFIG_HOME="$config" xvfb-run -a -s "-screen 0 1600x1000x24" bash -c '
    "$0" -qwindowgeometry 1600x1000+0+0 "${@:2}" &
    pid=$!
    sleep "${SHOT_DELAY:-6}"
    import -window root "$1"
    kill $pid
    wait $pid 2>/dev/null || true
  ' "$(realpath "$exe")" "docs/images/view-$name.png" "$@"
  echo "wrote docs/images/view-$name.png"
}
shot anchors --view anchors "$work/cot.sptrace"
shot sweep --view sweep --sweep "$sweep" "$sweep/$success"
shot routes --view routes --tau "${ROUTE_TAU:-0.05}" --route-compare "$sweep/$failure" "$sweep/$success"
