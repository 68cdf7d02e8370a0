#!/usr/bin/env bash
# Builds the Debian package with CPack, installs it on this machine (apt-get pulls its runtime
# dependencies), runs both programs from the installed paths on the installed demo trace, then
# purges it and checks that none of its files remain and that the machine's package set is as it
# was. CI runs it; a developer can too (as root or through sudo; it refuses to overwrite an
# installed sparsetrace or files it would own).
# Usage: scripts/check/package-check.sh [BUILD_DIR]   (default build/dev, configured and built if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
build="$(realpath -m "${1:-build/dev}")"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
say() { echo "package-check: $*"; }
fail() { echo "package-check: FAILED: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null && command -v apt-get >/dev/null || fail "needs dpkg and apt-get (Debian)"
if dpkg-query -W -f='${Status}' sparsetrace 2>/dev/null | grep -q "ok installed"; then
  fail "the package sparsetrace is already installed here; remove it first (dpkg -r sparsetrace)"
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  say "configuring $build (Release)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$build.configure.log" 2>&1 \
    || { cat "$build.configure.log"; fail "configure"; }
fi
# Everything the install rules name (programs, icons, man pages); up to date already in CI.
cmake --build "$build" -j "$(nproc)" --target sparsetrace sparsetrace-explorer sparsetrace_icons sparsetrace_man

scratch="$(mktemp -d)"
chmod 755 "$scratch" # apt's sandbox user reads the .deb from here
installed=0
installed_packages() { dpkg-query -W -f='${Package} ${Status}\n' | awk '$4 == "installed" { print $1 }' | sort; }
before_pkgs="$scratch/packages-before"
installed_packages > "$before_pkgs"
cleanup() {
  local rc=$?
  if [ $installed -eq 1 ]; then
    say "removing the package after a failure"
    $SUDO dpkg --purge sparsetrace >/dev/null || true
    restore_packages || true
  fi
  rm -rf "$scratch"
  exit $rc
}
trap cleanup EXIT
# Purges the packages that the install pulled in, so the machine keeps the package set it had.
restore_packages() {
  local added
  added="$(installed_packages | comm -13 "$before_pkgs" -)"
  if [ -n "$added" ]; then
    say "purging the dependencies the install added: $(echo "$added" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y -qq $added > /dev/null
  fi
}

# 1. The package.
say "building the package from $build"
(cd "$scratch" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/cpack" > cpack.log 2>&1) \
  || { cat "$scratch/cpack.log"; fail "cpack"; }
deb="$(ls "$scratch"/cpack/sparsetrace_*.deb)"
version="$(dpkg-deb -f "$deb" Version)"
depends="$(dpkg-deb -f "$deb" Depends)"
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1)); Depends: $depends"
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$scratch/contents"
grep -v '/$' "$scratch/contents" > "$scratch/files"
for f in /usr/bin/sparsetrace /usr/bin/sparsetrace-explorer \
         /usr/share/man/man1/sparsetrace.1.gz /usr/share/man/man1/sparsetrace-explorer.1.gz \
         /usr/share/applications/sparsetrace-explorer.desktop /usr/share/mime/packages/sparsetrace.xml \
         /usr/share/metainfo/io.github.sparsetrace.Explorer.metainfo.xml \
         /usr/share/icons/hicolor/scalable/apps/sparsetrace.svg /usr/share/icons/hicolor/48x48/apps/sparsetrace.png \
         /usr/share/sparsetrace/demo/needle-retrieved.sptrace; do
  grep -qx "$f" "$scratch/files" || fail "the package lacks $f"
done
while read -r f; do
  [ ! -e "$f" ] || fail "$f exists already and the package would replace it: remove it first (installed by hand?)"
done < "$scratch/files"
# Directories that the package will create (and its removal must remove again).
grep '/$' "$scratch/contents" | sed 's|/$||' | while read -r d; do [ -e "$d" ] || echo "$d"; done > "$scratch/new-dirs"

# 2. Install, with the runtime dependencies from Debian.
say "installing with apt-get"
installed=1
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$deb" > "$scratch/apt.log" 2>&1 \
  || { cat "$scratch/apt.log"; fail "apt-get install"; }

