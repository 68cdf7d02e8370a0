#!/usr/bin/env python3
"""The dense and block-sparse baselines of bench_stream_attn, on the same card and shapes.

Per length T: torch's scaled_dot_product_attention with the FlashAttention backend (causal,
bf16, [1, H, T, D], GQA by repeating the KV heads), and FlexAttention with the block mask that
bench_stream_attn wrote (mask-<T>.bin: index [H, R, K'] int32, -1 padded; mask-<T>.json: the
shape), causal inside the blocks. With --ours LOG (bench_stream_attn's output) one table holds
our time beside theirs.

  python3 scripts/bench/bench-flash-baseline.py --lengths 8192,32768,131072 --mask-dir DIR --ours LOG
"""
import argparse
import json
import os
import re
import sys

import torch
import torch.nn.functional as F


def timed(fn, repeat):
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def flash_ms(T, H, Hkv, D, repeat):
    q = torch.randn(1, H, T, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, Hkv, T, D, device="cuda", dtype=torch.bfloat16).repeat_interleave(H // Hkv, dim=1)
    v = torch.randn_like(k)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    def run():
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    return timed(run, repeat)


def flex_ms(T, H, Hkv, D, mask_dir, repeat):
    """FlexAttention over exactly our kept blocks (BLOCK_SIZE = (bq, bk)); None without a mask file."""
    base = os.path.join(mask_dir, f"mask-{T}")
    if not os.path.exists(base + ".json"):
        return None, "no mask file"
    from torch.nn.attention.flex_attention import BlockMask, flex_attention

    meta = json.load(open(base + ".json"))
    H, R, Kp, bq, bk = meta["heads"], meta["rows"], meta["k_prime"], meta["bq"], meta["bk"]
    index = torch.from_file(base + ".bin", size=H * R * Kp, dtype=torch.int32).view(1, H, R, Kp).cuda()
    kv_blocks = (T + bk - 1) // bk
    counts = (index >= 0).sum(-1).to(torch.int32)  # [1, H, R]
    # BlockMask wants the indices of a row first, padded to the number of KV blocks.
    indices = torch.zeros(1, H, R, kv_blocks, dtype=torch.int32, device="cuda")
    indices[..., :Kp] = index.clamp(min=0)

    def causal(b, h, q_idx, kv_idx):
        return q_idx >= kv_idx

    block_mask = BlockMask.from_kv_blocks(counts, indices, BLOCK_SIZE=(bq, bk), mask_mod=causal, seq_lengths=(T, T))
    del indices
    q = torch.randn(1, H, T, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, meta["kv_heads"], T, D, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    compiled = torch.compile(flex_attention, dynamic=False)
    options = {"BLOCK_M": bq, "BLOCK_N": bk}
    try:
        return timed(lambda: compiled(q, k, v, block_mask=block_mask, enable_gqa=True, kernel_options=options),
                     repeat), f"BLOCK_SIZE=({bq},{bk})"
    except Exception as e:  # report, keep the table going
        return None, f"failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"


def our_rows(log):
    """T -> (total ms, kept fraction) from bench_stream_attn's table."""
    rows = {}
    if not log or not os.path.exists(log):
        return rows
    for line in open(log):
        m = re.match(r"\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", line)
        if m:
            rows[int(m.group(1))] = (float(m.group(5)), float(m.group(6)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="8192,32768,131072")
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mask-dir", default="")
    ap.add_argument("--ours", default="")
    ap.add_argument("--flex-max", type=int, default=131072, help="longest T for FlexAttention (its mask is dense in blocks)")
    a = ap.parse_args()
    ours = our_rows(a.ours)
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}, H={a.heads} Hkv={a.kv_heads} D={a.dim}, bf16")
    print("| T | ours ms | flash ms | FlexAttention ms | ours / flash | kept frac | flex note |")
    print("|---|---|---|---|---|---|---|")
    for T in [int(x) for x in a.lengths.split(",") if x]:
        fl = flash_ms(T, a.heads, a.kv_heads, a.dim, a.repeat)
        fx, note = (None, "skipped (T > --flex-max)")
        if a.mask_dir and T <= a.flex_max:
            fx, note = flex_ms(T, a.heads, a.kv_heads, a.dim, a.mask_dir, a.repeat)
        mine, kept = ours.get(T, (None, None))
        cell = lambda x, f="{:.3f}": "-" if x is None else f.format(x)
        ratio = None if mine is None else mine / fl
        print(f"| {T} | {cell(mine)} | {cell(fl)} | {cell(fx)} | {cell(ratio)} | {cell(kept, '{:.5f}')} | {note} |")
        sys.stdout.flush()
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
