#!/usr/bin/env python3
# Builds the small random-weight model folders of tests/fixtures/models/ with Hugging Face
# transformers (one per architecture SparseTrace runs) and records their reference outputs:
# fp32 CPU logits of a fixed prompt, a greedy continuation, and transformers' own bf16 CUDA logits
# (the yardstick for our bf16 error bound). Run on the GPU machine:
#   python3 scripts/data/make-model-fixtures.py OUTDIR
# SPDX-License-Identifier: GPL-3.0-or-later
import inspect
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

PROMPT_TOKENS = 64
NEW_TOKENS = 16


def randomise(model, seed, norm_center):
    """Replaces the default tiny initialisation (std 0.02 gives nearly uniform attention) by
    weights large enough that attention is peaked and logits spread, so the tests can fail."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name or name.endswith("_norm.weight"):
                p.copy_(norm_center + 0.3 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 if norm_center == 1.0 else 0.15))
            else:
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=g) * (1.6 / fan_in ** 0.5))


def greedy(model, ids, steps):
    out = []
    cur = ids.clone()
    with torch.no_grad():
        for _ in range(steps):
            logits = model(input_ids=cur).logits[0, -1]
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            cur = torch.cat([cur, torch.tensor([[nxt]])], dim=1)
    return out


def build(name, config, seed, norm_center, outdir):
    torch.manual_seed(seed)
    cls = {"llama": transformers.LlamaForCausalLM, "qwen2": transformers.Qwen2ForCausalLM,
           "gemma3_text": transformers.Gemma3ForCausalLM}[config.model_type]
    model = cls(config).to(torch.float32).eval()
    randomise(model, seed, norm_center)
    folder = os.path.join(outdir, name)
    model.save_pretrained(folder)

    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(3, config.vocab_size, (1, PROMPT_TOKENS), generator=g)
    with torch.no_grad():
        ref = model(input_ids=ids).logits[0].float().contiguous()          # [T, V] fp32 CPU eager
        ref64 = model.to(torch.float64)(input_ids=ids).logits[0].float()   # fp64 pass, for the record
        model.to(torch.float32)
    cont = greedy(model, ids, NEW_TOKENS)
    tensors = {
        "input_ids": ids[0].to(torch.int64).contiguous(),
        "logits": ref,
        "greedy_ids": torch.tensor(cont, dtype=torch.int64),
    }
    meta = {"transformers": transformers.__version__, "torch": torch.__version__,
            "fp32_vs_fp64_max_abs": "%.3e" % float((ref - ref64).abs().max())}
    if torch.cuda.is_available():
        mb = cls.from_pretrained(folder, dtype=torch.bfloat16, attn_implementation="sdpa").to("cuda").eval()
        with torch.no_grad():
            lb = mb(input_ids=ids.to("cuda")).logits[0].float().cpu().contiguous()
        tensors["logits_bf16_hf"] = lb
        meta["bf16_hf_max_abs_err"] = "%.4e" % float((lb - ref).abs().max())
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata=meta)
    print(name, meta, "greedy", cont)
    with open(os.path.join(folder, "config.json")) as f:
        print(f.read())


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/models"
    os.makedirs(outdir, exist_ok=True)
    print("transformers", transformers.__version__, "torch", torch.__version__)

    def make(cls, common, rope_new, rope_old, extra_new=None, extra_old=None):
        # transformers 5 keeps RoPE settings in rope_parameters (and layer kinds in layer_types);
        # older releases take rope_theta / rope_scaling / rope_local_base_freq / the pattern.
        params = inspect.signature(cls.__init__).parameters
        new = "rope_parameters" in params
        for style in ([True, False] if new else [False, True]):
            kw = dict(common)
            kw.update(rope_new if style else rope_old)
            if extra_new is not None:
                kw.update(extra_new if style else extra_old)
            try:
                return cls(**kw)
            except Exception as e:  # the other style is tried next
                print("config style", "new" if style else "old", "refused:", e)
        raise RuntimeError("cannot build " + cls.__name__)

    llama = make(transformers.LlamaConfig, dict(
        vocab_size=384, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
        num_attention_heads=8, num_key_value_heads=2, head_dim=8, max_position_embeddings=256,
        rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2),
        dict(rope_parameters={"rope_type": "llama3", "rope_theta": 50000.0, "factor": 8.0,
                              "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 32}),
        dict(rope_theta=50000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                               "original_max_position_embeddings": 32}))
    build("tiny-llama", llama, 11, 1.0, outdir)

    qwen = make(transformers.Qwen2Config, dict(
        vocab_size=320, hidden_size=64, intermediate_size=176, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
        use_sliding_window=False),
        dict(rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
        dict(rope_theta=10000.0))
    build("tiny-qwen2", qwen, 22, 1.0, outdir)

    kinds = ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"]
    gemma = make(transformers.Gemma3TextConfig, dict(
        vocab_size=448, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=24,
        max_position_embeddings=256, rms_norm_eps=1e-6, sliding_window=16,
        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True, bos_token_id=2,
        eos_token_id=1, pad_token_id=0, final_logit_softcapping=None, attn_logit_softcapping=None),
        dict(rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                              "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}}),
        dict(rope_theta=1000000.0, rope_local_base_freq=10000.0),
        dict(layer_types=kinds), dict(sliding_window_pattern=3))
    print("gemma layer kinds:", getattr(gemma, "layer_types", None))
    build("tiny-gemma3", gemma, 33, 0.0, outdir)


if __name__ == "__main__":
    main()
