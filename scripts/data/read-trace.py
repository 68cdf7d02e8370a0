#!/usr/bin/env python3
"""Reads a .sptrace with nothing but safetensors + numpy (the docs/trace-format.md example),
and checks a few invariants. Usage: scripts/data/read-trace.py FILE..."""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

for path in sys.argv[1:]:
    t = load_file(path)
    meta = safe_open(path, "np").metadata()
    params, model = json.loads(meta["params"]), json.loads(meta["model"])
    text = bytes(t["text.utf8"]).decode()
    T, G = int(meta["prompt_tokens"]), int(meta["generated_tokens"])
    L, H, KP = model["layers"], model["heads"], params["k_prime"]
    R = -(-T // params["bq"]) + G
    for l in range(L):
        idx, mass = t[f"layers.{l}.index"], t[f"layers.{l}.mass"]
        assert idx.shape == (H, R, KP) and idx.dtype == np.int32, idx.shape
        assert mass.shape == (H, R, KP) and mass.dtype == np.float32
    idx, mass = t["layers.0.index"], t["layers.0.mass"]
    row = [(int(b), round(float(m), 4)) for b, m in zip(idx[0, R // 2], mass[0, R // 2]) if b >= 0]
    print(f"{path}: format {meta['format']} v{meta['format_version']}, {L} layers x {H} heads, "
          f"T={T}+{G}, K'={KP}, {len(t)} tensors, text {len(text)} chars; layer 0 head 0 row {R // 2}: {row}")
