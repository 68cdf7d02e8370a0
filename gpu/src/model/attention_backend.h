// The one seam between the transformer and its attention: every layer hands its rotated q and
// its keys/values (cache included) to an AttentionBackend, so the tracer can swap Stream-Attn in
// and record what it keeps. DenseAttention is the exact baseline. Torch header: gpu/src only.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace sparsetrace::gpu {

struct AttentionCall {
    int layer;
    std::int64_t queryOffset; // position of q's first row; k/v hold positions [0, queryOffset + Tq)
    int slidingWindow;        // 0 = global; else query p sees keys j with p - slidingWindow < j <= p
    double scale;             // multiplies q.k before the softmax
};

class AttentionBackend {
public:
    virtual ~AttentionBackend() = default;
    // q [H, Tq, D] (rotated: after bias, QK-norm and RoPE), k and v [Hkv, Tk, D] = every key so far
    // including the cache (Tk = queryOffset + Tq); causal; GQA: query head h reads KV head
    // h / (H / Hkv). The tensors share one dtype and device and may be strided views (the last
    // dimension is contiguous). Returns [H, Tq, D] in q's dtype.
    virtual torch::Tensor attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& v) = 0;
    // Whether every query row must go through attend. False lets the model skip the rows whose
    // output it discards (the last layer's rows before the first logit row): only for backends
    // whose rows do not depend on each other and that record nothing per row.
    virtual bool needsEveryRow() const { return true; }
};

// Exact softmax attention in O(T) memory. On the CPU the Stream-Attn CPU backend's vector kernels
// (cpu::exactAttention: online softmax over key tiles, float32, one head per thread); for
// sliding-window layers or partial query ranges on CUDA a streamed online softmax over query x
// key chunks with a running max and sum in float32; on CUDA with libtorch 2.x, global causal prefill and single-token decode go to
// at::scaled_dot_product_attention (flash), with native GQA.
class DenseAttention : public AttentionBackend {
public:
    torch::Tensor attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v) override;
    bool needsEveryRow() const override { return false; }
};

// The streamed online-softmax attention on its own (any device, float32 accumulation), for
// backends that fall back to exact attention on some layers. Chunk sizes bound the float32
// score block at [H, queryChunk, keyChunk].
torch::Tensor streamedAttention(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, std::int64_t queryChunk = 512, std::int64_t keyChunk = 1024);

} // namespace sparsetrace::gpu
