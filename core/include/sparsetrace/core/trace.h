// The trace: what one sparse-tracing run produced (spec sections 2-5). In memory it is a
// TraceInfo (provenance, parameters, text, tokens, behaviour check, statistics) plus per-layer
// masks; on disk it is a .sptrace file (docs/trace-format.md, trace_file.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sparsetrace::core {

// How the mask search scores a child node (spec section 2, "Score rules"): centre and first
// score one representative block by exact dot products (HiP v1.1 and its numba reference);
// bound scores the channel-wise envelope of all the child's keys (never below any key inside).
enum class ScoreRule { Centre, First, Bound };
std::string_view scoreRuleName(ScoreRule r); // "centre" | "first" | "bound"
ScoreRule scoreRuleFromName(std::string_view name); // throws ArgumentError naming the three rules

// Stream-Attn parameters (spec section 2). Sizes are in tokens except k (key blocks).
struct StreamParams {
    int bq = 32;          // query block size
    int bk = 32;          // key block size
    int k = 16;           // searched key blocks kept per query block
    int sinks = 32;       // sink tokens (multiple of bk)
    int window = 64;      // local window tokens
    int queryStride = 1;  // stride of the queries that score a block
    ScoreRule score = ScoreRule::Bound;   // the default since its measurements held (resources/demo-model/README.md)
    std::vector<int> denseLayers; // layers run densely (record their top-K' blocks)

    // Ceiling of sinks and window (16M tokens, past any context): keeps kPrime() inside int.
    static constexpr int kMaxTokens = 1 << 24;
    // Fixed width of every index row: K + S/bk + ceil(W/bk) + 1.
    int kPrime() const;
    void validate() const; // throws ArgumentError with the offending field
    nlohmann::json toJson() const;
    static StreamParams fromJson(const nlohmann::json& j); // throws FormatError
};

struct ModelShape {
    std::string architecture; // e.g. "Qwen2ForCausalLM"
    int layers = 0;
    int heads = 0;
    int kvHeads = 0;
    int headDim = 0;
    std::vector<int> slidingWindow; // [L] tokens a local layer sees; 0 = global layer (may be empty)
    nlohmann::json toJson() const;
    static ModelShape fromJson(const nlohmann::json& j);
};

struct Provenance {
    std::string toolVersion;
    std::string created;         // ISO 8601 UTC
    std::string modelName;       // model folder name
    std::string architecture;
    std::string configSha256;
    std::string tokenizerSha256;
    std::string dtype;           // "f32", "bf16", ...
    std::string device;          // "cpu", "cuda:0 (NVIDIA H100 ...)"
    nlohmann::json toJson() const;
    static Provenance fromJson(const nlohmann::json& j);
};

// Behaviour check (spec section 4).
struct BehaviourCheck {
    int checkTokens = 0;
    std::vector<std::int32_t> denseTokens;
    std::vector<std::int32_t> sparseTokens;
    double klFirst = 0.0;  // KL(dense || sparse) of the first generated position
    bool top1Match = false;
    bool preserved = false;
    nlohmann::json toJson() const;
    static BehaviourCheck fromJson(const nlohmann::json& j);
};

struct KProbe {
    int k = 0;
    bool preserved = false;
    double sparsity = 0.0;
};

// Tokens of the prompt followed by the generated tokens.
struct TokenTable {
    std::vector<std::int32_t> ids;                   // [T_total] int32
    std::vector<std::array<std::int32_t, 2>> offsets; // [T_total, 2] int32: code points in text
    std::vector<std::string> strings;                // [T_total] token text (as the vocab has it)
    std::size_t size() const { return ids.size(); }
};

