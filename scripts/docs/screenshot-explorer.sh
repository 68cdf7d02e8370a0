#!/usr/bin/env bash
# Takes a screenshot of sparsetrace-explorer on a trace under a virtual X server (Xvfb), for
# looking at the window as users see it. Needs xvfb-run and ImageMagick's `import`.
# Usage: scripts/docs/screenshot-explorer.sh TRACE OUT.png [BUILD_DIR] [extra explorer args...]
#   e.g. scripts/docs/screenshot-explorer.sh tests/fixtures/traces/sample-small.sptrace /tmp/shot.png build-gui
#   SHOT_SCREEN=WxH sets the virtual screen (default 1680x1050; the window opens as on a fresh
#   install, sized to the screen); SHOT_DELAY the seconds before the shot (default 4).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 TRACE OUT.png [BUILD_DIR] [explorer args...]" >&2; exit 2; }
trace="$(realpath "$1")"
out="$(realpath -m "$2")"
build="${3:-build/dev}"
shift $(( $# >= 3 ? 3 : 2 ))
cd "$(dirname "$0")/../.."
exe="$build/app/explorer/sparsetrace-explorer"
[ -x "$exe" ] || { echo "screenshot-explorer: $exe not built" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "screenshot-explorer: xvfb-run is not installed" >&2; exit 1; }
command -v import >/dev/null || { echo "screenshot-explorer: ImageMagick's import is not installed" >&2; exit 1; }
# A private settings folder, so that the screenshot does not depend on (or change) the user's.
config="$(mktemp -d)"
trap 'rm -rf "$config"' EXIT
XDG_CONFIG_HOME="$config" xvfb-run -a -s "-screen 0 ${SHOT_SCREEN:-1680x1050}x24" bash -c '
  "$0" "$1" "${@:3}" &
  pid=$!
  sleep "${SHOT_DELAY:-4}"
  import -window root "$2"
  kill $pid
  wait $pid 2>/dev/null || true
' "$(realpath "$exe")" "$trace" "$out" "$@"
echo "wrote $out"
