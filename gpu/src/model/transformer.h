// The decoder-only transformer of Llama, Qwen2 and Gemma 3 (text) on libtorch, with the exact
// Hugging Face semantics, its weights, a KV cache, and a forward pass whose attention goes
// through an AttentionBackend. This is the torch-level API the tracer builds on.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "model/attention_backend.h"
#include "sparsetrace/core/model_config.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparsetrace::gpu {

struct LayerWeights {
    torch::Tensor inputNorm;      // [hidden]; Llama/Qwen2: w in compute dtype; Gemma: (1 + w) in f32
    torch::Tensor postAttnNorm;   // [hidden]
    torch::Tensor preFfnNorm;     // [hidden] Gemma only
    torch::Tensor postFfnNorm;    // [hidden] Gemma only
    torch::Tensor qNorm, kNorm;   // [head_dim] Gemma only, (1 + w) in f32
    torch::Tensor qkv;            // [(H + 2 Hkv) * D, hidden] q, k, v projections stacked
    torch::Tensor qkvBias;        // [(H + 2 Hkv) * D] or undefined
    torch::Tensor o;              // [hidden, H * D]
    torch::Tensor oBias;          // [hidden] or undefined (Llama with attention_bias)
    torch::Tensor gateUp;         // [2 * intermediate, hidden] gate then up
    torch::Tensor gateUpBias;     // [2 * intermediate] or undefined (Llama mlp_bias)
    torch::Tensor down;           // [hidden, intermediate]
    torch::Tensor downBias;       // [hidden] or undefined
};

struct ModelWeights {
    torch::Tensor embed;     // [V, hidden]
    torch::Tensor finalNorm; // [hidden]
    torch::Tensor lmHead;    // [V, hidden] (the embedding itself when tied)
    std::vector<LayerWeights> layers;
};

// Keys and values of every layer for positions [0, length). The first call allocates
// max(its tokens, reserve) positions, so a caller that knows the prompt and the tokens it will
// generate reserves them once; past the capacity the cache grows by doubling.
struct KvCache {
    std::vector<torch::Tensor> k; // per layer [Hkv, capacity, D] compute dtype
    std::vector<torch::Tensor> v; // per layer [Hkv, capacity, D]
    std::int64_t length = 0;
    std::int64_t reserve = 0;     // positions to allocate at the first call (0: what it needs)
    void clear() { k.clear(), v.clear(), length = 0; }
};

struct TransformerOptions {
    torch::Device device = torch::kCPU;
    torch::ScalarType dtype = torch::kFloat32;
};

class Transformer {
public:
    // Loads DIR (config.json + model.safetensors or a sharded index). Throws ModelError naming
    // the file and tensor for a missing tensor, wrong shape or unsupported dtype.
    static Transformer load(const std::string& modelDir, const TransformerOptions& options);
    // Seeded random weights (normal, std = initializer_range, norms at identity) for a config.
    static Transformer random(const core::ModelConfig& config, std::uint64_t seed, const TransformerOptions& options);

    const core::ModelConfig& config() const { return m_config; }
    const TransformerOptions& options() const { return m_options; }
    const ModelWeights& weights() const { return m_weights; }

    // Runs tokens `ids` ([T] int64, any device) at positions [start, start + T), start =
    // cache->length when a cache is given (which then grows by T) and 0 otherwise. Returns the
    // float32 logits [R, V] of the rows in `logitRows` (indices into ids, ascending or not); R
    // may be 0. Every layer's attention goes through `backend`. Memory is linear in T: norms,
    // projections, MLP and logits run over chunks of `rowChunk` rows.
    torch::Tensor forward(const torch::Tensor& ids, const std::vector<std::int64_t>& logitRows, AttentionBackend& backend,
                          KvCache* cache = nullptr) const;

    // Greedy decoding with a KV cache; returns the new tokens (stops after an EOS id when
    // stopAtEos). `promptLogitsLast` receives the logits of the prompt's last position if given.
    std::vector<std::int64_t> generate(const std::vector<std::int64_t>& prompt, int maxNewTokens, AttentionBackend& backend,
                                       bool stopAtEos = true) const;

    // 4096 rows: measured on an H100 (1.5B config, scripts/bench/bench-prefill.sh): peak 3.59 GiB at
    // 8k tokens against transformers' 3.85, time within 1.10x of it at 8k and 1.05x from 32k on.
    // 8192 rows: 3.78 GiB and 1.07x at 8k; 2048: 3.50 GiB and 1.20x.
    std::int64_t rowChunk = 4096;

private:
    torch::Tensor norm(const torch::Tensor& x, const torch::Tensor& w) const; // [n, hidden] or [n, H, D]
    torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const;
    torch::Tensor mlp(const LayerWeights& lw, const torch::Tensor& x) const;
    void ropeTables(bool local, std::int64_t start, std::int64_t n, torch::Tensor& cos, torch::Tensor& sin) const;

    core::ModelConfig m_config;
    TransformerOptions m_options;
    ModelWeights m_weights;
    torch::Tensor m_invFreqGlobal; // [D/2] f32 on the device
    torch::Tensor m_invFreqLocal;  // [D/2] f32
};

// "f32" / "bf16" / "f16" <-> torch dtype (ArgumentError for anything else).
torch::ScalarType parseDtype(const std::string& name);
std::string dtypeString(torch::ScalarType t);
// "cpu", "cuda", "cuda:N" (ArgumentError when unknown or when CUDA is not available).
torch::Device parseDevice(const std::string& name);

} // namespace sparsetrace::gpu
