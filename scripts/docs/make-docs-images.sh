#!/usr/bin/env bash
# Remakes the user guide's figures and screenshots (docs/images/guide-*.png) by running the
# guide's own walk-through: stories260K (in ../shared) traces its story with our CLI, then the
# explorer is photographed under Xvfb (scripts/docs/screenshot-explorer.sh) and exports figures; and
# the first minute with the bundled needle traces at 1680x1050 and 1280x800.
# Usage: scripts/docs/make-docs-images.sh [BUILD_DIR]   (default build/dev; needs xvfb-run, ImageMagick)
set -euo pipefail
cd "$(dirname "$0")/../.."
build="$(realpath "${1:-build/dev}")"
model="${SPARSETRACE_SHARED:-../shared}/assets/models/stories260K"
[ -f "$model/config.json" ] || { echo "make-docs-images: $model is missing (the shared assets)" >&2; exit 1; }
cli="$build/app/sparsetrace"
explorer="$build/app/explorer/sparsetrace-explorer"
for exe in "$cli" "$explorer"; do [ -x "$exe" ] || { echo "make-docs-images: $exe is not built" >&2; exit 1; }; done
out=docs/images
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The walk-through of docs/user-guide.md: the model's own story, traced at K = 4 and K = 2.
story="$("$cli" generate --model "$model" --prompt "Once upon a time" --max-new-tokens 300 --no-stop 2>/dev/null | tail -n +2)"
printf 'Once upon a time%s\n' "${story%%<s>*}" > "$work/story.txt"
common=(--model "$model" --prompt-file "$work/story.txt" --bq 8 --bk 8 --sinks 8 --window 16)
"$cli" trace "${common[@]}" --k 4 --fidelity -o "$work/story.sptrace"
"$cli" trace "${common[@]}" --k 2 -o "$work/story-k2.sptrace"
"$cli" info "$work/story.sptrace"

# Screenshots scaled to 1200 pixels wide (small files, still legible in a browser).
shot() {
  local name=$1; shift
  SHOT_DELAY="${SHOT_DELAY:-5}" scripts/docs/screenshot-explorer.sh "$work/story.sptrace" "$work/$name" "$build" "$@"
  convert "$work/$name" -resize 1200x "$out/$name"
}
shot guide-explorer.png
shot guide-compare.png --compare "$work/story-k2.sptrace"

# The first minute with the bundled needle traces, at two screen sizes (a fresh window is sized
# to the screen): the retrieval opens on its route; the failure, compared, shows the lost edges.
first() { # NAME SCREEN TRACE [explorer args...]
  local name=$1 screen=$2 trace=$3; shift 3
  SHOT_SCREEN=$screen SHOT_DELAY="${SHOT_DELAY:-6}" scripts/docs/screenshot-explorer.sh "$trace" "$work/$name" "$build" "$@"
  convert "$work/$name" -resize 1200x +dither -colors 256 "$out/$name"
}
first guide-first-minute-1680x1050.png 1680x1050 resources/demo/needle-retrieved.sptrace
first guide-first-minute-1280x800.png 1280x800 resources/demo/needle-retrieved.sptrace
first guide-needle-lost-1680x1050.png 1680x1050 resources/demo/needle-failed.sptrace --route-compare resources/demo/needle-retrieved.sptrace

# Figures exported headless, as in the guide.
fig=(--width 1200 --height 900 --dpi 150)
QT_QPA_PLATFORM=offscreen "$explorer" --export "$out/guide-export-layer3-head5.png" --layer 3 --head 5 "${fig[@]}" "$work/story.sptrace"
QT_QPA_PLATFORM=offscreen "$explorer" --export "$out/guide-difference-layer3-head5.png" --layer 3 --head 5 "${fig[@]}" \
  --compare "$work/story-k2.sptrace" "$work/story.sptrace"
ls -l "$out"/guide-*.png