# 3. The installed programs, away from the source and build trees, with no display and a private
# settings folder.
run_dir="$scratch/run"
mkdir -p "$run_dir/config" "$run_dir/runtime"
chmod 700 "$run_dir/runtime"
cd "$run_dir"
export XDG_CONFIG_HOME="$run_dir/config" XDG_RUNTIME_DIR="$run_dir/runtime"
unset DISPLAY WAYLAND_DISPLAY
demo=/usr/share/sparsetrace/demo/needle-retrieved.sptrace
[ "$(command -v sparsetrace)" = /usr/bin/sparsetrace ] || fail "sparsetrace on PATH is $(command -v sparsetrace), not /usr/bin/sparsetrace"
for exe in /usr/bin/sparsetrace /usr/bin/sparsetrace-explorer; do
  ! ldd "$exe" | grep -q "not found" || { ldd "$exe" | grep "not found"; fail "$exe misses libraries"; }
  ! readelf -d "$exe" | grep -E 'R(UN)?PATH' | grep -q "$root" || fail "$exe has a run path into the source or build tree"
  # Every library the program names comes from a package that the package depends on.
  # (The dynamic loader is libc6's, and ldd names it by path only.)
  for lib in $(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -v '^ld-linux'); do
    path="$(ldd "$exe" | awk -v l="$lib" '$1 == l { print $3 }')"
    # dpkg knows a library by the path its package ships: the resolved one or the link.
    owner="$( (dpkg -S "$(realpath "$path")" || dpkg -S "$path") 2>/dev/null | head -n 1 | cut -d: -f1)"
    [ -n "$owner" ] || fail "$exe needs $lib ($path), which no Debian package provides"
    echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$owner" \
      || fail "$exe needs $lib from $owner, which is not in Depends ($depends)"
  done
done
out="$(sparsetrace --version)"
[ "$out" = "sparsetrace $version" ] || fail "sparsetrace --version printed '$out', expected 'sparsetrace $version'"
say "$out"
sparsetrace info "$demo" > info.txt || fail "sparsetrace info $demo"
grep -q . info.txt || fail "sparsetrace info printed nothing"
say "sparsetrace info $demo: $(head -n 1 info.txt)"
out="$(sparsetrace-explorer --version 2>/dev/null)"
[ "$out" = "sparsetrace-explorer $version" ] || fail "sparsetrace-explorer --version printed '$out'"
sparsetrace-explorer --help 2>/dev/null | grep -q -- "--export" || fail "sparsetrace-explorer --help without a display"
QT_QPA_PLATFORM=offscreen sparsetrace-explorer --export out.png --layer 3 --head 5 "$demo" \
  || fail "sparsetrace-explorer --export out.png --layer 3 --head 5 $demo"
[ -s out.png ] && [ "$(head -c 4 out.png | tail -c 3)" = PNG ] || fail "out.png is missing, empty or not a PNG"
say "exported out.png ($(stat -c %s out.png) bytes) from the installed demo trace"
# The explorer finds the demo itself, from its own install prefix.
QT_QPA_PLATFORM=offscreen sparsetrace-explorer --export demo.png --demo || fail "sparsetrace-explorer --export demo.png --demo"
[ -s demo.png ] || fail "demo.png is empty"
if command -v man >/dev/null; then
  [ "$(man -w sparsetrace)" = /usr/share/man/man1/sparsetrace.1.gz ] || fail "man -w sparsetrace: $(man -w sparsetrace 2>&1)"
  MANWIDTH=80 man sparsetrace-explorer 2>/dev/null | grep -q -- "--export" || fail "man sparsetrace-explorer"
  say "man pages: $(man -w sparsetrace) $(man -w sparsetrace-explorer)"
fi
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate /usr/share/applications/sparsetrace-explorer.desktop || fail "installed desktop entry"
fi
cd "$root"

# 4. Purge, then nothing of the package is left and the package set is the one before.
say "purging the package"
$SUDO dpkg --purge sparsetrace > "$scratch/purge.log" 2>&1 || { cat "$scratch/purge.log"; fail "dpkg --purge"; }
installed=0
restore_packages
left=""
while read -r f; do [ ! -e "$f" ] || left+=" $f"; done < <(cat "$scratch/files" "$scratch/new-dirs")
[ -z "$left" ] || fail "left after purging:$left"
installed_packages | cmp -s - "$before_pkgs" || fail "the package set differs from before the check"
say "OK: installed, ran from /usr/bin, purged; no file left, $(wc -l < "$before_pkgs") packages as before"