struct TraceInfo {
    // Version 2: params.score ("centre" | "first" | "bound") replaces params.representative.
    // Readers accept versions kOldestReadableVersion..kFormatVersion; writers write kFormatVersion.
    static constexpr int kFormatVersion = 2;
    static constexpr int kOldestReadableVersion = 1;
    Provenance provenance;
    ModelShape model;
    StreamParams params;
    std::string text;             // prompt text followed by the generated text (UTF-8)
    TokenTable tokens;
    std::int64_t promptTokens = 0;    // T: tokens of the prompt
    std::int64_t generatedTokens = 0; // G: generated tokens recorded as extra rows
    std::optional<BehaviourCheck> behaviour;
    std::vector<KProbe> kSearch;
    // Per-head statistics, each [L, H] float32 row-major: "sparsity", "entropy", "kurtosis",
    // "captured_mass", ...
    std::map<std::string, std::vector<float>> headStats;
    nlohmann::json annotations = nlohmann::json::object(); // e.g. {"needle": {...}}

    std::int64_t queryBlocks() const; // Qb = ceil(T / bq)
    std::int64_t rows() const { return queryBlocks() + generatedTokens; } // R = Qb + G
    int kPrime() const { return params.kPrime(); }
    // Query positions [first, last] of row r (a block, or one generated token).
    std::array<std::int64_t, 2> rowQueries(std::int64_t r) const;
};

// A read-only view of one layer's masks. Shapes: index [H, R, K'] int32 (ascending, -1 padded),
// mass [H, R, K'] float32; optional captured [H, R] float32 and oracleIndex [H, R, K'] int32.
struct LayerView {
    int heads = 0;
    std::int64_t rows = 0;
    int kPrime = 0;
    bool dense = false;
    std::span<const std::int32_t> index;
    std::span<const float> mass;
    std::span<const float> captured;     // empty when the trace has no fidelity data
    std::span<const std::int32_t> oracleIndex; // empty when absent

    std::span<const std::int32_t> indexRow(int h, std::int64_t r) const
    {
        return index.subspan(static_cast<std::size_t>((h * rows + r) * kPrime), static_cast<std::size_t>(kPrime));
    }
    std::span<const float> massRow(int h, std::int64_t r) const
    {
        return mass.subspan(static_cast<std::size_t>((h * rows + r) * kPrime), static_cast<std::size_t>(kPrime));
    }
};

// Owned storage of one layer (what the tracer fills in and the writer serialises).
struct LayerRecord {
    bool dense = false;
    std::vector<std::int32_t> index;       // [H, R, K'] int32
    std::vector<float> mass;               // [H, R, K'] float32
    std::vector<float> captured;           // [H, R] float32, optional
    std::vector<std::int32_t> oracleIndex; // [H, R, K'] int32, optional
};

// A trace: metadata plus layers. Implementations: OwnedTrace (in memory) and TraceFile (mapped).
class Trace {
public:
    virtual ~Trace() = default;
    const TraceInfo& info() const { return m_info; }
    virtual LayerView layer(int l) const = 0;
    int layers() const { return m_info.model.layers; }
    int heads() const { return m_info.model.heads; }

protected:
    TraceInfo m_info;
};

class OwnedTrace final : public Trace {
public:
    OwnedTrace(TraceInfo info, std::vector<LayerRecord> layers); // validates shapes
    LayerView layer(int l) const override;
    TraceInfo& mutableInfo() { return m_info; }
    std::vector<LayerRecord>& mutableLayers() { return m_layers; }

private:
    std::vector<LayerRecord> m_layers;
};

// Checks sizes of a LayerRecord against the info; throws ArgumentError naming the layer.
void validateLayer(const TraceInfo& info, int l, const LayerRecord& layer);

// Spec section 3 definitions.
struct SparsitySummary {
    double keptPairs = 0;    // (query, key) pairs attended to, over prompt rows
    double causalPairs = 0;  // pairs a dense causal layer attends to
    double sparsity() const { return causalPairs > 0 ? 1.0 - keptPairs / causalPairs : 0.0; }
};
// Kept and causal pairs of head h of layer l (view `layer`) over the prompt's query blocks;
// a sliding-window layer counts against the pairs its window lets it see.
SparsitySummary headSparsity(const TraceInfo& info, int l, const LayerView& layer, int h);
// Over all sparse (not dense-flagged) layers and heads.
SparsitySummary traceSparsity(const Trace& trace);
// Dense fp32 causal pattern bytes L*H*T(T+1)/2*4 for the prompt.
double denseCausalBytes(const TraceInfo& info);

} // namespace sparsetrace::core
