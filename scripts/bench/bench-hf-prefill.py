#!/usr/bin/env python3
# Hugging Face transformers' side of tests/benchmarks/bench_model_prefill: a model built from
# config.json alone with random weights, bf16, sdpa attention, forward with logits_to_keep=1 and
# use_cache=False; median and min wall time and peak allocated GPU memory per sequence length.
#   python3 scripts/bench/bench-hf-prefill.py --model DIR [--lengths 8192,32768,131072] [--repeats 3]
# SPDX-License-Identifier: GPL-3.0-or-later
import argparse
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--lengths", default="8192,32768,131072")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    config = transformers.AutoConfig.from_pretrained(args.model)
    torch.manual_seed(1234)
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    model.eval()
    print("transformers %s, torch %s: %s random weights, bf16, sdpa, logits_to_keep=1, use_cache=False"
          % (transformers.__version__, torch.__version__, config.architectures[0]))
    print("%-10s %-12s %-12s %-14s" % ("T", "time_s", "min_s", "peak_GiB"))
    with torch.no_grad():
        ids = torch.randint(0, config.vocab_size, (1, 1024), device="cuda")
        model(input_ids=ids, use_cache=False, logits_to_keep=1)
        torch.cuda.synchronize()
        for t in [int(x) for x in args.lengths.split(",")]:
            ids = torch.randint(0, config.vocab_size, (1, t), device="cuda")
            times, peak = [], 0
            for _ in range(args.repeats):
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                model(input_ids=ids, use_cache=False, logits_to_keep=1)
                torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
                peak = max(peak, torch.cuda.max_memory_allocated())
            times.sort()
            print("%-10d %-12.4f %-12.4f %-14.3f" % (t, times[len(times) // 2], times[0], peak / 2**30), flush=True)


if __name__ == "__main__":
    main()
