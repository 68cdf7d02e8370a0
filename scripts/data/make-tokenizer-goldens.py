#!/usr/bin/env python3
# Golden ids/offsets for the C++ tokenizer (tests/core/tst_tokenizer.cpp), made with Hugging Face
# `tokenizers` (0.23.2) and, for chat prompts, transformers' apply_chat_template. Run on the GPU
# machine (where those are installed) against copies of ../shared assets:
#   python3 scripts/data/make-tokenizer-goldens.py --assets .device/tok --out DIR
# Texts cut from ../shared (War and Peace, Paul Graham essays, thought-anchors chains of thought)
# are recorded as references (asset, member, field, code point offset and length, sha256), never
# as text; texts this script makes up are stored inline. Output: one gzip'd JSON per tokenizer.
# SPDX-License-Identifier: GPL-3.0-or-later
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tokenizers import Tokenizer  # noqa: E402

# name -> (folder under --assets, path in ../shared that the C++ test reads, chat family)
TOKENIZERS = {
    "deepseek-r1-distill-qwen-1.5b": ("ds", "models/deepseek-r1-distill-qwen-1.5b", True),
    "qwen2.5": ("qwen", "tokenizers/qwen2.5", True),
    "gemma-3-1b-it": ("gemma", "models/gemma-3-1b-it", True),
    "stories260K": ("stories", "models/stories260K", False),
}

WAR_AND_PEACE = "text/war-and-peace.txt.zst"
ESSAYS = "text/paul-graham-essays.tar.zst"
THOUGHTS = "traces/thought-anchors-r1-distill-qwen-14b.tar.zst"

FRAGMENTS = [
    "Hello, world!", "The quick brown fox jumps over the lazy dog.", "I'm sure you'll see THEY'RE here; it's fine.",
    "Привет, мир! Как дела?", "Καλημέρα κόσμε", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया",
    "你好，世界！今天天气很好。", "日本語のテキストです。カタカナとひらがな。", "안녕하세요 세계", "สวัสดีชาวโลก",
    "Tiếng Việt có dấu: Đường phố Hà Nội", "Zürich, Köln, façade, naïve, coöperate", "ﬁne ligature ＡＢＣ fullwidth",
    "😀 😃 😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 🇯🇵 ❤️", "✓ ✗ → ← ∑ ∫ √ ∞ ≠ ≤ ≥", "°C ± µm § ¶ © ® ™",
    "12345 678 9.81 3.14159265358979 1,000,000 -42 +7 1e-9 0x1F 0b1010", "2024-01-31T12:34:56Z",
    "def f(x):\n    return x ** 2  # square\n", "int main() {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "const xs = [1, 2, 3].map((v) => v * 2);", "SELECT * FROM users WHERE id = 7;",
    "<html><body class=\"a\">x &amp; y</body></html>", "{\"key\": [1, 2, {\"nested\": null}]}",
    "   leading spaces", "trailing spaces   ", "tabs\t\tand\ttabs", "multiple\n\n\nnewlines\n\n",
    "windows\r\nline\r\nendings\r\n", "    \n    \n", " ", "\n", "\t", "a  b   c    d",
    "e\u0301 composed? cafe\u0301", "\u212b angstrom and \u2126 ohm", "\u1100\u1161\u11a8 jamo",
    "x\u0301\u0323y", "\u0958 devanagari", "non-breaking\u00a0space and\u2009thin\u2003em",
    "zero\u200bwidth\u200djoiner", "soft\u00adhyphen", "\ufeffBOM at start", "NUL\u0000byte and \u0007bell",
    "Let me think step by step. First, 2 + 2 = 4. Wait, that's not right... Actually it is.",
    "\\boxed{\\frac{1}{2}} and $x^2 + y^2 = r^2$", "<think>\nHmm, okay.\n</think>\n\nThe answer is 5.",
    "ALL CAPS SHOUTING!!! and mIxEd CaSe", "don't can't won't shouldn't've y'all", "'s 't 're 've 'm 'll 'd",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "!!!!!!????....,,,,;;;;", "----------========",
    "http://example.com/path?query=1&b=2#frag", "user@example.org", "C:\\Users\\name\\file.txt",
    "Ω≈ç√∫˜µ≤≥÷ åß∂ƒ©˙∆˚¬…æ œ∑´®†¥¨ˆøπ“‘", "\U0001F600\U0001F9D1\u200D\U0001F4BB\U0001FAE0",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙", "Ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ", "عربي مع أرقام ١٢٣٤٥", "中文数字一二三和123混合",
]

