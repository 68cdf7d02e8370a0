#!/usr/bin/env python3
# Trains SparseTrace's demo retriever: a byte-level BPE tokenizer (Hugging Face tokenizers) and a
# small Qwen2ForCausalLM on War and Peace mixed with needle-in-a-haystack episodes in RULER's
# single-needle wording (spec section 7), then writes a Hugging Face model folder. Fully seeded;
# time-boxed runs that resume from a checkpoint (< 16 MB), so training fits commands of a few
# minutes. The model is plain PyTorch with Hugging Face's Qwen2 parameter names and semantics; the
# exported folder is checked against transformers' Qwen2ForCausalLM when transformers is present.
# Run (GPU machine):  python3 resources/demo-model/train.py --book war-and-peace.txt \
#                       --niah-source core/src/analysis/niah.cpp --out OUT --minutes 7 [--resume OUT/checkpoint.pt]
#                       [--context 16384 --min-length 512 --workers 6] [--init resources/demo-model]
#                     (the defaults, --context 4096 --min-length 256 --workers 3, made resources/demo-model)
# SPDX-License-Identifier: GPL-3.0-or-later
import argparse
import json
import math
import os
import queue
import random
import re
import struct
import sys
import threading
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The model: a few layers, GQA; the context is --context (max_position_embeddings; the model
# cards state the numbers).
CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "vocab_size": 4096,
    "hidden_size": 192,
    "intermediate_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 6,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
    "use_sliding_window": False,
    "sliding_window": None,
    "max_window_layers": 4,
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
    "torch_dtype": "float32",
}
EOS = "<|endoftext|>"
# Qwen2's pre-tokenizer pattern: digits are single pre-tokens, so a 7-digit value is 7 tokens.
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# RULER's single-needle wording, as core/include/sparsetrace/core/niah.h uses it.
HEAD = ("A special magic number is hidden within the following text. Make sure to memorize it. "
        "I will quiz you about the number afterwards.\n")
NEEDLE = "One of the special magic numbers for {key} is: {value}."
TAIL = ("\nWhat is the special magic number for {key} mentioned in the provided text?"
        " The special magic number for {key} mentioned in the provided text is")
NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


# ---------------------------------------------------------------------------------------------
# Text
def flatten(text):
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(flat):
    # As the C++ haystack does: after '.', '?' or '!' followed by a space.
    out, start = [], 0
    for i, ch in enumerate(flat):
        if ch in ".?!" and i + 1 < len(flat) and flat[i + 1] == " ":
            out.append(flat[start:i + 1])
            start = i + 2
    if start < len(flat):
        out.append(flat[start:])
    return out


def evaluation_words(niah_source):
    # The key words our CLI draws evaluation needles from; training keys never use them.
    src = open(niah_source, encoding="utf-8").read()
    words = set()
    for name in ("kAdjectives", "kNouns"):
        m = re.search(name + r"\s*=\s*\{(.*?)\};", src, re.S)
        if not m:
            raise SystemExit(f"{niah_source}: no {name} list")
        words.update(re.findall(r'"([a-z]+)"', m.group(1)))
    if len(words) < 100:
        raise SystemExit(f"{niah_source}: only {len(words)} evaluation words found")
    return sorted(words)


# ---------------------------------------------------------------------------------------------
# Tokenizer
def train_tokenizer(book_text, vocab_size):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    lines = [line for line in book_text.split("\n") if line.strip()]
    tok.train_from_iterator(lines, trainer=trainer)
    return tok


class Codec:
    """encode_batch / eos over either a Hugging Face tokenizer or (smoke runs only) raw bytes."""

    def __init__(self, hf=None):
        self.hf = hf
        self.eos = hf.token_to_id(EOS) if hf else 256
        self.vocab = hf.get_vocab_size() if hf else 257

    def encode_batch(self, texts):
        if self.hf:
            return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]
        return [list(t.encode("utf-8")) for t in texts]

    def decode(self, ids):
        if self.hf:
            return self.hf.decode(ids, skip_special_tokens=True)
        return bytes(i for i in ids if i < 256).decode("utf-8", "replace")


