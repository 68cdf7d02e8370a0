// Llama / Qwen2 / Gemma 3 decoder on libtorch: weight loading from safetensors (single file or
// sharded index, mmap -> one conversion to the compute dtype), the forward pass with the
// Hugging Face numerics (fp32 norms, rotate-half RoPE, Gemma's (1 + w) norms, QK-norm, scaled
// embeddings and sliding-window layers) in row chunks, and greedy decoding with a KV cache.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/transformer.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numbers>
#include <sstream>

namespace sparsetrace::gpu {

namespace fs = std::filesystem;

torch::ScalarType parseDtype(const std::string& name)
{
    if (name == "f32" || name == "float32" || name == "fp32") return torch::kFloat32;
    if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
    if (name == "f16" || name == "float16" || name == "fp16") return torch::kFloat16;
    throw ArgumentError("unknown dtype \"" + name + "\" (expected f32, bf16 or f16)");
}

std::string dtypeString(torch::ScalarType t)
{
    switch (t) {
    case torch::kFloat32: return "f32";
    case torch::kBFloat16: return "bf16";
    case torch::kFloat16: return "f16";
    default: return "other";
    }
}

torch::Device parseDevice(const std::string& name)
{
    if (name == "cpu") return torch::kCPU;
    if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
        if (!torch::cuda::is_available())
            throw ArgumentError("device \"" + name + "\" requested but no CUDA device is available to this build (" +
                                std::string(TORCH_VERSION) + ")");
        int index = 0;
        if (name.size() > 5) {
            try {
                index = std::stoi(name.substr(5));
            } catch (const std::exception&) {
                throw ArgumentError("bad device \"" + name + "\"");
            }
            if (index < 0 || index >= static_cast<int>(torch::cuda::device_count()))
                throw ArgumentError("device \"" + name + "\" does not exist");
        }
        return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    throw ArgumentError("unknown device \"" + name + "\" (expected cpu or cuda)");
}

namespace {

std::string shapeString(const std::vector<std::int64_t>& s)
{
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

// Every tensor of a model folder, from model.safetensors or the shards of its index.
class WeightSource {
public:
    explicit WeightSource(const std::string& dir) : m_dir(dir)
    {
        const fs::path single = fs::path(dir) / "model.safetensors";
        const fs::path index = fs::path(dir) / "model.safetensors.index.json";
        if (fs::exists(single)) {
            m_files.push_back(core::SafetensorsFile::open(single.string()));
            for (const auto& t : m_files.back().tensors()) m_where[t.name] = 0;
            m_label = single.string();
        } else if (fs::exists(index)) {
            m_label = index.string();
            std::ifstream in(index, std::ios::binary);
            if (!in) throw IoError(m_label + ": cannot open");
            std::stringstream ss;
            ss << in.rdbuf();
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(ss.str());
            } catch (const nlohmann::json::exception& e) {
                throw ModelError(m_label + ": not valid JSON (" + e.what() + ")");
            }
            if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
                throw ModelError(m_label + ": key \"weight_map\" is missing");
            std::map<std::string, std::size_t> shardIndex;
            for (const auto& [name, file] : j["weight_map"].items()) {
                if (!file.is_string()) throw ModelError(m_label + ": weight_map entry \"" + name + "\" is not a file name");
                const std::string shard = file.get<std::string>();
                if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
                    throw ModelError(m_label + ": weight_map names \"" + shard + "\" outside the model folder");
                auto it = shardIndex.find(shard);
                if (it == shardIndex.end()) {
                    const fs::path p = fs::path(dir) / shard;
                    if (!fs::exists(p)) throw ModelError(m_label + ": shard " + shard + " (of tensor " + name + ") is missing");
                    m_files.push_back(core::SafetensorsFile::open(p.string()));
                    it = shardIndex.emplace(shard, m_files.size() - 1).first;
                }
                m_where[name] = it->second;
            }
        } else {
            throw ModelError(dir + ": neither model.safetensors nor model.safetensors.index.json is present");
        }
    }

    bool has(const std::string& name) const { return m_where.count(name) != 0; }

    // The tensor `name`, checked against `shape`, converted once to dtype on device.
    torch::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape, torch::ScalarType dtype,
                      torch::Device device) const
    {
        auto it = m_where.find(name);
        if (it == m_where.end()) throw ModelError(m_label + ": tensor " + name + " is missing");
        const core::SafetensorsFile& file = m_files[it->second];
        const core::TensorInfo* info = file.find(name);
        if (!info) throw ModelError(file.path() + ": tensor " + name + " is missing (the index names this file)");
        torch::ScalarType src;
        switch (info->dtype) {
        case core::DType::F32: src = torch::kFloat32; break;
        case core::DType::BF16: src = torch::kBFloat16; break;
        case core::DType::F16: src = torch::kFloat16; break;
        default:
            throw ModelError(file.path() + ": tensor " + name + " has dtype " + std::string(core::dtypeName(info->dtype)) +
                             "; expected F32, BF16 or F16");
        }
        if (info->shape != shape)
            throw ModelError(file.path() + ": tensor " + name + " has shape " + shapeString(info->shape) + ", expected " +
                             shapeString(shape));
        auto bytes = file.data(*info);
        torch::Tensor host;
        const std::size_t elem = core::dtypeSize(info->dtype);
        if (reinterpret_cast<std::uintptr_t>(bytes.data()) % elem == 0) {
            // A view of the mapping; the copy below is the only one.
            host = torch::from_blob(const_cast<std::byte*>(bytes.data()), info->shape, torch::TensorOptions().dtype(src));
        } else {
            host = torch::empty(info->shape, torch::TensorOptions().dtype(src));
            std::memcpy(host.data_ptr(), bytes.data(), bytes.size());
        }
        torch::Tensor out = host.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
        return out;
    }