SPECIALS = {
    "deepseek-r1-distill-qwen-1.5b": ["<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>",
                                       "<｜end▁of▁sentence｜>", "<|EOT|>"],
    "qwen2.5": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<tool_call>", "<|fim_prefix|>"],
    "gemma-3-1b-it": ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<pad>", "<mask>", "<unused5>",
                      "<start_of_image>"],
    "stories260K": ["<s>", "</s>", "<unk>"],
}

CHAT_MESSAGES = [
    "Hello!", "What is 2 + 2?", "  padded message with spaces  ", "\n\nnewlines around\n\n",
    "Translate to French: I love programming.", "写一首关于春天的诗。", "Explain <think> tags.",
    "Solve: $\\int_0^1 x^2 dx$", "def f():\n    pass\n# fix this", "emoji 😀 test", "",
    "A longer question about the history of the Roman Empire, its fall, and what historians think about it.",
]


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generated_texts(rng):
    texts = [("fragment", f) for f in FRAGMENTS]
    texts.append(("empty", ""))
    for i in range(110):
        n = rng.randint(2, 8)
        parts = [rng.choice(FRAGMENTS) for _ in range(n)]
        seps = [" ", "\n", "  ", "\n\n", "\t", "", " \n ", "\r\n", "   "]
        text = parts[0]
        for p in parts[1:]:
            text += rng.choice(seps) + p
        if rng.random() < 0.3:
            text = rng.choice([" ", "\n", "  "]) + text
        if rng.random() < 0.3:
            text += rng.choice([" ", "\n", "   ", "\n\n"])
        texts.append(("mixed", text))
    # digit runs and whitespace runs of every length 1..24
    for k in range(1, 25):
        texts.append(("runs", "x" + " " * k + "y" + "\n" * (k % 7) + "1" * k + "\t" * (k % 3) + "z"))
    return texts


def with_specials(rng, name):
    out = []
    specials = SPECIALS[name]
    for i in range(12):
        parts = []
        for _ in range(rng.randint(2, 6)):
            parts.append(rng.choice(FRAGMENTS) if rng.random() < 0.6 else rng.choice(specials))
        joiner = rng.choice(["", " ", "\n"])
        out.append(("specials", joiner.join(parts)))
    out.append(("specials", "".join(specials)))
    out.append(("specials", " ".join(specials)))
    return out


def asset_texts(assets, rng):
    """Passages from ../shared, as (reference, text)."""
    refs = []
    with gzip.open(os.path.join(assets, "text/war-and-peace.txt.gz"), "rt", encoding="utf-8", newline="") as f:
        wp = f.read()
    for i in range(24):
        length = rng.choice([200, 500, 1000, 2000, 4000])
        start = rng.randrange(0, len(wp) - length)
        refs.append(({"asset": WAR_AND_PEACE, "start": start, "length": length}, wp[start:start + length]))
    with tarfile.open(os.path.join(assets, "text/paul-graham-essays.tar.gz")) as tar:
        members = sorted(m.name for m in tar.getmembers() if m.isfile() and m.name.endswith(".txt"))
        for name in rng.sample(members, 12):
            text = tar.extractfile(name).read().decode("utf-8")
            length = min(len(text), rng.choice([1000, 3000, 6000]))
            start = rng.randrange(0, len(text) - length + 1)
            refs.append(({"asset": ESSAYS, "member": name, "start": start, "length": length},
                         text[start:start + length]))
    with tarfile.open(os.path.join(assets, "text/thought-anchors.tar.gz")) as tar:
        members = sorted(m.name for m in tar.getmembers() if m.isfile() and m.name.endswith("base_solution.json"))
        for name in rng.sample(members, 8):
            doc = json.loads(tar.extractfile(name).read().decode("utf-8"))
            text = doc["full_cot"]
            length = min(len(text), 8000)
            start = rng.randrange(0, len(text) - length + 1)
            refs.append(({"asset": THOUGHTS, "member": name, "field": "full_cot", "start": start, "length": length},
                         text[start:start + length]))
    for ref, text in refs:
        ref["sha256"] = sha256(text)
    return refs