def byte_tokenizer_json():
    # A merge-free byte-level BPE in tokenizer.json form (smoke runs: lets our C++ load the folder).
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {chr(c): b for b, c in zip(bs, cs)}
    vocab[EOS] = 256
    level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": 256, "content": EOS, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True}],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False}, level]},
            "post_processor": level, "decoder": level,
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": vocab, "merges": []}}


# ---------------------------------------------------------------------------------------------
# Model: Hugging Face Qwen2 semantics (q/k/v biases, RMSNorm in fp32, rotate-half RoPE, GQA by
# repeating each KV head over consecutive query heads, tied embeddings).
class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.nh, self.nkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = h // self.nh
        self.q_proj = nn.Linear(h, self.nh * self.hd, bias=True)
        self.k_proj = nn.Linear(h, self.nkv * self.hd, bias=True)
        self.v_proj = nn.Linear(h, self.nkv * self.hd, bias=True)
        self.o_proj = nn.Linear(self.nh * self.hd, h, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.nh, self.hd).transpose(1, 2)   # [B, H, T, D]
        k = self.k_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)  # [B, KV, T, D]
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)  # [B, KV, T, D]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch 1.x (smoke runs on CPU)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            s = s.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            o = torch.softmax(s.float(), dim=-1).to(v.dtype) @ v
        return self.o_proj(o.transpose(1, 2).reshape(b, t, self.nh * self.hd))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Qwen2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Body(c)
        hd = c["hidden_size"] // c["num_attention_heads"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer("inv_freq", inv, persistent=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=c["initializer_range"])
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, ids):  # ids [B, T] int64 -> logits [B, T, V]
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device, dtype=torch.float32)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        x = self.model.embed_tokens(ids)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        x = self.model.norm(x)
        return x @ self.model.embed_tokens.weight.t()


# ---------------------------------------------------------------------------------------------
# Files
def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach()
        integer = not t.is_floating_point()
        t = t.to("cpu", torch.int64 if integer else torch.float32).contiguous()
        data = t.numpy().tobytes() if hasattr(t, "numpy") else bytes(t.untyped_storage())
        header[name] = {"dtype": "I64" if integer else "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def export_folder(model, codec, out, card_results):
    os.makedirs(out, exist_ok=True)
    state = {k: v for k, v in model.state_dict().items() if k.startswith("model.")}
    write_safetensors(os.path.join(out, "model.safetensors"), state)
    cfg = dict(model.c)
    cfg["eos_token_id"] = codec.eos
    cfg["bos_token_id"] = codec.eos
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": EOS, "pad_token": EOS,
                   "bos_token": None, "add_bos_token": False, "model_max_length": cfg["max_position_embeddings"],
                   "clean_up_tokenization_spaces": False}, f, indent=2)
    with open(os.path.join(out, "training_log.json"), "w") as f:
        json.dump(card_results, f, indent=1)


