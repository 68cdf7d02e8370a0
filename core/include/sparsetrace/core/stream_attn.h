// Stream-Attn CPU reference (spec sections 2, 3 and 5): hierarchical top-k mask estimation,
// block-sparse attention over exactly the kept keys, dense-layer recording, and fidelity
// (captured dense mass, oracle blocks). Written to be read: it IS the specification that the
// CUDA kernels (gpu/kernels/stream_attn*.cu) are tested against. O(T) memory, never T x T.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <cstdint>
#include <span>
#include <vector>

namespace sparsetrace::core {

// One attention call of one layer, as the model's attention sees it.
//
// Positions: key t is at position t (0 <= t < keys). Query i is at position queryOffset + i and
// attends causally to keys t <= queryOffset + i (and, on a sliding-window layer, only to
// t > position - slidingWindow). A prefill has queryOffset 0 and queries == keys; a decode step
// has one query at queryOffset = keys - 1 (its own key already appended).
//
// Rows: the queries are cut into rows of bq consecutive queries starting at query 0, so row r
// holds queries [r*bq, min(r*bq + bq, queries)). For a prefill these are the spec's query
// blocks; a decode step (one query) is a row of one query, as spec section 3 records generated
// tokens. R = ceil(queries / bq).
//
// Scale (Decision): inputs are NOT pre-scaled; the logits are `scale * q.k` with the model's
// own scale (1/sqrt(D), or query_pre_attn_scalar^-0.5 for Gemma 3). The mask search ranks
// raw dot products q.k: scale > 0 does not change their order.
struct AttentionInputs {
    int heads = 0;             // H query heads
    int kvHeads = 0;           // Hkv key/value heads (H % Hkv == 0; head h reads h / (H/Hkv))
    std::int64_t queries = 0;  // Tq
    std::int64_t keys = 0;     // Tk
    int headDim = 0;           // D
    std::span<const float> q;  // [H, Tq, D] float32, rotated (after bias, QK-norm, RoPE)
    std::span<const float> k;  // [Hkv, Tk, D] float32, rotated
    std::span<const float> v;  // [Hkv, Tk, D] float32
    double scale = 1.0;        // logit scale (> 0)
    std::int64_t queryOffset = 0; // position of query 0; queryOffset + queries <= keys
    int slidingWindow = 0;     // tokens a sliding-window layer sees; 0 = global layer

    std::int64_t rows(const StreamParams& p) const { return (queries + p.bq - 1) / p.bq; }
    // Throws ArgumentError naming the inconsistent field (sizes, GQA ratio, offsets, scale).
    void validate(const StreamParams& p) const;
};

// Key-block geometry of one row (spec section 2), in key-block indices. All intervals are
// half-open [first, end). Sinks and the local window may overlap; the search range never
// overlaps either.
struct RowPlan {
    std::int64_t firstQuery = 0; // position of the row's first query
    std::int64_t lastQuery = 0;  // position of the row's last query
    std::int64_t queryCount = 0; // queries in the row
    int visibleFirst = 0;  // first block any query of the row can see (0 on a global layer)
    int lastBlock = 0;     // floor(lastQuery / bk): the last block the row can see
    int sinkFirst = 0, sinkEnd = 0;     // sinks: [0, S/bk) cut to [visibleFirst, lastBlock]
    int windowFirst = 0, windowEnd = 0; // window: [floor(max(0, last-W+1)/bk), lastBlock] cut to visible
    int rangeFirst = 0, rangeEnd = 0;   // search range: [max(S/bk, visibleFirst), windowFirst)
};
RowPlan planRow(const AttentionInputs& in, const StreamParams& p, std::int64_t row);

// Positions of the queries that score a block's representative (spec: j = first + sq-1 + u*sq).
// Decision: when the stride selects no query of a short row (a decode step with sq > 1, or a
// last partial block), the row's last query scores alone.
std::vector<std::int64_t> scoringQueries(const RowPlan& plan, const StreamParams& p);

// The channel-wise envelope of the keys of any range of key blocks, for the `bound` score rule
// (spec section 2): a sparse table over the key blocks of one KV head. Level l, entry i holds the
// per-channel min and max of the keys of blocks [i, i + 2^l); a range [first, first + count) is
// the union of two overlapping power-of-two ranges, so any range costs O(D). Built once per
// attention call and KV head from all Tk keys (the last block may be partial), and shared by the
// query heads of that KV head. Memory O(Tk/bk * log2(Tk/bk) * D).
class BlockEnvelopeTable {
public:
    BlockEnvelopeTable() = default;
    BlockEnvelopeTable(const AttentionInputs& in, int kvHead, int bk);