    const std::string& label() const { return m_label; }

private:
    std::string m_dir;
    std::string m_label;
    std::vector<core::SafetensorsFile> m_files;
    std::map<std::string, std::size_t> m_where;
};

// HF's inverse frequencies, computed in float32 with the same operations.
torch::Tensor inverseFrequencies(const core::RopeParameters& r, int headDim)
{
    torch::Tensor exponent = torch::arange(0, headDim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(headDim);
    torch::Tensor inv = 1.0 / torch::pow(r.theta, exponent); // [D/2] f32
    if (r.scaling == core::RopeScalingKind::Linear) {
        inv = inv / r.factor;
    } else if (r.scaling == core::RopeScalingKind::Llama3) {
        const double lowFreqWavelen = r.originalMaxPositions / r.lowFreqFactor;
        const double highFreqWavelen = r.originalMaxPositions / r.highFreqFactor;
        torch::Tensor wavelen = 2 * std::numbers::pi / inv;
        torch::Tensor scaled = torch::where(wavelen > lowFreqWavelen, inv / r.factor, inv);
        torch::Tensor smooth = (r.originalMaxPositions / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
        torch::Tensor smoothed = (1 - smooth) * scaled / r.factor + smooth * scaled;
        torch::Tensor medium = (wavelen < highFreqWavelen).logical_not().logical_and((wavelen > lowFreqWavelen).logical_not());
        inv = torch::where(medium, smoothed, scaled);
    }
    return inv;
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b)
{
    return b.defined() ? torch::linear(x, w, b) : torch::linear(x, w);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Construction

namespace {

struct Builder {
    const core::ModelConfig& c;
    TransformerOptions opt;
    // Returns the named tensor in the compute dtype on the device.
    std::function<torch::Tensor(const std::string&, const std::vector<std::int64_t>&, bool isNorm)> fetch;
    std::function<bool(const std::string&)> has;

    // Gemma norms are stored as (1 + w) in float32, from w rounded to the compute dtype first
    // (HF holds w in the model's dtype and computes 1 + w.float()).
    torch::Tensor gemmaNorm(const std::string& name, std::int64_t n)
    {
        return fetch(name, {n}, true).to(torch::kFloat32) + 1.0;
    }

    ModelWeights build()
    {
        ModelWeights w;
        const std::int64_t h = c.hidden, q = static_cast<std::int64_t>(c.heads) * c.headDim,
                           kv = static_cast<std::int64_t>(c.kvHeads) * c.headDim, f = c.intermediate;
        w.embed = fetch("model.embed_tokens.weight", {c.vocab, h}, false);
        w.finalNorm = c.gemma() ? gemmaNorm("model.norm.weight", h) : fetch("model.norm.weight", {h}, true);
        w.lmHead = c.tieWordEmbeddings ? w.embed : fetch("lm_head.weight", {c.vocab, h}, false);
        const bool oBias = c.attentionBias && c.architecture != core::ModelArchitecture::Qwen2;
        for (int l = 0; l < c.layers; ++l) {
            const std::string p = "model.layers." + std::to_string(l) + ".";
            LayerWeights lw;
            if (c.gemma()) {
                lw.inputNorm = gemmaNorm(p + "input_layernorm.weight", h);
                lw.postAttnNorm = gemmaNorm(p + "post_attention_layernorm.weight", h);
                lw.preFfnNorm = gemmaNorm(p + "pre_feedforward_layernorm.weight", h);
                lw.postFfnNorm = gemmaNorm(p + "post_feedforward_layernorm.weight", h);
                lw.qNorm = gemmaNorm(p + "self_attn.q_norm.weight", c.headDim);
                lw.kNorm = gemmaNorm(p + "self_attn.k_norm.weight", c.headDim);
            } else {
                lw.inputNorm = fetch(p + "input_layernorm.weight", {h}, true);
                lw.postAttnNorm = fetch(p + "post_attention_layernorm.weight", {h}, true);
            }
            lw.qkv = torch::cat({fetch(p + "self_attn.q_proj.weight", {q, h}, false),
                                 fetch(p + "self_attn.k_proj.weight", {kv, h}, false),
                                 fetch(p + "self_attn.v_proj.weight", {kv, h}, false)},
                                0);
            if (c.attentionBias)
                lw.qkvBias = torch::cat({fetch(p + "self_attn.q_proj.bias", {q}, false),
                                         fetch(p + "self_attn.k_proj.bias", {kv}, false),
                                         fetch(p + "self_attn.v_proj.bias", {kv}, false)},
                                        0);
            lw.o = fetch(p + "self_attn.o_proj.weight", {h, q}, false);
            if (oBias) lw.oBias = fetch(p + "self_attn.o_proj.bias", {h}, false);
            lw.gateUp = torch::cat({fetch(p + "mlp.gate_proj.weight", {f, h}, false),
                                    fetch(p + "mlp.up_proj.weight", {f, h}, false)},
                                   0);
            lw.down = fetch(p + "mlp.down_proj.weight", {h, f}, false);
            if (c.mlpBias) {
                lw.gateUpBias = torch::cat({fetch(p + "mlp.gate_proj.bias", {f}, false), fetch(p + "mlp.up_proj.bias", {f}, false)}, 0);
                lw.downBias = fetch(p + "mlp.down_proj.bias", {h}, false);
            }
            w.layers.push_back(std::move(lw));
        }
        return w;
    }
};

void initRope(const core::ModelConfig& c, const TransformerOptions& opt, torch::Tensor& global, torch::Tensor& local)
{
    global = inverseFrequencies(c.ropeGlobal, c.headDim).to(opt.device);
    local = inverseFrequencies(c.ropeLocal, c.headDim).to(opt.device);
}

void checkOptions(const TransformerOptions& opt)
{
    if (opt.dtype != torch::kFloat32 && opt.dtype != torch::kBFloat16 && opt.dtype != torch::kFloat16)
        throw ArgumentError("compute dtype must be f32, bf16 or f16");
}

} // namespace

Transformer Transformer::load(const std::string& modelDir, const TransformerOptions& options)
{
    checkOptions(options);
    Transformer t;
    t.m_config = core::ModelConfig::load(modelDir);
    t.m_options = options;
    WeightSource src(modelDir);
    torch::NoGradGuard noGrad;
    Builder b{t.m_config, options, {}, {}};
    b.fetch = [&](const std::string& name, const std::vector<std::int64_t>& shape, bool) {
        return src.get(name, shape, options.dtype, options.device);
    };
    b.has = [&](const std::string& name) { return src.has(name); };
    try {
        t.m_weights = b.build();
    } catch (const c10::Error& e) {
        throw BackendError(modelDir + ": loading the weights failed: " + e.what_without_backtrace());
    }
    initRope(t.m_config, options, t.m_invFreqGlobal, t.m_invFreqLocal);
    return t;
}

Transformer Transformer::random(const core::ModelConfig& config, std::uint64_t seed, const TransformerOptions& options)
{
    checkOptions(options);
    Transformer t;
    t.m_config = config;
    t.m_options = options;
    torch::NoGradGuard noGrad;
    torch::manual_seed(seed);
    const double stddev = 0.02; // HF initializer_range default
    Builder b{t.m_config, options, {}, {}};
    const bool gemma = config.gemma();
    b.fetch = [&](const std::string& name, const std::vector<std::int64_t>& shape, bool isNorm) {
        auto opts = torch::TensorOptions().device(options.device).dtype(options.dtype);
        if (isNorm) return gemma ? torch::zeros(shape, opts) : torch::ones(shape, opts); // identity norms
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) return torch::zeros(shape, opts);
        return torch::empty(shape, opts).normal_(0.0, stddev);
    };
    b.has = [](const std::string&) { return true; };
    try {
        t.m_weights = b.build();
    } catch (const c10::Error& e) {
        throw BackendError(std::string("building random weights failed: ") + e.what_without_backtrace());
    }
    initRope(t.m_config, options, t.m_invFreqGlobal, t.m_invFreqLocal);
    return t;
}

// ---------------------------------------------------------------------------------------------
// Forward

torch::Tensor Transformer::norm(const torch::Tensor& x, const torch::Tensor& w) const
{
    torch::Tensor xf = x.to(torch::kFloat32);
    xf = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + m_config.rmsEps);
    if (m_config.gemma()) return (xf * w).to(x.scalar_type()); // w = 1 + weight, f32
    return w * xf.to(x.scalar_type());                           // Llama: cast first, then scale
}

torch::Tensor Transformer::rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const
{
    const std::int64_t half = x.size(-1) / 2;
    torch::Tensor rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
    return x * cos + rotated * sin;
}

void Transformer::ropeTables(bool local, std::int64_t start, std::int64_t n, torch::Tensor& cos, torch::Tensor& sin) const
{
    const torch::Tensor& inv = local ? m_invFreqLocal : m_invFreqGlobal; // [D/2] f32
    torch::Tensor pos = torch::arange(start, start + n, torch::TensorOptions().dtype(torch::kInt64).device(inv.device()))
                            .to(torch::kFloat32);
    torch::Tensor freqs = pos.unsqueeze(1) * inv.unsqueeze(0); // [n, D/2] f32
    torch::Tensor emb = torch::cat({freqs, freqs}, -1);        // [n, D]
    cos = emb.cos().to(m_options.dtype).unsqueeze(1);          // [n, 1, D]
    sin = emb.sin().to(m_options.dtype).unsqueeze(1);
}

torch::Tensor Transformer::mlp(const LayerWeights& lw, const torch::Tensor& x) const
{
    const std::int64_t f = m_config.intermediate;
    torch::Tensor gu = linear(x, lw.gateUp, lw.gateUpBias); // [n, 2F]
    torch::Tensor gate = gu.narrow(1, 0, f);
    const torch::Tensor up = gu.narrow(1, f, f);
    // In place in the gate half of gu (the same kernels as out of place, so the same numbers):
    // the chunk's MLP holds one [n, 2F] buffer instead of three. The down projection reads the
    // strided half directly (row stride 2F is a valid leading dimension for the GEMM).
    if (m_config.activation == core::Activation::Silu) torch::silu_(gate);
    else torch::gelu_(gate, "tanh");
    gate.mul_(up);
    return linear(gate, lw.down, lw.downBias);
}

torch::Tensor Transformer::forward(const torch::Tensor& idsIn, const std::vector<std::int64_t>& logitRows,
                                   AttentionBackend& backend, KvCache* cache) const
{
    torch::NoGradGuard noGrad;
    const core::ModelConfig& c = m_config;
    if (idsIn.dim() != 1) throw ArgumentError("forward: token ids must be a 1-D tensor");
    const std::int64_t t = idsIn.size(0);
    if (t == 0) throw ArgumentError("forward: no tokens");
    const std::int64_t start = cache ? cache->length : 0;
    const auto dev = m_options.device;
    torch::Tensor ids = idsIn.to(dev, torch::kInt64);
    {
        const std::int64_t lo = ids.min().item<std::int64_t>(), hi = ids.max().item<std::int64_t>();
        if (lo < 0 || hi >= c.vocab)
            throw ArgumentError("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary [0, " +
                                std::to_string(c.vocab) + ")");
    }
    for (std::int64_t r : logitRows)
        if (r < 0 || r >= t) throw ArgumentError("forward: logit row " + std::to_string(r) + " outside [0, " + std::to_string(t) + ")");

    const std::int64_t h = c.heads, hkv = c.kvHeads, d = c.headDim, qd = h * d, kvd = hkv * d;
    const auto opts = torch::TensorOptions().device(dev).dtype(m_options.dtype);
    const std::int64_t chunk = std::max<std::int64_t>(1, rowChunk);

    try {
        torch::Tensor x = m_weights.embed.index_select(0, ids); // [T, hidden]
        if (c.gemma()) x = x * torch::scalar_tensor(std::sqrt(static_cast<double>(c.hidden)), opts);

        if (cache) {
            if (cache->k.empty()) {
                cache->k.assign(static_cast<std::size_t>(c.layers), torch::Tensor());
                cache->v.assign(static_cast<std::size_t>(c.layers), torch::Tensor());
            }
            for (int l = 0; l < c.layers; ++l) {
                auto& kc = cache->k[static_cast<std::size_t>(l)];
                auto& vc = cache->v[static_cast<std::size_t>(l)];
                const std::int64_t need = start + t;
                if (!kc.defined() || kc.size(1) < need) {
                    const std::int64_t cap = kc.defined() ? std::max(need, 2 * kc.size(1)) : need;
                    torch::Tensor nk = torch::empty({hkv, cap, d}, opts), nv = torch::empty({hkv, cap, d}, opts);
                    if (kc.defined() && start > 0) {
                        nk.narrow(1, 0, start).copy_(kc.narrow(1, 0, start));
                        nv.narrow(1, 0, start).copy_(vc.narrow(1, 0, start));
                    }
                    kc = nk;
                    vc = nv;
                }
            }
        }

        torch::Tensor rows; // [R] int64 on device: rows whose logits are wanted
        if (!logitRows.empty())
            rows = torch::tensor(logitRows, torch::TensorOptions().dtype(torch::kInt64)).to(dev);

        // RoPE tables for this call's positions, built by the first layer of each kind and shared
        // by the rest (element for element what a chunk's own table would hold).
        torch::Tensor ropeCos[2], ropeSin[2]; // [0] global layers, [1] sliding-window layers

        for (int l = 0; l < c.layers; ++l) {
            const LayerWeights& lw = m_weights.layers[static_cast<std::size_t>(l)];
            const bool local = c.layerIsSliding[static_cast<std::size_t>(l)];
            const int ropeKind = local ? 1 : 0;
            if (!ropeCos[ropeKind].defined()) ropeTables(local, start, t, ropeCos[ropeKind], ropeSin[ropeKind]);
            torch::Tensor q = torch::empty({h, t, d}, opts); // [H, T, D] rotated queries
            torch::Tensor kNew, vNew;                        // [Hkv, T, D] this call's keys/values
            if (cache) {
                kNew = cache->k[static_cast<std::size_t>(l)].narrow(1, start, t);
                vNew = cache->v[static_cast<std::size_t>(l)].narrow(1, start, t);
            } else {
                kNew = torch::empty({hkv, t, d}, opts);
                vNew = torch::empty({hkv, t, d}, opts);
            }
            for (std::int64_t c0 = 0; c0 < t; c0 += chunk) {
                const std::int64_t n = std::min(chunk, t - c0);
                torch::Tensor hn = norm(x.narrow(0, c0, n), lw.inputNorm);
                torch::Tensor qkv = linear(hn, lw.qkv, lw.qkvBias); // [n, (H + 2 Hkv) D]
                torch::Tensor qc = qkv.narrow(1, 0, qd).reshape({n, h, d});
                torch::Tensor kc = qkv.narrow(1, qd, kvd).reshape({n, hkv, d});
                torch::Tensor vc = qkv.narrow(1, qd + kvd, kvd).reshape({n, hkv, d});
                if (c.gemma()) {
                    qc = norm(qc, lw.qNorm);
                    kc = norm(kc, lw.kNorm);
                }
                const torch::Tensor cosT = ropeCos[ropeKind].narrow(0, c0, n);
                const torch::Tensor sinT = ropeSin[ropeKind].narrow(0, c0, n);
                q.narrow(1, c0, n).copy_(rope(qc, cosT, sinT).transpose(0, 1));
                kNew.narrow(1, c0, n).copy_(rope(kc, cosT, sinT).transpose(0, 1));
                vNew.narrow(1, c0, n).copy_(vc.transpose(0, 1));
            }
            torch::Tensor kAll = cache ? cache->k[static_cast<std::size_t>(l)].narrow(1, 0, start + t) : kNew;
            torch::Tensor vAll = cache ? cache->v[static_cast<std::size_t>(l)].narrow(1, 0, start + t) : vNew;
            // The last layer's attention is used only at the logit rows: a backend whose rows do
            // not depend on each other (exact attention) computes rows [first, t) alone there.
            std::int64_t first = 0;
            if (l == c.layers - 1 && !backend.needsEveryRow())
                first = logitRows.empty() ? t : *std::min_element(logitRows.begin(), logitRows.end());
            torch::Tensor attn; // [H, t - first, D]
            if (first < t) {
                const AttentionCall call{l, start + first, local ? c.slidingWindow : 0, c.attentionScale()};
                attn = backend.attend(call, first > 0 ? q.narrow(1, first, t - first) : q, kAll, vAll);
                if (attn.dim() != 3 || attn.size(0) != h || attn.size(1) != t - first || attn.size(2) != d)
                    throw BackendError("attention backend returned a tensor of the wrong shape for layer " + std::to_string(l));
            }
            q = torch::Tensor();

            auto block = [&](torch::Tensor xr, const torch::Tensor& a /*[n, H*D]*/) {
                torch::Tensor o = linear(a, lw.o, lw.oBias); // [n, hidden]
                if (c.gemma()) o = norm(o, lw.postAttnNorm);
                xr.add_(o);
                if (c.gemma()) {
                    xr.add_(norm(mlp(lw, norm(xr, lw.preFfnNorm)), lw.postFfnNorm));
                } else {
                    xr.add_(mlp(lw, norm(xr, lw.postAttnNorm)));
                }
            };
            if (l == c.layers - 1) {
                // Only the rows whose logits are wanted need the last layer's MLP.
                if (logitRows.empty()) {
                    x = torch::Tensor();
                } else {
                    torch::Tensor a =
                        attn.index_select(1, first > 0 ? rows - first : rows).transpose(0, 1).reshape({rows.size(0), qd});
                    torch::Tensor xr = x.index_select(0, rows);
                    block(xr, a);
                    x = xr; // [R, hidden]
                }
            } else {
                for (std::int64_t c0 = 0; c0 < t; c0 += chunk) {
                    const std::int64_t n = std::min(chunk, t - c0);
                    block(x.narrow(0, c0, n), attn.narrow(1, c0, n).transpose(0, 1).reshape({n, qd}));
                }
            }
        }
        if (cache) cache->length = start + t;

        const std::int64_t r = static_cast<std::int64_t>(logitRows.size());
        torch::Tensor logits = torch::empty({r, c.vocab}, torch::TensorOptions().device(dev).dtype(torch::kFloat32));
        const std::int64_t logitChunk = std::max<std::int64_t>(1, std::min<std::int64_t>(chunk, 1024));
        for (std::int64_t c0 = 0; c0 < r; c0 += logitChunk) {
            const std::int64_t n = std::min(logitChunk, r - c0);
            torch::Tensor lg = torch::linear(norm(x.narrow(0, c0, n), m_weights.finalNorm), m_weights.lmHead).to(torch::kFloat32);
            if (c.finalLogitSoftcap > 0) lg = torch::tanh(lg / c.finalLogitSoftcap) * c.finalLogitSoftcap;
            logits.narrow(0, c0, n).copy_(lg);
        }
        return logits;
    } catch (const c10::Error& e) {
        throw BackendError(std::string("forward pass failed: ") + e.what_without_backtrace());
    }
}

std::vector<std::int64_t> Transformer::generate(const std::vector<std::int64_t>& prompt, int maxNewTokens,
                                                AttentionBackend& backend, bool stopAtEos) const
{
    if (prompt.empty()) throw ArgumentError("generate: the prompt has no tokens");
    if (maxNewTokens < 0) throw ArgumentError("generate: max new tokens must not be negative");
    std::vector<std::int64_t> out;
    if (maxNewTokens == 0) return out;
    torch::NoGradGuard noGrad;
    KvCache cache;
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    torch::Tensor logits = forward(torch::tensor(prompt, i64), {static_cast<std::int64_t>(prompt.size()) - 1}, backend, &cache);
    for (;;) {
        const std::int64_t next = logits[0].argmax().item<std::int64_t>();
        out.push_back(next);
        if (stopAtEos && std::find(m_config.eosIds.begin(), m_config.eosIds.end(), next) != m_config.eosIds.end()) break;
        if (static_cast<int>(out.size()) >= maxNewTokens) break;
        logits = forward(torch::tensor(std::vector<std::int64_t>{next}, i64), {0}, backend, &cache);
    }
    return out;
}

} // namespace sparsetrace::gpu