def save_checkpoint(path, model, opt, meta):
    # bf16 weights and moments keep the checkpoint under 16 MB; resuming restores fp32 from them.
    half = lambda d: {k: (v.to(torch.bfloat16) if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in d.items()}
    st = opt.state_dict()
    ckpt = {"model": half(model.state_dict()),
            "opt": {"state": {k: half(v) for k, v in st["state"].items()}, "param_groups": st["param_groups"]},
            "meta": meta}
    torch.save(ckpt, path + ".tmp")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------------------------
# Data
class Episodes:
    def __init__(self, codec, sentences, train_words, eval_words, seed):
        self.codec = codec
        self.sentences = sentences
        self.counts = [len(ids) for ids in codec.encode_batch([" " + s for s in sentences])]
        self.noise = split_sentences(NOISE)
        self.noise_counts = [len(ids) for ids in codec.encode_batch([" " + s for s in self.noise])]
        self.train_words, self.eval_words = train_words, eval_words
        self.rng = random.Random(seed)

    def text(self, rng, length, words):
        key = rng.choice(words) + "-" + rng.choice(words)
        value = str(rng.randrange(1000000, 10000000))
        noise = rng.random() < 0.1
        sents, counts = (self.noise, self.noise_counts) if noise else (self.sentences, self.counts)
        budget = length - 110  # template, needle, question and answer take about 100 tokens
        start = rng.randrange(len(sents)) if rng.random() < 0.8 else 0
        ctx, used, i = [], 0, start
        while used + counts[i % len(sents)] <= budget:
            ctx.append(sents[i % len(sents)])
            used += counts[i % len(sents)]
            i += 1
        depth = rng.uniform(0.0, 100.0)
        at = len(ctx) if depth >= 100 else int(math.floor(len(ctx) * depth / 100.0))
        ctx.insert(at, NEEDLE.format(key=key, value=value))
        prompt = HEAD + " ".join(ctx) + TAIL.format(key=key)
        return prompt, " " + value + ".", value, depth

    def batch(self, length, size, words=None, rng=None):
        rng = rng or self.rng
        items = [self.text(rng, length, words or self.train_words) for _ in range(size)]
        prompts = self.codec.encode_batch([p for p, _, _, _ in items])
        answers = self.codec.encode_batch([a for _, a, _, _ in items])
        return items, prompts, answers


def make_tensors(prompts, answers, eos, length):
    seqs, marks = [], []
    for p, a in zip(prompts, answers):
        s = (p + a + [eos])[-(length + 1):]
        seqs.append(s)
        marks.append(len(s) - len(a) - 1)  # first answer token's index
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), eos, dtype=torch.long)
    labels = torch.full((len(seqs), t), -100, dtype=torch.long)
    answer = torch.full((len(seqs), t), -100, dtype=torch.long)
    for r, (s, m) in enumerate(zip(seqs, marks)):
        ids[r, :len(s)] = torch.tensor(s)
        labels[r, :len(s) - 1] = torch.tensor(s[1:])
        answer[r, m - 1:len(s) - 1] = torch.tensor(s[m:])
    return ids[:, :-1], labels[:, :-1], answer[:, :-1]


@torch.no_grad()
def retrieval_accuracy(model, episodes, lengths, n, device, seed):
    # Greedy decoding on prompts with evaluation-style keys (never trained on); a progress signal
    # only: the accuracy that counts is measured by our own CLI on the exported folder.
    model.eval()
    rng = random.Random(seed)
    out = {}
    for length in lengths:
        items, prompts, _ = episodes.batch(length, n, episodes.eval_words, rng)
        hits = 0
        for (_, _, value, _), p in zip(items, prompts):
            ids = torch.tensor([p], device=device)
            gen = []
            for _ in range(10):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                    nxt = int(model(ids)[0, -1].argmax())
                gen.append(nxt)
                if nxt == episodes.codec.eos:
                    break
                ids = torch.cat([ids, torch.tensor([[nxt]], device=device)], dim=1)
            hits += value in episodes.codec.decode(gen)
        out[length] = hits / n
    model.train()
    return out


def sample_length(rng, min_len, max_len):
    # Log-uniform in [min_len, max_len], rounded to a multiple of 64.
    length = int(round(math.exp(rng.uniform(math.log(min_len), math.log(max_len))) / 64.0)) * 64
    return max(min_len, min(max_len, length))


def curriculum(progress, max_ctx, first_run):
    # Short contexts first (fast signal): at most 1024 tokens in the first 10% of a run from
    # random weights, 2048 until 25%, then up to the full context; otherwise the full range.
    p = progress if first_run else 1.0
    return min(max_ctx, 1024 if p < 0.1 else 2048 if p < 0.25 else max_ctx)