    int blocks() const { return m_blocks; }
    int levels() const { return m_levels; }
    // lo and hi ([D] each) of the keys of blocks [first, first + count), 1 <= count.
    void envelope(int first, int count, std::span<double> lo, std::span<double> hi) const;
    // The bound of one query row qj ([D] float32) over blocks [first, first + count):
    // sum_d max(q_d * lo_d, q_d * hi_d), an upper bound of qj . k_t for every key t there.
    double bound(const float* qj, int first, int count) const;

private:
    int m_blocks = 0, m_levels = 0, m_dim = 0;
    std::vector<float> m_lo, m_hi; // [levels, blocks, D] float32 (entry i of level l valid for i + 2^l <= blocks)
};

// Counters of one search, for tests and benchmarks.
struct SearchStats {
    std::int64_t childScores = 0; // children scored (a one-block node passing a round unchanged is not rescored)
    std::int64_t rounds = 0;      // splitting rounds
};

// The hierarchical top-k search of one (head, row): the searched blocks, ascending (at most K).
// `envelopes` is the head's KV table, needed by ScoreRule::Bound (built on the fly when null).
std::vector<int> searchBlocks(const AttentionInputs& in, const StreamParams& p, int head, const RowPlan& plan,
                              const BlockEnvelopeTable* envelopes = nullptr, SearchStats* stats = nullptr);

// Kept blocks of one (head, row): sorted(searched U sinks U window), no block twice (<= K').
std::vector<int> keptBlocks(const AttentionInputs& in, const StreamParams& p, int head, const RowPlan& plan,
                            const BlockEnvelopeTable* envelopes = nullptr, SearchStats* stats = nullptr);

// What one attention call produces. index and mass have the layout of LayerRecord for the
// call's own rows: [H, R, K'], ascending block indices padded with -1, mass 0 in padding.
struct StreamAttnResult {
    std::int64_t rows = 0;          // R
    int kPrime = 0;                 // K'
    std::vector<float> output;      // [H, Tq, D] float32
    std::vector<std::int32_t> index; // [H, R, K'] int32
    std::vector<float> mass;        // [H, R, K'] float32: per-block mass averaged over the row's queries
};

// A call's result before any row is written: index -1, mass 0, output 0, shaped for (in, p).
StreamAttnResult emptyResult(const AttentionInputs& in, const StreamParams& p);

// Mask estimation only: index [H, R, K'] int32. With the bound rule one BlockEnvelopeTable is
// built per KV head and shared by its query heads.
std::vector<std::int32_t> estimateMask(const AttentionInputs& in, const StreamParams& p, SearchStats* stats = nullptr);

// Block-sparse attention with a given mask (index [H, R, K'] int32): each query attends to the
// keys t <= its position (and inside its sliding window) of its row's kept blocks, with one
// softmax over them. Fills output and mass; index is copied from `index`.
StreamAttnResult attendWithMask(const AttentionInputs& in, const StreamParams& p, std::span<const std::int32_t> index);

// A sparse layer: estimateMask then attendWithMask. Rows of `mass` sum to 1. The reference's
// name is its own: the CPU backend is gpu::cpu::streamAttention (Eigen), the torch op over the
// CUDA kernels and both CPU backends gpu::streamAttention.
StreamAttnResult streamAttentionReference(const AttentionInputs& in, const StreamParams& p);

// A dense layer (params.denseLayers): exact causal attention; the record keeps the K' blocks of
// highest dense mass (ties: lower block index), so its rows sum to the mass those blocks capture.
StreamAttnResult denseAttention(const AttentionInputs& in, const StreamParams& p);

// Dense block masses of one (head, row): [lastBlock - visibleFirst + 1] float64, entry i for
// block visibleFirst + i, averaged over the row's queries. Streams the keys: O(T) memory.
std::vector<double> denseBlockMass(const AttentionInputs& in, int head, const RowPlan& plan, int bk);

// The `count` blocks of highest mass among `massOfBlocks` (block visibleFirst + i), ties to the
// lower block index, returned ascending.
std::vector<int> topBlocks(std::span<const double> massOfBlocks, int visibleFirst, int count);

// Fidelity of a mask (spec section 5), one dense pass in O(T) memory.
// Decision: the oracle of a row keeps as many blocks as the mask row keeps (its non-padding
// entries), so the captured-mass ratio compares equal budgets and is at most 1.
struct FidelityResult {
    std::vector<float> captured;           // [H, R] float32: dense mass inside the mask's blocks
    std::vector<std::int32_t> oracleIndex; // [H, R, K'] int32: ascending, -1 padded
    std::vector<float> oracleMass;         // [H, R, K'] float32: dense mass of the oracle blocks
};
FidelityResult measureFidelity(const AttentionInputs& in, const StreamParams& p, std::span<const std::int32_t> index);

// Appends one call's rows (index/mass [H, Rcall, K'], optional captured [H, Rcall] and
// oracleIndex [H, Rcall, K']) after the `rowsBefore` rows already in `layer` ([H, rowsBefore, K']).
// This is how a tracer fills a LayerRecord from the prefill and then each decode step.
void appendRows(LayerRecord& layer, int heads, std::int64_t rowsBefore, const StreamAttnResult& call,
                const FidelityResult* fidelity = nullptr);

} // namespace sparsetrace::core
