#!/usr/bin/env python3
# Hugging Face tokenizers side of the tokenizer benchmark: load time, peak memory of the load
# (one child process per tokenizer) and single-thread encode speed over the same text that
# tests/benchmarks/bench_tokenizer measured, then a side-by-side table with its --json output,
# and whether the ids and offsets of the whole text are identical (its --ids-dir).
#   python3 scripts/bench/bench-tokenizer-hf.py --text FILE --cpp-json RESULTS --ids-dir DIR [--repeat N]
# SPDX-License-Identifier: GPL-3.0-or-later
import argparse
import array
import json
import os
import subprocess
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

LOAD_CHILD = r"""
import os, resource, sys, time
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
tok = Tokenizer.from_file(sys.argv[1])
dt = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(dt, (after - before) * 1024)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", required=True)
    ap.add_argument("--cpp-json", required=True)
    ap.add_argument("--ids-dir")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from tokenizers import Tokenizer
    import tokenizers
    with open(args.text, encoding="utf-8", newline="") as f:
        text = f.read()
    nbytes = len(text.encode("utf-8"))
    cpp = json.load(open(args.cpp_json))
    rows = []
    for r in cpp["results"]:
        out = subprocess.run([sys.executable, "-c", LOAD_CHILD, r["path"]], capture_output=True, text=True, check=True)
        load_s, load_peak = out.stdout.split()
        tok = Tokenizer.from_file(r["path"])
        best = 1e30
        enc = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            enc = tok.encode(text)
            best = min(best, time.perf_counter() - t0)
        same = "n/a"
        if args.ids_dir:
            ids = array.array("i")
            offs = array.array("I")
            with open(os.path.join(args.ids_dir, r["name"] + ".ids"), "rb") as f:
                ids.frombytes(f.read())
            with open(os.path.join(args.ids_dir, r["name"] + ".offsets"), "rb") as f:
                offs.frombytes(f.read())
            hf_offs = [x for o in enc.offsets for x in o]
            same_ids = list(ids) == enc.ids
            same_offs = list(offs) == hf_offs
            same = "yes" if same_ids and same_offs else f"ids {'ok' if same_ids else 'DIFFER'}, offsets {'ok' if same_offs else 'DIFFER'}"
        rows.append({"name": r["name"], "tokens_hf": len(enc.ids), "tokens_ours": r["tokens"],
                     "hf_mbps": nbytes / 1e6 / best, "ours_mbps": r["mb_per_s"],
                     "hf_load_s": float(load_s), "ours_load_s": r["load_s"],
                     "hf_load_mib": int(load_peak) / 2**20, "ours_load_mib": r["load_peak_bytes"] / 2**20,
                     "identical": same})
    print(f"\nWar and Peace: {nbytes / 1e6:.2f} MB; Hugging Face tokenizers {tokenizers.__version__}, single thread; "
          f"best of {args.repeat}")
    hdr = ("tokenizer", "tokens", "HF MB/s", "ours MB/s", "speedup", "HF load s", "ours load s", "HF load MiB",
           "ours load MiB", "ids+offsets identical")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        print(f"| {r['name']} | {r['tokens_ours']} | {r['hf_mbps']:.2f} | {r['ours_mbps']:.2f} | "
              f"{r['ours_mbps'] / r['hf_mbps']:.2f}x | {r['hf_load_s']:.3f} | {r['ours_load_s']:.3f} | "
              f"{r['hf_load_mib']:.0f} | {r['ours_load_mib']:.0f} | {r['identical']} |")


if __name__ == "__main__":
    main()