def eval_lengths_for(max_ctx):
    return [n for n in (1024, 2048, 4096, 8192, 16384, 32768) if n <= max_ctx]


def producer(episodes, q, stop, tokens_per_step, schedule, seed, min_len):
    rng = random.Random(seed)
    while not stop.is_set():
        max_len = schedule()
        length = sample_length(rng, min(min_len, max_len), max_len)
        size = max(1, tokens_per_step // length)
        _, prompts, answers = episodes.batch(length, size, rng=rng)
        item = make_tensors(prompts, answers, episodes.codec.eos, length)
        while not stop.is_set():
            try:
                q.put(item, timeout=0.5)
                break
            except queue.Full:
                pass


# ---------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--book", required=True, help="War and Peace as plain text")
    ap.add_argument("--niah-source", required=True, help="core/src/analysis/niah.cpp (its evaluation key words are excluded)")
    ap.add_argument("--out", required=True, help="model folder written (and refreshed every --export-every s)")
    ap.add_argument("--minutes", type=float, default=7.0, help="training time of this run")
    ap.add_argument("--resume", help="checkpoint.pt of an earlier run")
    ap.add_argument("--init", help="model folder whose weights start a fresh run (same shapes), e.g. the 4k demo model")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--tokens-per-step", type=int, default=65536)
    ap.add_argument("--export-every", type=float, default=90.0)
    # The defaults are the shipped 4k model's; the 16k model: --context 16384 --min-length 512.
    ap.add_argument("--context", type=int, default=4096, help="max_position_embeddings: the longest training episode")
    ap.add_argument("--min-length", type=int, default=256, help="the shortest training episode (tokens)")
    ap.add_argument("--workers", type=int, default=3, help="threads that build episodes (each its own seed)")
    ap.add_argument("--reference", help="write reference logits (ours and transformers') here after training")
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run: byte tokenizer if `tokenizers` is missing")
    args = ap.parse_args()

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    t_start = time.time()
    book = open(args.book, encoding="utf-8").read()
    sentences = split_sentences(flatten(book))
    eval_words = evaluation_words(args.niah_source)
    counts = {}
    for w in re.findall(r"\b[a-z]{3,10}\b", book.lower()):
        counts[w] = counts.get(w, 0) + 1
    excluded = set(eval_words)
    train_words = sorted(w for w, c in counts.items() if c >= 3 and w not in excluded)
    log(f"book: {len(book)} chars, {len(sentences)} sentences; key words: {len(train_words)} for training, "
        f"{len(eval_words)} held out for evaluation")

    os.makedirs(args.out, exist_ok=True)
    tok_path = os.path.join(args.out, "tokenizer.json")
    config = dict(CONFIG)
    if args.context < 1024 or args.min_length < 128 or args.min_length > args.context:
        raise SystemExit(f"--context {args.context} / --min-length {args.min_length}: need 128 <= min-length <= context, context >= 1024")
    config["max_position_embeddings"] = args.context
    try:
        from tokenizers import Tokenizer
        if not os.path.exists(tok_path) and args.init:
            # The initial weights' token ids: their folder's tokenizer, never a retrained one.
            import shutil
            shutil.copyfile(os.path.join(args.init, "tokenizer.json"), tok_path)
        if os.path.exists(tok_path):
            hf = Tokenizer.from_file(tok_path)
        else:
            hf = train_tokenizer(book, config["vocab_size"])
            hf.save(tok_path)
        codec = Codec(hf)
        log(f"tokenizer: {codec.vocab} tokens, eos {codec.eos}")
    except ImportError:
        if not args.smoke:
            raise SystemExit("the Hugging Face `tokenizers` package is needed (use --smoke for a byte-level test run)")
        codec = Codec(None)
        with open(tok_path, "w") as f:
            json.dump(byte_tokenizer_json(), f)
        log("tokenizer: raw bytes (smoke run)")
    config["vocab_size"] = codec.vocab
    if args.smoke:
        config.update(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_window_layers=2)

    episodes = Episodes(codec, sentences, train_words, eval_words, args.seed)
    model = Qwen2(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt_kwargs = {"fused": True} if device.type == "cuda" else {}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), **opt_kwargs)
    meta = {"step": 0, "seconds": 0.0, "tokens": 0, "runs": 0, "history": []}
    if args.resume:
        ckpt = torch.load(args.resume, map_location="cpu")
        model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
        st = ckpt["opt"]
        st["state"] = {k: {n: (v.float() if torch.is_tensor(v) and v.is_floating_point() and n != "step" else v)
                           for n, v in s.items()} for k, s in st["state"].items()}
        opt.load_state_dict(st)
        meta = ckpt["meta"]
        log(f"resumed at step {meta['step']} ({meta['seconds']:.0f} s, {meta['tokens'] / 1e6:.1f} M tokens)")
    elif args.init:
        from safetensors.torch import load_file
        state = load_file(os.path.join(args.init, "model.safetensors"))
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        model.to(device)
        meta["init"] = os.path.basename(os.path.normpath(args.init))
        log(f"initialised from {args.init}/model.safetensors ({len(state)} tensors)")
    meta["runs"] += 1
    log(f"model: {params / 1e6:.2f} M parameters on {device}; config {json.dumps({k: config[k] for k in ('hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size')})}")

    budget = args.minutes * 60.0
    tokens_per_step = 4096 if args.smoke else args.tokens_per_step
    max_ctx = 512 if args.smoke else config["max_position_embeddings"]
    min_len = 256 if args.smoke else args.min_length
    # From random weights: the short-first curriculum and 200 warm-up steps. A resumed run, or
    # one started from a trained folder (--init), reads the full range at once, 50 warm-up steps.
    first_run = meta["step"] == 0 and not args.init
    t0 = time.time()

    def progress():
        return min(1.0, (time.time() - t0) / budget)

    def schedule():
        return curriculum(progress(), max_ctx, first_run)

    q, stop = queue.Queue(maxsize=6), threading.Event()
    # Worker w of run r draws from seed + 1 + w + 1000 (r - 1): a resumed run sees fresh episodes.
    run_seed = args.seed + 1 + 1000 * (meta["runs"] - 1)
    workers = [threading.Thread(target=producer, args=(episodes, q, stop, tokens_per_step, schedule, run_seed + w,
                                                       min_len), daemon=True) for w in range(args.workers)]
    for w in workers:
        w.start()
    last_export = time.time()
    eval_lengths = [256, 512] if args.smoke else eval_lengths_for(max_ctx)

    def export(final=False):
        acc = retrieval_accuracy(model, episodes, eval_lengths, 4 if args.smoke else 24, device, args.seed + 999)
        meta["history"].append({"step": meta["step"], "seconds": round(meta["seconds"], 1),
                                "tokens_M": round(meta["tokens"] / 1e6, 1), "loss": round(meta.get("loss", 0.0), 4),
                                "answer_loss": round(meta.get("answer_loss", 0.0), 4), "retrieval": acc})
        log(f"step {meta['step']}: loss {meta.get('loss', 0):.3f} answer {meta.get('answer_loss', 0):.3f} "
            f"retrieval {acc}{' (final)' if final else ''}")
        export_folder(model, codec, args.out, {"config": config, "parameters": params, "seed": args.seed,
                                               "meta": {k: v for k, v in meta.items() if k != 'history'},
                                               "history": meta["history"]})
        save_checkpoint(os.path.join(args.out, "checkpoint.pt"), model, opt, meta)

    model.train()
    ema, run_steps = None, 0
    while time.time() - t0 < budget:
        ids, labels, answer = (x.to(device, non_blocking=True) for x in q.get())
        p = progress()
        run_steps += 1
        warm = min(1.0, run_steps / (200.0 if first_run else 50.0))
        lr = args.lr * warm * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * p)))
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(ids)
        logits = logits.float().view(-1, logits.shape[-1])
        lm = F.cross_entropy(logits, labels.reshape(-1), ignore_index=-100)
        ans = F.cross_entropy(logits, answer.reshape(-1), ignore_index=-100)
        loss = lm + ans
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        meta["step"] += 1
        meta["tokens"] += int((labels != -100).sum())
        ema = (lm.item(), ans.item()) if ema is None else (0.95 * ema[0] + 0.05 * lm.item(), 0.95 * ema[1] + 0.05 * ans.item())
        meta["loss"], meta["answer_loss"] = ema
        if meta["step"] % 100 == 0:
            log(f"step {meta['step']}: len {ids.shape[1]} x {ids.shape[0]}, lr {lr:.2e}, loss {ema[0]:.3f}, "
                f"answer {ema[1]:.3f}, {meta['tokens'] / 1e6:.1f} M tokens")
        if time.time() - last_export > args.export_every:
            meta["seconds"] += time.time() - last_export
            last_export = time.time()
            export()
    meta["seconds"] += time.time() - last_export
    stop.set()
    export(final=True)
    log(f"done in {time.time() - t_start:.0f} s")

    if not args.smoke:
        try:
            check_against_transformers(model, args.out, device, episodes, max_ctx, args.seed, args.reference)
        except Exception as e:  # the folder is written already; report, do not lose the run
            log(f"transformers cross-check failed: {type(e).__name__}: {e}")


