// The shape and semantics of a Hugging Face causal language model, read from its config.json:
// Llama, Qwen2 and Gemma 3 (text). Plain data, no torch; the engine (gpu/) builds the model
// from it and the trace file records it.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

enum class ModelArchitecture { Llama, Qwen2, Gemma3 };
std::string architectureName(ModelArchitecture arch); // "LlamaForCausalLM", ...

// How a layer's rotary frequencies are derived from the base ones (HF `rope_type`).
enum class RopeScalingKind { None, Linear, Llama3 };

struct RopeParameters {
    double theta = 10000.0;
    RopeScalingKind scaling = RopeScalingKind::None;
    double factor = 1.0;               // linear and llama3
    double lowFreqFactor = 1.0;        // llama3
    double highFreqFactor = 4.0;       // llama3
    double originalMaxPositions = 8192; // llama3
};

enum class Activation { Silu, GeluTanh };

struct ModelConfig {
    // Ceilings on config.json's counts (ModelError beyond them): far above any model we run.
    static constexpr std::int64_t kMaxLayers = 1024;
    static constexpr std::int64_t kMaxHeads = 1024;
    static constexpr std::int64_t kMaxWidth = std::int64_t(1) << 20;   // hidden and intermediate
    static constexpr std::int64_t kMaxHeadDim = 16384;
    static constexpr std::int64_t kMaxVocab = std::int64_t(1) << 24;
    ModelArchitecture architecture = ModelArchitecture::Llama;
    std::string modelType; // config's model_type ("llama", "qwen2", "gemma3_text")
    int layers = 0;
    int heads = 0;
    int kvHeads = 0;
    int headDim = 0;
    int hidden = 0;
    int intermediate = 0;
    std::int64_t vocab = 0;
    double rmsEps = 1e-6;
    RopeParameters ropeGlobal; // full-attention layers (every layer for Llama and Qwen2)
    RopeParameters ropeLocal;  // sliding-window layers of Gemma 3
    std::int64_t maxPositions = 0;
    bool tieWordEmbeddings = false;
    bool attentionBias = false; // q/k/v (and o for Llama when set) projections carry biases
    bool mlpBias = false;       // Llama's mlp_bias
    int slidingWindow = 0;      // keys per query in a local layer (incl. itself); 0 = none
    std::vector<bool> layerIsSliding; // [layers]
    double queryPreAttnScalar = 0; // Gemma 3: attention scale = this^-0.5
    double finalLogitSoftcap = 0;  // 0 = none; logits = cap * tanh(logits / cap)
    Activation activation = Activation::Silu;
    std::vector<std::int64_t> bosIds;
    std::vector<std::int64_t> eosIds;

    // Parses config.json text; `label` (the file path) names the file in messages. Throws
    // ModelError "FILE: ..." naming the key for an unsupported architecture, a missing or
    // ill-typed key, or an unsupported feature (rope type, attention softcapping).
    // (The JSON travels as text: torch-using code may see another nlohmann/json than core does.)
    static ModelConfig fromJson(std::string_view jsonText, const std::string& label);
    // Reads DIR/config.json (IoError when unreadable, ModelError when not JSON).
    static ModelConfig load(const std::string& modelDir);

    bool gemma() const { return architecture == ModelArchitecture::Gemma3; }
    double attentionScale() const;   // 1/sqrt(head_dim), or query_pre_attn_scalar^-0.5
    std::int64_t parameterCount() const;
    // Whether any layer is sliding-window.
    bool hasSlidingLayers() const;
    std::string summary() const; // the fields above as JSON text (for logs and traces)
};

} // namespace sparsetrace::core