def render_with_jinja(tok_dir, msg):
    """Fallback renderer, set up as transformers sets up its Jinja environment."""
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    cfg = json.load(open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8"))

    def content(v):
        return v.get("content") if isinstance(v, dict) else v

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False, **kw)
    env.globals["raise_exception"] = raise_exception
    kwargs = {k: content(cfg.get(k)) for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
    return env.from_string(cfg["chat_template"]).render(messages=[{"role": "user", "content": msg}],
                                                        add_generation_prompt=True, **kwargs)


def chat_prompts(tok_dir, tok):
    """Renders one user message with the model's own template (add_generation_prompt=True)."""
    hf = None
    renderer = "transformers"
    try:
        from transformers import AutoTokenizer
        hf = AutoTokenizer.from_pretrained(tok_dir)
    except Exception as e:  # reported; the Jinja fallback renders the same template
        print(f"  chat: transformers could not load {tok_dir}: {e}", file=sys.stderr)
        renderer = "jinja2"
    out = []
    for msg in CHAT_MESSAGES:
        if hf is not None:
            rendered = hf.apply_chat_template([{"role": "user", "content": msg}], tokenize=False,
                                              add_generation_prompt=True)
        else:
            rendered = render_with_jinja(tok_dir, msg)
        enc = tok.encode(rendered, add_special_tokens=False)
        out.append({"message": msg, "rendered": rendered, "ids": enc.ids})
    return out, renderer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", required=True, help="folder with the gzip'd copies (.device/tok)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    import tokenizers
    rng = random.Random(20251123)
    base = generated_texts(rng)
    refs = asset_texts(args.assets, rng)
    import tempfile
    work = tempfile.mkdtemp(prefix="tokgold-")
    for name, (folder, shared_path, has_chat) in TOKENIZERS.items():
        src = os.path.join(args.assets, folder)
        tok_dir = os.path.join(work, folder)
        os.makedirs(tok_dir, exist_ok=True)
        for fn in os.listdir(src):
            data = open(os.path.join(src, fn), "rb").read()
            if fn.endswith(".gz"):
                data = gzip.decompress(data)
                fn = fn[:-3]
            open(os.path.join(tok_dir, fn), "wb").write(data)
        tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
        cases = []
        items = [(kind, {"text": t}, t) for kind, t in base]
        items += [(kind, {"text": t}, t) for kind, t in with_specials(random.Random(name), name)]
        items += [("asset", ref, t) for ref, t in refs]
        t0 = time.perf_counter()
        for kind, source, text in items:
            enc = tok.encode(text)
            decoded = tok.decode(enc.ids, skip_special_tokens=False)
            case = dict(source)
            case["kind"] = kind
            case["ids"] = enc.ids
            case["offsets"] = [x for o in enc.offsets for x in o]
            case["decoded_equals_text"] = decoded == text
            if decoded != text:
                case["decoded"] = decoded if kind != "asset" else None
                case["decoded_sha256"] = sha256(decoded)
            cases.append(case)
        dt = time.perf_counter() - t0
        golden = {"tokenizer": name, "shared_path": shared_path, "tokenizers_version": tokenizers.__version__,
                  "generator": "scripts/data/make-tokenizer-goldens.py",
                  "add_special_tokens": True, "cases": cases}
        if has_chat:
            try:
                chats, renderer = chat_prompts(tok_dir, tok)
                golden["chat"] = chats
                golden["chat_renderer"] = renderer
            except Exception as e:
                print(f"  chat: no prompts for {name}: {e}", file=sys.stderr)
        path = os.path.join(args.out, f"{name}.json.gz")
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(golden, f, ensure_ascii=False, separators=(",", ":"))
        ntok = sum(len(c["ids"]) for c in cases)
        print(f"{name}: {len(cases)} texts, {ntok} tokens, {len(golden.get('chat', []))} chat prompts, "
              f"{dt:.2f} s, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
