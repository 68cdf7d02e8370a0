#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for SECONDS.
# A crash is copied into tests/fuzz/regressions/<target>/ (commit it: it becomes a test).
# Usage: scripts/check/fuzz.sh SECONDS [TARGET...]   (targets: trace_file safetensors ...; default all)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: scripts/check/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n 's/^set(_fuzz_targets \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt))
fi
build=build/fuzz
# UBSan findings are crashes too (the build lets them recover; halting makes libFuzzer keep the input).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPARSETRACE_FUZZ=ON \
    -DSPARSETRACE_GUI=OFF -DSPARSETRACE_CUDA=OFF -DSPARSETRACE_BENCHMARKS=OFF > "$build-configure.log" 2>&1 \
    || { cat "$build-configure.log"; exit 1; }
fi
cmake --build "$build" --target $(printf 'fuzz_%s ' "${targets[@]}")
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"; crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  seeds=$(sed -n "s|^set(_seeds_$t \(.*\))$|\1|p" tests/fuzz/CMakeLists.txt \
          | sed "s|\${PROJECT_SOURCE_DIR}|$PWD|g; s|\${CMAKE_CURRENT_SOURCE_DIR}|$PWD/tests/fuzz|g")
  # Committed crash inputs replay first; an empty folder is not in git, so pass it only when present.
  regressions=""
  [ -d "tests/fuzz/regressions/$t" ] && regressions="tests/fuzz/regressions/$t"
  t0=$(date +%s)
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=0 \
       -artifact_prefix="$crashes/" "$corpus" $seeds $regressions > "$build/fuzz-$t.log" 2>&1; then
    echo "fuzz: $t ran $(( $(date +%s) - t0 )) s without a crash ($(ls "$corpus" | wc -l) corpus inputs)"
  else
    status=1
    mkdir -p "tests/fuzz/regressions/$t"
    cp "$crashes"/* "tests/fuzz/regressions/$t/" 2>/dev/null || true
    echo "fuzz: $t FOUND A CRASH after $(( $(date +%s) - t0 )) s; input copied to tests/fuzz/regressions/$t/"
    grep -m 5 -E 'ERROR|SUMMARY|runtime error' "$build/fuzz-$t.log" || tail -20 "$build/fuzz-$t.log"
  fi
done
exit $status