def check_against_transformers(model, folder, device, episodes, max_ctx, seed, reference=None):
    # fp32 logits of this script's model and of transformers' Qwen2ForCausalLM on the exported
    # folder: 300 random token ids, and a needle prompt of the full context (evaluation keys; the
    # last 32 positions kept). With --reference transformers' are written for our C++ runtime to compare.
    try:
        from transformers import AutoTokenizer, Qwen2ForCausalLM
    except ImportError:
        log("transformers not installed: folder not cross-checked")
        return
    hf = Qwen2ForCausalLM.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    model = model.float().eval()
    ids = torch.randint(0, model.c["vocab_size"], (1, 300), generator=torch.Generator().manual_seed(1)).to(device)
    items, prompts, _ = episodes.batch(max_ctx, 1, episodes.eval_words, random.Random(seed + 4242))
    long_ids = torch.tensor([prompts[0][-max_ctx:]], device=device)
    with torch.no_grad():
        ours = model(ids)
        theirs = hf(ids).logits
        ours_long = model(long_ids)[:, -32:]
        theirs_long = hf(long_ids).logits[:, -32:]
    log(f"transformers Qwen2ForCausalLM on the exported folder: max |logit diff| {float((ours - theirs).abs().max()):.2e} "
        f"(300 random ids, largest |logit| {float(theirs.abs().max()):.1f}); {float((ours_long - theirs_long).abs().max()):.2e} "
        f"on the last 32 positions of a {long_ids.shape[1]}-token needle prompt (value {items[0][2]}, depth "
        f"{items[0][3]:.1f}%; greedy next token ours {int(ours_long[0, -1].argmax())}, transformers "
        f"{int(theirs_long[0, -1].argmax())})")
    tok = AutoTokenizer.from_pretrained(folder)
    text = "One of the special magic numbers for bright-harbor is: 1234567."
    log(f"transformers tokenizer: {tok(text)['input_ids'][:12]} ...")
    if reference:
        # transformers' rows only (the test fixture; this script's agree to the logged difference),
        # the last 64 of the random ids' and the last 32 of the needle prompt's: 1.5 MB.
        write_safetensors(reference, {"random_ids": ids[0], "random_logits_last64_hf": theirs[0, -64:],
                                      "long_ids": long_ids[0], "long_logits_last32_hf": theirs_long[0]})
        log(f"reference logits -> {reference}")


if __name__ == "__main__":
    sys.exit(main())
