#!/usr/bin/env bash
# Issue #3's benchmark in one run, on the GPU machine: Hugging Face transformers' dense prefill
# (scripts/bench/bench-hf-prefill.py) and ours (tests/benchmarks/bench_model_prefill) on the same
# full-size shapes with random weights, one table after the other, on the same GPU.
#   scripts/bench/bench-prefill.sh MODEL_DIR [LENGTHS] [extra bench_model_prefill args...]
# Needs the cuda-headless build (scripts/check/gpu-check.sh builds it).
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:?usage: scripts/bench/bench-prefill.sh MODEL_DIR [LENGTHS] [bench_model_prefill args...]}
lengths=${2:-8192,32768,131072}
shift $(( $# >= 2 ? 2 : 1 ))
bench=build/cuda-headless/tests/benchmarks/bench_model_prefill
[ -x "$bench" ] || { echo "bench-prefill: $bench is missing; build the cuda-headless preset first" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "== Hugging Face transformers (baseline)"
PYTHONUNBUFFERED=1 python3 scripts/bench/bench-hf-prefill.py --model "$model" --lengths "$lengths"
echo "== SparseTrace"
"$bench" --model "$model" --lengths "$lengths" "$@"
