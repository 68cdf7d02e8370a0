#!/usr/bin/env bash
# Issue 19's kernel run in one go, on the GPU machine, with bench_stream_attn binaries built on
# the Debian machine and carried (no libtorch, cudart linked statically, so nothing is built
# there): correctness against the CPU reference on fresh random inputs with poisoned outputs,
# compute-sanitizer memcheck and racecheck on a small case, timings per length, then
# scripts/bench/bench-flash-baseline.py on the same card (FlashAttention through torch's SDPA,
# and FlexAttention given the block mask our benchmark wrote), which prints one table: per
# length our time, flash time, FlexAttention time and the kept fraction.
#
# On Debian:  cmake --build build/dev --target bench_stream_attn   (nvcc found: sm_90a and others)
#             mkdir -p .bench && strip -o .bench/bench_stream_attn build/dev/tests/benchmarks/bench_stream_attn
#             (.bench/ is git-ignored: name it in the device call's carry)
# On the GPU: scripts/bench/stream-attn-gpu.sh .bench/bench_stream_attn OUT_DIR
#
# Environment: BASELINE=another bench_stream_attn (e.g. main's, before a kernel change) timed
# beside on the same card; BQ, BK (default 32, the tracer's); CHECK (default 4096,32768); TIME
# (default 8192,32768,131072,524288,1048576); FLASH (lengths for the flash baseline, default
# TIME's up to 524288); LIMIT (seconds for the whole run, default 580: later steps are skipped,
# not cut, when the time is gone).
# SPDX-License-Identifier: GPL-3.0-or-later
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
bench=${1:?usage: scripts/bench/stream-attn-gpu.sh BENCH_BINARY OUT_DIR}
out=${2:?usage: scripts/bench/stream-attn-gpu.sh BENCH_BINARY OUT_DIR}
[ -x "$bench" ] || { echo "stream-attn-gpu: $bench is not an executable" >&2; exit 2; }
[ -z "${BASELINE:-}" ] || [ -x "$BASELINE" ] || { echo "stream-attn-gpu: BASELINE=$BASELINE is not an executable" >&2; exit 2; }
command -v nvidia-smi > /dev/null || { echo "stream-attn-gpu: no nvidia-smi: run this on the GPU machine" >&2; exit 2; }
bq=${BQ:-32}; bk=${BK:-32}
checks=${CHECK:-4096,32768}
lengths=${TIME:-8192,32768,131072,524288,1048576}
flash=${FLASH:-$(tr ',' '\n' <<< "$lengths" | awk '$1 <= 524288' | paste -sd, -)}
limit=${LIMIT:-580}
mkdir -p "$out/masks"
t0=$(date +%s)
left() { echo $(( limit - ($(date +%s) - t0) )); }
failed=0
# step NAME SECONDS COMMAND...: runs while time is left, its output in OUT/NAME.log.
step() {
  local name=$1 seconds=$2; shift 2
  local l=$(( $(left) - 5 ))
  if [ "$l" -lt 10 ]; then echo "[skipped] $name: the run's time is gone"; return; fi
  [ "$seconds" -gt "$l" ] && seconds=$l
  echo "[$(( $(date +%s) - t0 )) s] $name"
  timeout "$seconds" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  echo "rc=$rc" >> "$out/$name.log"
  if [ $rc -ne 0 ]; then failed=1; echo "  $name: exit $rc (last lines below)"; tail -5 "$out/$name.log" | sed 's/^/  /'; fi
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/card.txt"
small=(--heads 4 --kv-heads 2 --bq "$bq" --bk "$bk" --check 1024 --time "")
step check 240 "$bench" --bq "$bq" --bk "$bk" --check "$checks" --time ""
step memcheck 90 compute-sanitizer --tool memcheck --error-exitcode 1 "$bench" "${small[@]}"
step racecheck 120 compute-sanitizer --tool racecheck --error-exitcode 1 "$bench" "${small[@]}"
step time 240 "$bench" --bq "$bq" --bk "$bk" --check "" --time "$lengths" --repeat 3 --simt-mass-max 0 --mask-dir "$out/masks"
if [ -n "${BASELINE:-}" ]; then
  step time-baseline 240 "$BASELINE" --bq "$bq" --bk "$bk" --check "" --time "$lengths" --repeat 3 --simt-mass-max 0
fi
PYTHONUNBUFFERED=1 step flash 240 python3 scripts/bench/bench-flash-baseline.py --lengths "$flash" --repeat 3 \
  --mask-dir "$out/masks" --ours "$out/time.log"
echo "== checks"; grep -iE "pass|fail|differ|identical|mismatch" "$out/check.log" | head -20
for s in memcheck racecheck; do echo "== $s"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|hazard" "$out/$s.log" | tail -2; done
echo "== ours (bq = $bq, bk = $bk)"; grep -vE "^rc=" "$out/time.log" | tail -14
[ -n "${BASELINE:-}" ] && { echo "== baseline $BASELINE"; grep -vE "^rc=" "$out/time-baseline.log" | tail -14; }
echo "== ours beside flash and FlexAttention"; grep -vE "^rc=" "$out/flash.log" 2>/dev/null | tail -12
rm -rf "$out/masks" # up to hundreds of MB at 1M; the logs stay
exit $failed
