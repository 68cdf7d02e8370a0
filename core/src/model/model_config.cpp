// config.json of Llama, Qwen2 and Gemma 3 text models -> ModelConfig, with the defaults the
// Hugging Face configuration classes apply when a key is absent, and a ModelError naming the
// file and key for anything we cannot run exactly.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/model_config.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <fstream>
#include <sstream>

namespace sparsetrace::core {

namespace {

[[noreturn]] void fail(const std::string& label, const std::string& what)
{
    throw ModelError(label + ": " + what);
}

const nlohmann::json* member(const nlohmann::json& j, const char* key)
{
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
}

std::int64_t requireInt(const nlohmann::json& j, const char* key, const std::string& label)
{
    const nlohmann::json* v = member(j, key);
    if (!v) fail(label, std::string("key \"") + key + "\" is missing");
    if (!v->is_number_integer()) fail(label, std::string("key \"") + key + "\" must be an integer");
    return v->get<std::int64_t>();
}

std::int64_t optionalInt(const nlohmann::json& j, const char* key, std::int64_t fallback, const std::string& label)
{
    const nlohmann::json* v = member(j, key);
    if (!v) return fallback;
    if (!v->is_number_integer()) fail(label, std::string("key \"") + key + "\" must be an integer");
    return v->get<std::int64_t>();
}

double optionalNumber(const nlohmann::json& j, const char* key, double fallback, const std::string& label)
{
    const nlohmann::json* v = member(j, key);
    if (!v) return fallback;
    if (!v->is_number()) fail(label, std::string("key \"") + key + "\" must be a number");
    return v->get<double>();
}

bool optionalBool(const nlohmann::json& j, const char* key, bool fallback, const std::string& label)
{
    const nlohmann::json* v = member(j, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(label, std::string("key \"") + key + "\" must be true or false");
    return v->get<bool>();
}

std::vector<std::int64_t> tokenIds(const nlohmann::json& j, const char* key, const std::string& label)
{
    const nlohmann::json* v = member(j, key);
    if (!v) return {};
    if (v->is_number_integer()) return {v->get<std::int64_t>()};
    if (!v->is_array()) fail(label, std::string("key \"") + key + "\" must be an integer or a list of integers");
    std::vector<std::int64_t> out;
    for (const auto& e : *v) {
        if (!e.is_number_integer()) fail(label, std::string("key \"") + key + "\" must hold integers");
        out.push_back(e.get<std::int64_t>());
    }
    return out;
}

// One RoPE description: an HF rope_scaling / rope_parameters object (may be null) over a base.
RopeParameters parseRope(const nlohmann::json* obj, double theta, const std::string& label, const std::string& keyName)
{
    RopeParameters r;
    r.theta = theta;
    if (!obj) return r;
    if (!obj->is_object()) fail(label, "key \"" + keyName + "\" must be an object");
    r.theta = optionalNumber(*obj, "rope_theta", theta, label);
    std::string type = "default";
    if (const auto* t = member(*obj, "rope_type")) type = t->is_string() ? t->get<std::string>() : "";
    else if (const auto* t2 = member(*obj, "type")) type = t2->is_string() ? t2->get<std::string>() : "";
    if (type == "default") {
        r.scaling = RopeScalingKind::None;
    } else if (type == "linear") {
        r.scaling = RopeScalingKind::Linear;
        r.factor = optionalNumber(*obj, "factor", 0, label);
        if (!(r.factor > 0)) fail(label, "key \"" + keyName + ".factor\" is missing or not positive");
    } else if (type == "llama3") {
        r.scaling = RopeScalingKind::Llama3;
        r.factor = optionalNumber(*obj, "factor", 0, label);
        r.lowFreqFactor = optionalNumber(*obj, "low_freq_factor", 0, label);
        r.highFreqFactor = optionalNumber(*obj, "high_freq_factor", 0, label);
        r.originalMaxPositions = optionalNumber(*obj, "original_max_position_embeddings", 0, label);
        if (!(r.factor > 0) || !(r.lowFreqFactor > 0) || !(r.highFreqFactor > r.lowFreqFactor) || !(r.originalMaxPositions > 0))
            fail(label, "key \"" + keyName + "\": llama3 RoPE needs factor, low_freq_factor < high_freq_factor and "
                        "original_max_position_embeddings");
    } else {
        fail(label, "key \"" + keyName + ".rope_type\" is \"" + type +
                        "\"; supported RoPE types are default, linear and llama3");
    }
    return r;
}

} // namespace

std::string architectureName(ModelArchitecture arch)
{
    switch (arch) {
    case ModelArchitecture::Llama: return "LlamaForCausalLM";
    case ModelArchitecture::Qwen2: return "Qwen2ForCausalLM";
    case ModelArchitecture::Gemma3: return "Gemma3ForCausalLM";
    }
    return "?";
}

namespace {
ModelConfig parseConfig(const nlohmann::json& j, const std::string& label);
}

ModelConfig ModelConfig::fromJson(std::string_view jsonText, const std::string& label)
{
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(jsonText);
    } catch (const nlohmann::json::exception& e) {
        throw ModelError(label + ": not valid JSON (" + e.what() + ")");
    }
    return parseConfig(j, label);
}

namespace {
ModelConfig parseConfig(const nlohmann::json& j, const std::string& label)
{
    if (!j.is_object()) fail(label, "not a JSON object");
    ModelConfig c;
    std::string arch;
    if (const auto* a = member(j, "architectures")) {
        if (!a->is_array() || a->empty() || !(*a)[0].is_string()) fail(label, "key \"architectures\" must be a list of names");
        arch = (*a)[0].get<std::string>();
    }
    if (const auto* m = member(j, "model_type"); m && m->is_string()) c.modelType = m->get<std::string>();
    if (arch.empty()) {
        if (c.modelType == "llama") arch = "LlamaForCausalLM";
        else if (c.modelType == "qwen2") arch = "Qwen2ForCausalLM";
        else if (c.modelType == "gemma3_text") arch = "Gemma3ForCausalLM";
        else fail(label, "key \"architectures\" is missing");
    }
    if (arch == "LlamaForCausalLM") c.architecture = ModelArchitecture::Llama;
    else if (arch == "Qwen2ForCausalLM") c.architecture = ModelArchitecture::Qwen2;
    else if (arch == "Gemma3ForCausalLM" || (arch == "Gemma3ForConditionalGeneration" && c.modelType == "gemma3_text"))
        c.architecture = ModelArchitecture::Gemma3;
    else
        fail(label, "key \"architectures\" names " + arch +
                        "; supported are LlamaForCausalLM, Qwen2ForCausalLM and Gemma3ForCausalLM (text)");
    if (c.gemma() && !c.modelType.empty() && c.modelType != "gemma3_text" && c.modelType != "gemma3")
        fail(label, "key \"model_type\" is \"" + c.modelType + "\"; Gemma3ForCausalLM needs gemma3_text");
    if (c.gemma() && c.modelType == "gemma3")
        fail(label, "key \"model_type\" is \"gemma3\" (the multimodal model); only the text model gemma3_text is supported");

    // Counts are checked against ceilings far above any supported model (largest today: 126
    // layers, 128 heads, hidden 16384, intermediate 53248, vocabulary 262144) before anything is
    // sized from them; the ceilings keep parameterCount() and every tensor extent inside int64.
    auto count = [&](const char* key, std::int64_t value, std::int64_t ceiling) {
        if (value <= 0 || value > ceiling)
            fail(label, std::string("key \"") + key + "\" is " + std::to_string(value) + "; expected 1 to " +
                            std::to_string(ceiling));
        return value;
    };
    c.layers = static_cast<int>(count("num_hidden_layers", requireInt(j, "num_hidden_layers", label), ModelConfig::kMaxLayers));
    c.heads = static_cast<int>(count("num_attention_heads", requireInt(j, "num_attention_heads", label), ModelConfig::kMaxHeads));
    c.hidden = static_cast<int>(count("hidden_size", requireInt(j, "hidden_size", label), ModelConfig::kMaxWidth));
    c.intermediate = static_cast<int>(count("intermediate_size", requireInt(j, "intermediate_size", label), ModelConfig::kMaxWidth));
    c.vocab = count("vocab_size", requireInt(j, "vocab_size", label), ModelConfig::kMaxVocab);
    c.kvHeads = static_cast<int>(count("num_key_value_heads", optionalInt(j, "num_key_value_heads", c.heads, label), ModelConfig::kMaxHeads));
    if (c.heads % c.kvHeads != 0)
        fail(label, "key \"num_key_value_heads\" (" + std::to_string(c.kvHeads) + ") must divide num_attention_heads (" +
                        std::to_string(c.heads) + ")");
    const std::int64_t defaultHeadDim = c.gemma() ? 256 : c.hidden / c.heads;
    const std::int64_t headDim = optionalInt(j, "head_dim", defaultHeadDim, label);
    if (headDim <= 0 || headDim > ModelConfig::kMaxHeadDim || headDim % 2 != 0)
        fail(label, "key \"head_dim\" must be a positive even number up to " + std::to_string(ModelConfig::kMaxHeadDim));
    c.headDim = static_cast<int>(headDim);
    c.rmsEps = optionalNumber(j, "rms_norm_eps", 1e-6, label);
    c.maxPositions = optionalInt(j, "max_position_embeddings", c.gemma() ? 131072 : 2048, label);
    if (c.maxPositions <= 0) fail(label, "key \"max_position_embeddings\" must be positive");
    c.tieWordEmbeddings = optionalBool(j, "tie_word_embeddings", c.gemma(), label);
    c.bosIds = tokenIds(j, "bos_token_id", label);
    c.eosIds = tokenIds(j, "eos_token_id", label);

    switch (c.architecture) {
    case ModelArchitecture::Llama:
        c.attentionBias = optionalBool(j, "attention_bias", false, label);
        c.mlpBias = optionalBool(j, "mlp_bias", false, label);
        break;
    case ModelArchitecture::Qwen2: c.attentionBias = true; break; // q/k/v always biased, o_proj never
    case ModelArchitecture::Gemma3: c.attentionBias = optionalBool(j, "attention_bias", false, label); break;
    }

    // Activation: Llama/Qwen2 use hidden_act (silu), Gemma hidden_activation (gelu tanh).
    const char* actKey = c.gemma() ? "hidden_activation" : "hidden_act";
    std::string act = c.gemma() ? "gelu_pytorch_tanh" : "silu";
    if (const auto* a = member(j, actKey)) {
        if (!a->is_string()) fail(label, std::string("key \"") + actKey + "\" must be a string");
        act = a->get<std::string>();
    }
    if (act == "silu" || act == "swish") c.activation = Activation::Silu;
    else if (act == "gelu_pytorch_tanh" || act == "gelu_tanh" || act == "gelu_new") c.activation = Activation::GeluTanh;
    else fail(label, std::string("key \"") + actKey + "\" is \"" + act + "\"; supported are silu and gelu_pytorch_tanh");

    // RoPE: transformers 5 writes rope_parameters (per layer type for Gemma 3); older configs
    // rope_theta, rope_scaling and (Gemma 3) rope_local_base_freq.
    const double defaultTheta = c.gemma() ? 1000000.0 : 10000.0;
    const double theta = optionalNumber(j, "rope_theta", defaultTheta, label);
    const double localTheta = optionalNumber(j, "rope_local_base_freq", 10000.0, label);
    if (const auto* rp = member(j, "rope_parameters")) {
        if (!rp->is_object()) fail(label, "key \"rope_parameters\" must be an object");
        if (rp->contains("full_attention") || rp->contains("sliding_attention")) {
            c.ropeGlobal = parseRope(member(*rp, "full_attention"), theta, label, "rope_parameters.full_attention");
            c.ropeLocal = parseRope(member(*rp, "sliding_attention"), localTheta, label, "rope_parameters.sliding_attention");
        } else {
            c.ropeGlobal = parseRope(rp, theta, label, "rope_parameters");
            c.ropeLocal = c.gemma() ? parseRope(nullptr, localTheta, label, "") : c.ropeGlobal;
        }
    } else {
        c.ropeGlobal = parseRope(member(j, "rope_scaling"), theta, label, "rope_scaling");
        // Gemma 3's local layers use the default RoPE at rope_local_base_freq.
        c.ropeLocal = c.gemma() ? parseRope(nullptr, localTheta, label, "") : c.ropeGlobal;
    }

    // Layer kinds.
    c.layerIsSliding.assign(static_cast<std::size_t>(c.layers), false);
    const auto* layerTypes = member(j, "layer_types");
    bool slidingEnabled = c.gemma();
    if (c.architecture == ModelArchitecture::Qwen2) slidingEnabled = optionalBool(j, "use_sliding_window", false, label);
    if (c.architecture == ModelArchitecture::Llama) slidingEnabled = false;
    if (layerTypes) {
        if (!layerTypes->is_array() || static_cast<int>(layerTypes->size()) != c.layers)
            fail(label, "key \"layer_types\" must list one kind per layer (" + std::to_string(c.layers) + ")");
        for (int l = 0; l < c.layers; ++l) {
            const auto& t = (*layerTypes)[static_cast<std::size_t>(l)];
            if (!t.is_string()) fail(label, "key \"layer_types\" must hold strings");
            const std::string s = t.get<std::string>();
            if (s == "sliding_attention") c.layerIsSliding[static_cast<std::size_t>(l)] = true;
            else if (s != "full_attention")
                fail(label, "key \"layer_types\" holds \"" + s + "\"; supported are full_attention and sliding_attention");
        }
    } else if (c.gemma()) {
        const std::int64_t pattern = optionalInt(j, "sliding_window_pattern", 6, label);
        if (pattern <= 0) fail(label, "key \"sliding_window_pattern\" must be positive");
        for (int l = 0; l < c.layers; ++l) c.layerIsSliding[static_cast<std::size_t>(l)] = (l + 1) % pattern != 0;
    } else if (c.architecture == ModelArchitecture::Qwen2 && slidingEnabled) {
        const std::int64_t maxWindowLayers = optionalInt(j, "max_window_layers", c.layers, label);
        for (int l = 0; l < c.layers; ++l) c.layerIsSliding[static_cast<std::size_t>(l)] = l >= maxWindowLayers;
    }
    // Qwen2 only slides when use_sliding_window is true, whatever layer_types says.
    if (c.architecture == ModelArchitecture::Qwen2 && !slidingEnabled) c.layerIsSliding.assign(c.layerIsSliding.size(), false);
    if (c.architecture == ModelArchitecture::Llama && layerTypes)
        for (bool s : c.layerIsSliding)
            if (s) fail(label, "key \"layer_types\": LlamaForCausalLM has no sliding-window layers");
    if (c.hasSlidingLayers()) {
        const std::int64_t window = optionalInt(j, "sliding_window", 0, label);
        if (window <= 0) fail(label, "key \"sliding_window\" is missing but some layers are sliding_attention");
        c.slidingWindow = static_cast<int>(std::min<std::int64_t>(window, std::numeric_limits<int>::max()));
    }

    if (c.gemma()) {
        c.queryPreAttnScalar = optionalNumber(j, "query_pre_attn_scalar", 256, label);
        if (!(c.queryPreAttnScalar > 0)) fail(label, "key \"query_pre_attn_scalar\" must be positive");
        c.finalLogitSoftcap = optionalNumber(j, "final_logit_softcapping", 0, label);
        if (c.finalLogitSoftcap < 0) fail(label, "key \"final_logit_softcapping\" must not be negative");
    }
    // Attention-score softcapping cannot be expressed through flash attention (nor Stream-Attn).
    if (const auto* cap = member(j, "attn_logit_softcapping"); cap && !(cap->is_number() && cap->get<double>() == 0.0))
        fail(label, "key \"attn_logit_softcapping\" is set; attention-score softcapping is not supported");
    if (const auto* ms = member(j, "use_mrope"); ms && ms->is_boolean() && ms->get<bool>())
        fail(label, "key \"use_mrope\" is true; multimodal RoPE is not supported");
    return c;
}
} // namespace

ModelConfig ModelConfig::load(const std::string& modelDir)
{
    const std::string path = modelDir + "/config.json";
    return fromJson(readFileBytes<ModelError>(path, "(is this a Hugging Face model folder?)"), path);
}

double ModelConfig::attentionScale() const
{
    if (gemma()) return 1.0 / std::sqrt(queryPreAttnScalar);
    return 1.0 / std::sqrt(static_cast<double>(headDim));
}

bool ModelConfig::hasSlidingLayers() const
{
    for (bool s : layerIsSliding)
        if (s) return true;
    return false;
}

std::int64_t ModelConfig::parameterCount() const
{
    const std::int64_t h = hidden, q = static_cast<std::int64_t>(heads) * headDim,
                       kv = static_cast<std::int64_t>(kvHeads) * headDim, f = intermediate;
    std::int64_t perLayer = h * q + 2 * h * kv + q * h + 3 * h * f + 2 * h;
    if (attentionBias) perLayer += q + 2 * kv;
    if (gemma()) perLayer += 2 * h + 2 * headDim;
    std::int64_t total = static_cast<std::int64_t>(layers) * perLayer + vocab * h + h;
    if (!tieWordEmbeddings) total += vocab * h;
    return total;
}

std::string ModelConfig::summary() const
{
    int sliding = 0;
    for (bool s : layerIsSliding) sliding += s ? 1 : 0;
    nlohmann::json j = {{"architecture", architectureName(architecture)},
            {"model_type", modelType},
            {"layers", layers},
            {"heads", heads},
            {"kv_heads", kvHeads},
            {"head_dim", headDim},
            {"hidden", hidden},
            {"intermediate", intermediate},
            {"vocab", vocab},
            {"rope_theta", ropeGlobal.theta},
            {"sliding_layers", sliding},
            {"sliding_window", slidingWindow},
            {"tie_word_embeddings", tieWordEmbeddings},
            {"parameters", parameterCount()}};
    return j.dump();
}

} // namespace sparsetrace::core
