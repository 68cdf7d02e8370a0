// Trace model: parameters, JSON forms of the metadata, shape checks and the sparsity and
// storage definitions of spec section 3.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/trace.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/trace_request.h"

#include "format/json_checked.h"

#include <algorithm>

namespace sparsetrace::core {

using nlohmann::json;

std::string_view scoreRuleName(ScoreRule r)
{
    switch (r) {
    case ScoreRule::Centre: return "centre";
    case ScoreRule::First: return "first";
    case ScoreRule::Bound: return "bound";
    }
    return "centre";
}

ScoreRule scoreRuleFromName(std::string_view name)
{
    if (name == "centre" || name == "center") return ScoreRule::Centre;
    if (name == "first") return ScoreRule::First;
    if (name == "bound") return ScoreRule::Bound;
    throw ArgumentError("score rule must be \"centre\", \"first\" or \"bound\", not \"" + std::string(name) + "\"");
}

std::string_view cpuBackendName(CpuBackend b)
{
    return b == CpuBackend::Reference ? "reference" : "eigen";
}

CpuBackend cpuBackendFromName(std::string_view name)
{
    if (name == "eigen") return CpuBackend::Eigen;
    if (name == "reference") return CpuBackend::Reference;
    throw ArgumentError("the CPU backend must be \"eigen\" or \"reference\", not \"" + std::string(name) + "\"");
}

int StreamParams::kPrime() const
{
    int windowBlocks = (window + bk - 1) / bk;
    return k + sinks / bk + windowBlocks + 1;
}

void StreamParams::validate() const
{
    auto require = [](bool ok, const std::string& what) {
        if (!ok) throw ArgumentError("Stream-Attn parameters: " + what);
    };
    require(bq >= 1 && bq <= 4096, "bq must be in [1, 4096], got " + std::to_string(bq));
    require(bk >= 1 && bk <= 4096, "bk must be in [1, 4096], got " + std::to_string(bk));
    require(k >= 1 && k <= 65536, "K must be in [1, 65536], got " + std::to_string(k));
    require(sinks >= 0 && sinks % bk == 0, "sinks must be a non-negative multiple of bk, got " + std::to_string(sinks));
    // The upper bounds keep kPrime() (K + sink blocks + window blocks + 1) far inside int.
    require(sinks <= kMaxTokens, "sinks must be at most " + std::to_string(kMaxTokens) + " tokens, got " + std::to_string(sinks));
    require(window >= 1 && window <= kMaxTokens,
            "window must be in [1, " + std::to_string(kMaxTokens) + "] tokens, got " + std::to_string(window));
    require(queryStride >= 1 && queryStride <= bq, "query stride must be in [1, bq], got " + std::to_string(queryStride));
    for (int l : denseLayers) require(l >= 0, "dense layer indices must be non-negative");
}

json StreamParams::toJson() const
{
    return {{"bq", bq},
            {"bk", bk},
            {"k", k},
            {"sinks", sinks},
            {"window", window},
            {"query_stride", queryStride},
            {"score", std::string(scoreRuleName(score))},
            {"dense_layers", denseLayers},
            {"k_prime", kPrime()}};
}

namespace {
template <class T> T field(const json& j, const char* key, const char* what)
{
    if (!j.is_object() || !j.contains(key)) throw FormatError(std::string(what) + ": missing \"" + key + "\"");
    auto v = jsonAs<T>(j.at(key));
    if (!v) throw FormatError(std::string(what) + ": \"" + key + "\" has the wrong type or is out of range");
    return std::move(*v);
}
template <class T> T fieldOr(const json& j, const char* key, T fallback, const char* what)
{
    if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
    return field<T>(j, key, what);
}
} // namespace

StreamParams StreamParams::fromJson(const json& j)
{
    StreamParams p;
    p.bq = field<int>(j, "bq", "params");
    p.bk = field<int>(j, "bk", "params");
    p.k = field<int>(j, "k", "params");
    p.sinks = field<int>(j, "sinks", "params");
    p.window = field<int>(j, "window", "params");
    p.queryStride = fieldOr<int>(j, "query_stride", 1, "params");
    try {
        // Format version 2 writes "score"; version 1 wrote "representative" (centre or first),
        // which is the same rule under its old name.
        const char* ruleKey = j.is_object() && j.contains("score") ? "score" : "representative";
        p.score = scoreRuleFromName(fieldOr<std::string>(j, ruleKey, "centre", "params"));
        p.denseLayers = fieldOr<std::vector<int>>(j, "dense_layers", {}, "params");
        p.validate();
    } catch (const ArgumentError& e) {
        throw FormatError(e.what());
    }
    return p;
}

json ModelShape::toJson() const
{
    return {{"architecture", architecture}, {"layers", layers}, {"heads", heads},
            {"kv_heads", kvHeads},           {"head_dim", headDim}, {"sliding_window", slidingWindow}};
}

ModelShape ModelShape::fromJson(const json& j)
{
    ModelShape m;
    m.architecture = fieldOr<std::string>(j, "architecture", "", "model");
    m.layers = field<int>(j, "layers", "model");
    m.heads = field<int>(j, "heads", "model");
    m.kvHeads = fieldOr<int>(j, "kv_heads", m.heads, "model");
    m.headDim = fieldOr<int>(j, "head_dim", 0, "model");
    m.slidingWindow = fieldOr<std::vector<int>>(j, "sliding_window", {}, "model");
    if (m.layers < 1 || m.layers > 4096) throw FormatError("model: layers out of range");
    if (m.heads < 1 || m.heads > 4096) throw FormatError("model: heads out of range");
    if (!m.slidingWindow.empty() && static_cast<int>(m.slidingWindow.size()) != m.layers)
        throw FormatError("model: sliding_window must list one value per layer");
    return m;
}

json Provenance::toJson() const
{
    return {{"tool_version", toolVersion}, {"created", created},           {"model_name", modelName},
            {"architecture", architecture}, {"config_sha256", configSha256}, {"tokenizer_sha256", tokenizerSha256},
            {"dtype", dtype},               {"device", device}};
}

Provenance Provenance::fromJson(const json& j)
{
    Provenance p;
    p.toolVersion = fieldOr<std::string>(j, "tool_version", "", "provenance");
    p.created = fieldOr<std::string>(j, "created", "", "provenance");
    p.modelName = fieldOr<std::string>(j, "model_name", "", "provenance");
    p.architecture = fieldOr<std::string>(j, "architecture", "", "provenance");
    p.configSha256 = fieldOr<std::string>(j, "config_sha256", "", "provenance");
    p.tokenizerSha256 = fieldOr<std::string>(j, "tokenizer_sha256", "", "provenance");
    p.dtype = fieldOr<std::string>(j, "dtype", "", "provenance");
    p.device = fieldOr<std::string>(j, "device", "", "provenance");
    return p;
}

json BehaviourCheck::toJson() const
{
    return {{"check_tokens", checkTokens}, {"dense_tokens", denseTokens}, {"sparse_tokens", sparseTokens},
            {"kl_first", klFirst},         {"top1_match", top1Match},     {"preserved", preserved}};
}

BehaviourCheck BehaviourCheck::fromJson(const json& j)
{
    BehaviourCheck b;
    b.checkTokens = field<int>(j, "check_tokens", "behaviour");
    b.denseTokens = fieldOr<std::vector<std::int32_t>>(j, "dense_tokens", {}, "behaviour");
    b.sparseTokens = fieldOr<std::vector<std::int32_t>>(j, "sparse_tokens", {}, "behaviour");
    b.klFirst = fieldOr<double>(j, "kl_first", 0.0, "behaviour");
    b.top1Match = fieldOr<bool>(j, "top1_match", false, "behaviour");
    b.preserved = fieldOr<bool>(j, "preserved", false, "behaviour");
    return b;
}

std::int64_t TraceInfo::queryBlocks() const { return (promptTokens + params.bq - 1) / params.bq; }

std::array<std::int64_t, 2> TraceInfo::rowQueries(std::int64_t r) const
{
    std::int64_t qb = queryBlocks();
    if (r < qb) return {r * params.bq, std::min<std::int64_t>(r * params.bq + params.bq, promptTokens) - 1};
    std::int64_t pos = promptTokens + (r - qb);
    return {pos, pos};
}

void validateLayer(const TraceInfo& info, int l, const LayerRecord& layer)
{
    const std::size_t cells = static_cast<std::size_t>(info.model.heads) * static_cast<std::size_t>(info.rows());
    const std::size_t n = cells * static_cast<std::size_t>(info.kPrime());
    auto bad = [&](const std::string& what) { return ArgumentError("layer " + std::to_string(l) + ": " + what); };
    if (layer.index.size() != n) throw bad("index holds " + std::to_string(layer.index.size()) + " values, expected " + std::to_string(n));
    if (layer.mass.size() != n) throw bad("mass holds " + std::to_string(layer.mass.size()) + " values, expected " + std::to_string(n));
    if (!layer.captured.empty() && layer.captured.size() != cells) throw bad("captured has the wrong size");
    if (!layer.oracleIndex.empty() && layer.oracleIndex.size() != n) throw bad("oracle index has the wrong size");
}

OwnedTrace::OwnedTrace(TraceInfo info, std::vector<LayerRecord> layers) : m_layers(std::move(layers))
{
    m_info = std::move(info);
    m_info.params.validate();
    if (static_cast<int>(m_layers.size()) != m_info.model.layers)
        throw ArgumentError("trace: " + std::to_string(m_layers.size()) + " layers given, the model has " +
                            std::to_string(m_info.model.layers));
    for (int l = 0; l < static_cast<int>(m_layers.size()); ++l) validateLayer(m_info, l, m_layers[l]);
}

LayerView OwnedTrace::layer(int l) const
{
    if (l < 0 || l >= static_cast<int>(m_layers.size())) throw ArgumentError("layer " + std::to_string(l) + " out of range");
    const LayerRecord& r = m_layers[l];
    LayerView v;
    v.heads = m_info.model.heads;
    v.rows = m_info.rows();
    v.kPrime = m_info.kPrime();
    v.dense = r.dense;
    v.index = r.index;
    v.mass = r.mass;
    v.captured = r.captured;
    v.oracleIndex = r.oracleIndex;
    return v;
}

namespace {
// Number of (query, key) pairs with qa <= q <= qb, s <= t < e, t <= q and t > q - window
// (window 0 = unlimited).
double countPairs(std::int64_t s, std::int64_t e, std::int64_t qa, std::int64_t qb, std::int64_t window)
{
    if (e <= s || qb < qa) return 0;
    bool belowDiagonal = e - 1 <= qa;
    bool insideWindow = window <= 0 || s >= qb - window + 1;
    if (belowDiagonal && insideWindow) return static_cast<double>(e - s) * static_cast<double>(qb - qa + 1);
    if (window <= 0) {
        // Closed form (a whole trace counts every row's causal pairs: a loop over queries was
        // most of the head statistics' time at 128k): query q sees min(e - 1, q) - s + 1 keys.
        const auto series = [](std::int64_t a, std::int64_t b) { // sum of (q - s + 1) for q in [a, b]
            return b < a ? 0.0 : static_cast<double>(b - a + 1) * static_cast<double>(a + b) / 2.0;
        };
        const std::int64_t a = std::max(qa, s), rampEnd = std::min(qb, e - 1); // q in [a, rampEnd]: q - s + 1
        double n = rampEnd >= a ? series(a, rampEnd) - static_cast<double>(rampEnd - a + 1) * static_cast<double>(s - 1) : 0.0;
        const std::int64_t flatFirst = std::max(qa, e); // q >= e: all e - s keys
        if (qb >= flatFirst) n += static_cast<double>(qb - flatFirst + 1) * static_cast<double>(e - s);
        return n;
    }
    double n = 0;
    for (std::int64_t q = qa; q <= qb; ++q) {
        std::int64_t lo = window > 0 ? std::max(s, q - window + 1) : s;
        std::int64_t hi = std::min(e - 1, q);
        if (hi >= lo) n += static_cast<double>(hi - lo + 1);
    }
    return n;
}
} // namespace

SparsitySummary headSparsity(const TraceInfo& info, int l, const LayerView& layer, int h)
{
    const int window = info.model.slidingWindow.empty() ? 0 : info.model.slidingWindow.at(static_cast<std::size_t>(l));
    SparsitySummary s;
    const std::int64_t T = info.promptTokens;
    const int bk = info.params.bk;
    for (std::int64_t r = 0; r < info.queryBlocks(); ++r) {
        auto [qa, qb] = info.rowQueries(r);
        s.causalPairs += countPairs(0, T, qa, qb, window);
        for (std::int32_t blk : layer.indexRow(h, r)) {
            if (blk < 0) continue;
            std::int64_t ks = static_cast<std::int64_t>(blk) * bk;
            s.keptPairs += countPairs(ks, std::min<std::int64_t>(ks + bk, T), qa, qb, window);
        }
    }
    return s;
}

SparsitySummary traceSparsity(const Trace& trace)
{
    const TraceInfo& info = trace.info();
    SparsitySummary total;
    for (int l = 0; l < trace.layers(); ++l) {
        LayerView v = trace.layer(l);
        if (v.dense) continue;
        for (int h = 0; h < trace.heads(); ++h) {
            SparsitySummary s = headSparsity(info, l, v, h);
            total.keptPairs += s.keptPairs;
            total.causalPairs += s.causalPairs;
        }
    }
    return total;
}

double denseCausalBytes(const TraceInfo& info)
{
    double T = static_cast<double>(info.promptTokens);
    return static_cast<double>(info.model.layers) * info.model.heads * T * (T + 1) / 2.0 * 4.0;
}

} // namespace sparsetrace::core
