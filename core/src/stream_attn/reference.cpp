// Stream-Attn CPU reference: the specification the CUDA kernels are tested against. Clarity
// over speed: double-precision dot products and softmax, one (head, row) at a time, so memory
// stays O(T) (a row's block masses at most), never T x T.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/stream_attn.h"

#include "sparsetrace/core/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>

namespace sparsetrace::core {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void require(bool ok, const std::string& what)
{
    if (!ok) throw ArgumentError("Stream-Attn: " + what);
}

const float* queryRow(const AttentionInputs& in, int h, std::int64_t i)
{
    return in.q.data() + (static_cast<std::int64_t>(h) * in.queries + i) * in.headDim;
}

int kvHeadOf(const AttentionInputs& in, int h) { return h / (in.heads / in.kvHeads); }

const float* keyRow(const AttentionInputs& in, int kvh, std::int64_t t)
{
    return in.k.data() + (static_cast<std::int64_t>(kvh) * in.keys + t) * in.headDim;
}

const float* valueRow(const AttentionInputs& in, int kvh, std::int64_t t)
{
    return in.v.data() + (static_cast<std::int64_t>(kvh) * in.keys + t) * in.headDim;
}

double dot(const float* a, const float* b, int n)
{
    double s = 0;
    for (int d = 0; d < n; ++d) s += static_cast<double>(a[d]) * static_cast<double>(b[d]);
    return s;
}

// Can the query at position j see the key at position t? Causal, and inside the sliding window.
bool visible(const AttentionInputs& in, std::int64_t j, std::int64_t t)
{
    return t <= j && (in.slidingWindow <= 0 || t > j - in.slidingWindow);
}

// Keys [first, end) of key block b.
std::int64_t blockFirstKey(int b, int bk) { return static_cast<std::int64_t>(b) * bk; }
std::int64_t blockEndKey(const AttentionInputs& in, int b, int bk)
{
    return std::min<std::int64_t>(blockFirstKey(b, bk) + bk, in.keys);
}

// score(child) of spec section 2: max of q_j . k_t over the scoring queries j and the keys t of
// the representative block that j can see; -inf when there is no such pair.
double representativeScore(const AttentionInputs& in, const StreamParams& p, int head,
                           const std::vector<std::int64_t>& queries, int block)
{
    const int kvh = kvHeadOf(in, head);
    double best = kNegInf;
    for (std::int64_t j : queries) {
        const float* qj = queryRow(in, head, j - in.queryOffset);
        for (std::int64_t t = blockFirstKey(block, p.bk); t < blockEndKey(in, block, p.bk); ++t)
            if (visible(in, j, t)) best = std::max(best, dot(qj, keyRow(in, kvh, t), in.headDim));
    }
    return best;
}

// A node of the search: the blocks [start, start + length).
struct Node {
    int start = 0;
    int length = 0;
    std::optional<double> score; // set once scored; kept while the node passes rounds unchanged
};

// Attention of every query of one row over the keys of `blocks` (ascending, distinct). Writes
// the row's outputs ([count, D] at `out`, may be null) and returns the mass of each listed block
// averaged over the row's queries. Two passes per query: one online softmax (running max m,
// running sum l, rescaled accumulator) gives the output, then the final m and l give each key's
// probability for the block masses.
std::vector<double> attendRow(const AttentionInputs& in, const StreamParams& p, int head, const RowPlan& plan,
                              std::span<const int> blocks, float* out)
{
    const int kvh = kvHeadOf(in, head);
    const int D = in.headDim;
    std::vector<double> mass(blocks.size(), 0.0);
    std::vector<double> acc(static_cast<std::size_t>(D));
    for (std::int64_t j = plan.firstQuery; j <= plan.lastQuery; ++j) {
        const float* qj = queryRow(in, head, j - in.queryOffset);
        double m = kNegInf, l = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int b : blocks) {
            for (std::int64_t t = blockFirstKey(b, p.bk); t < blockEndKey(in, b, p.bk); ++t) {
                if (!visible(in, j, t)) continue;
                const double s = in.scale * dot(qj, keyRow(in, kvh, t), D);
                if (s > m) {
                    const double rescale = std::exp(m - s); // 0 on the first key (m = -inf)
                    l *= rescale;
                    for (double& a : acc) a *= rescale;
                    m = s;
                }
                const double w = std::exp(s - m);
                l += w;
                const float* vt = valueRow(in, kvh, t);
                for (int d = 0; d < D; ++d) acc[static_cast<std::size_t>(d)] += w * vt[d];
            }
        }
        if (out) {
            float* o = out + (j - plan.firstQuery) * D;
            for (int d = 0; d < D; ++d) o[d] = l > 0 ? static_cast<float>(acc[static_cast<std::size_t>(d)] / l) : 0.0f;
        }
        if (l <= 0) continue; // a mask that shows this query no key: no mass
        for (std::size_t slot = 0; slot < blocks.size(); ++slot) {
            double sum = 0;
            for (std::int64_t t = blockFirstKey(blocks[slot], p.bk); t < blockEndKey(in, blocks[slot], p.bk); ++t)
                if (visible(in, j, t)) sum += std::exp(in.scale * dot(qj, keyRow(in, kvh, t), D) - m) / l;
            mass[slot] += sum;
        }
    }
    for (double& x : mass) x /= static_cast<double>(plan.queryCount);
    return mass;
}

// The valid (non-padding) entries of an index row, checked against what the row can address.
std::vector<int> rowBlocks(std::span<const std::int32_t> row, const AttentionInputs& in, const StreamParams& p)
{
    const std::int64_t blockCount = (in.keys + p.bk - 1) / p.bk;
    std::vector<int> blocks;
    for (std::int32_t b : row) {
        if (b < 0) continue;
        require(b < blockCount, "mask index " + std::to_string(b) + " is past the last key block " +
                                    std::to_string(blockCount - 1));
        require(blocks.empty() || b > blocks.back(), "mask index rows must be ascending without repeats");
        blocks.push_back(b);
    }
    return blocks;
}

void writeRow(std::vector<std::int32_t>& index, std::vector<float>& mass, std::size_t at, std::span<const int> blocks,
              std::span<const double> blockMass)
{
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        index[at + i] = blocks[i];
        mass[at + i] = static_cast<float>(blockMass[i]);
    }
}

} // namespace

void AttentionInputs::validate(const StreamParams& p) const
{
    p.validate();
    require(heads >= 1 && kvHeads >= 1, "heads and kv heads must be positive, got " + std::to_string(heads) + " and " +
                                            std::to_string(kvHeads));
    require(heads % kvHeads == 0, "query heads (" + std::to_string(heads) + ") must be a multiple of kv heads (" +
                                      std::to_string(kvHeads) + ")");
    require(queries >= 1 && keys >= 1 && headDim >= 1, "queries, keys and head dim must be positive");
    require(queryOffset >= 0 && queryOffset + queries <= keys,
            "queries at positions " + std::to_string(queryOffset) + ".." + std::to_string(queryOffset + queries - 1) +
                " need their keys, but only " + std::to_string(keys) + " keys were given");
    require(keys / p.bk < std::numeric_limits<std::int32_t>::max(), "too many key blocks for int32 indices");
    const auto n = [](std::int64_t a, std::int64_t b, std::int64_t c) { return static_cast<std::size_t>(a * b * c); };
    require(q.size() == n(heads, queries, headDim), "q must hold [H, Tq, D] = [" + std::to_string(heads) + ", " +
                                                        std::to_string(queries) + ", " + std::to_string(headDim) + "] floats");
    require(k.size() == n(kvHeads, keys, headDim), "k must hold [Hkv, Tk, D] = [" + std::to_string(kvHeads) + ", " +
                                                       std::to_string(keys) + ", " + std::to_string(headDim) + "] floats");
    require(v.size() == k.size(), "v must have the shape of k");
    require(slidingWindow >= 0, "sliding window must be 0 (global) or positive");
    require(std::isfinite(scale) && scale > 0, "the logit scale must be a positive finite number");
}

RowPlan planRow(const AttentionInputs& in, const StreamParams& p, std::int64_t row)
{
    RowPlan plan;
    plan.firstQuery = in.queryOffset + row * p.bq;
    plan.queryCount = std::min<std::int64_t>(p.bq, in.queries - row * p.bq);
    plan.lastQuery = plan.firstQuery + plan.queryCount - 1;
    const int bk = p.bk;
    const int sinkBlocks = p.sinks / bk;
    plan.visibleFirst = in.slidingWindow > 0
                            ? static_cast<int>(std::max<std::int64_t>(0, plan.firstQuery - in.slidingWindow + 1) / bk)
                            : 0;
    plan.lastBlock = static_cast<int>(plan.lastQuery / bk);
    plan.sinkFirst = plan.visibleFirst;
    plan.sinkEnd = std::max(plan.sinkFirst, std::min(sinkBlocks, plan.lastBlock + 1));
    const int localFirst = static_cast<int>(std::max<std::int64_t>(0, plan.lastQuery - p.window + 1) / bk);
    plan.windowFirst = std::max(localFirst, plan.visibleFirst);
    plan.windowEnd = plan.lastBlock + 1;
    plan.rangeFirst = std::max(sinkBlocks, plan.visibleFirst);
    plan.rangeEnd = std::max(plan.rangeFirst, plan.windowFirst);
    return plan;
}

std::vector<std::int64_t> scoringQueries(const RowPlan& plan, const StreamParams& p)
{
    std::vector<std::int64_t> js;
    for (std::int64_t j = plan.firstQuery + p.queryStride - 1; j <= plan.lastQuery; j += p.queryStride) js.push_back(j);
    if (js.empty()) js.push_back(plan.lastQuery);
    return js;
}

BlockEnvelopeTable::BlockEnvelopeTable(const AttentionInputs& in, int kvHead, int bk)
{
    require(kvHead >= 0 && kvHead < in.kvHeads, "envelope table: KV head out of range");
    require(bk >= 1, "envelope table: bk must be positive");
    m_dim = in.headDim;
    m_blocks = static_cast<int>((in.keys + bk - 1) / bk);
    m_levels = 1;
    while ((std::int64_t{1} << m_levels) <= m_blocks) ++m_levels;
    const auto D = static_cast<std::size_t>(m_dim);
    const auto levelSize = static_cast<std::size_t>(m_blocks) * D;
    m_lo.assign(static_cast<std::size_t>(m_levels) * levelSize, std::numeric_limits<float>::infinity());
    m_hi.assign(m_lo.size(), -std::numeric_limits<float>::infinity());
    // Level 0: each block's own keys.
    for (int b = 0; b < m_blocks; ++b) {
        float* lo = m_lo.data() + static_cast<std::size_t>(b) * D;
        float* hi = m_hi.data() + static_cast<std::size_t>(b) * D;
        for (std::int64_t t = blockFirstKey(b, bk); t < blockEndKey(in, b, bk); ++t) {
            const float* kt = keyRow(in, kvHead, t);
            for (std::size_t d = 0; d < D; ++d) {
                lo[d] = std::min(lo[d], kt[d]);
                hi[d] = std::max(hi[d], kt[d]);
            }
        }
    }
    // Level l from two halves of level l-1.
    for (int l = 1; l < m_levels; ++l) {
        const int half = 1 << (l - 1);
        for (int b = 0; b + (1 << l) <= m_blocks; ++b) {
            const std::size_t at = static_cast<std::size_t>(l) * levelSize + static_cast<std::size_t>(b) * D;
            const std::size_t a = static_cast<std::size_t>(l - 1) * levelSize + static_cast<std::size_t>(b) * D;
            const std::size_t c = a + static_cast<std::size_t>(half) * D;
            for (std::size_t d = 0; d < D; ++d) {
                m_lo[at + d] = std::min(m_lo[a + d], m_lo[c + d]);
                m_hi[at + d] = std::max(m_hi[a + d], m_hi[c + d]);
            }
        }
    }
}

void BlockEnvelopeTable::envelope(int first, int count, std::span<double> lo, std::span<double> hi) const
{
    require(count >= 1 && first >= 0 && first + count <= m_blocks, "envelope table: block range out of bounds");
    require(lo.size() == static_cast<std::size_t>(m_dim) && hi.size() == lo.size(), "envelope table: lo/hi need D entries");
    int l = 0;
    while ((2 << l) <= count) ++l; // 2^l <= count < 2^(l+1)
    const auto D = static_cast<std::size_t>(m_dim);
    const std::size_t levelAt = static_cast<std::size_t>(l) * static_cast<std::size_t>(m_blocks) * D;
    const std::size_t a = levelAt + static_cast<std::size_t>(first) * D;
    const std::size_t b = levelAt + static_cast<std::size_t>(first + count - (1 << l)) * D;
    for (std::size_t d = 0; d < D; ++d) {
        lo[d] = std::min(m_lo[a + d], m_lo[b + d]);
        hi[d] = std::max(m_hi[a + d], m_hi[b + d]);
    }
}

double BlockEnvelopeTable::bound(const float* qj, int first, int count) const
{
    std::vector<double> lo(static_cast<std::size_t>(m_dim)), hi(lo.size());
    envelope(first, count, lo, hi);
    double s = 0;
    for (int d = 0; d < m_dim; ++d) {
        const double q = qj[d];
        s += std::max(q * lo[static_cast<std::size_t>(d)], q * hi[static_cast<std::size_t>(d)]);
    }
    return s;
}

std::vector<int> searchBlocks(const AttentionInputs& in, const StreamParams& p, int head, const RowPlan& plan,
                              const BlockEnvelopeTable* envelopes, SearchStats* stats)
{
    const int n = plan.rangeEnd - plan.rangeFirst;
    std::vector<int> searched;
    if (n <= p.k) {
        for (int b = plan.rangeFirst; b < plan.rangeEnd; ++b) searched.push_back(b);
        return searched;
    }
    std::optional<BlockEnvelopeTable> ownTable;
    if (p.score == ScoreRule::Bound && !envelopes) envelopes = &ownTable.emplace(in, kvHeadOf(in, head), p.bk);
    // K nodes that split the range as evenly as integer division allows; each holds >= 1 block.
    // The first nodes have no score yet; a node chosen in a round keeps the score it won with.
    std::vector<Node> nodes;
    for (int i = 0; i < p.k; ++i) {
        const int start = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * i / p.k);
        const int next = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * (i + 1) / p.k);
        nodes.push_back({start, next - start, std::nullopt});
    }
    const std::vector<std::int64_t> queries = scoringQueries(plan, p);
    std::vector<double> lo(static_cast<std::size_t>(in.headDim)), hi(lo.size()); // [D] float64: a child's envelope
    const auto score = [&](const Node& child) {
        if (stats) ++stats->childScores;
        if (p.score == ScoreRule::Bound) {
            envelopes->envelope(child.start, child.length, lo, hi);
            double best = kNegInf;
            for (std::int64_t j : queries) {
                const float* qj = queryRow(in, head, j - in.queryOffset);
                double sum = 0;
                for (std::size_t d = 0; d < lo.size(); ++d)
                    sum += std::max(double(qj[d]) * lo[d], double(qj[d]) * hi[d]);
                best = std::max(best, sum);
            }
            return best;
        }
        const int representative = p.score == ScoreRule::Centre ? child.start + child.length / 2 : child.start;
        return representativeScore(in, p, head, queries, representative);
    };
    const auto multiBlock = [](const Node& node) { return node.length > 1; };
    while (std::any_of(nodes.begin(), nodes.end(), multiBlock)) {
        if (stats) ++stats->rounds;
        // Split every node in two halves; a one-block node has an empty left half and passes on
        // unchanged as its right half, with its score (a pass of the first round is scored once).
        // Children come out in ascending block order.
        std::vector<Node> children;
        for (const Node& node : nodes) {
            const int half = node.length / 2;
            if (half > 0) children.push_back({node.start, half, std::nullopt});
            children.push_back({node.start + half, node.length - half, std::nullopt});
            if (half == 0) children.back().score = node.score;
        }
        for (Node& child : children)
            if (!child.score) child.score = score(child);
        // Keep the K best children: highest score first, ties to the lower block index.
        std::vector<std::size_t> order(children.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            if (*children[a].score != *children[b].score) return *children[a].score > *children[b].score;
            return children[a].start < children[b].start;
        });
        order.resize(static_cast<std::size_t>(p.k));
        std::sort(order.begin(), order.end()); // back to ascending block order
        nodes.clear();
        for (std::size_t c : order) nodes.push_back(children[c]);
    }
    for (const Node& node : nodes) searched.push_back(node.start);
    return searched;
}

std::vector<int> keptBlocks(const AttentionInputs& in, const StreamParams& p, int head, const RowPlan& plan,
                            const BlockEnvelopeTable* envelopes, SearchStats* stats)
{
    std::vector<int> kept = searchBlocks(in, p, head, plan, envelopes, stats);
    for (int b = plan.sinkFirst; b < plan.sinkEnd; ++b) kept.push_back(b);
    for (int b = plan.windowFirst; b < plan.windowEnd; ++b) kept.push_back(b);
    std::sort(kept.begin(), kept.end());
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end()); // sinks and window may overlap
    return kept;
}

std::vector<std::int32_t> estimateMask(const AttentionInputs& in, const StreamParams& p, SearchStats* stats)
{
    in.validate(p);
    const std::int64_t R = in.rows(p);
    const int kp = p.kPrime();
    std::vector<std::int32_t> index(static_cast<std::size_t>(in.heads * R * kp), -1); // [H, R, K'] int32
    const int group = in.heads / in.kvHeads;
    BlockEnvelopeTable table; // of the current KV head; heads h of one KV head are consecutive
    for (int h = 0; h < in.heads; ++h) {
        if (p.score == ScoreRule::Bound && h % group == 0) table = BlockEnvelopeTable(in, h / group, p.bk);
        for (std::int64_t r = 0; r < R; ++r) {
            const std::vector<int> kept =
                keptBlocks(in, p, h, planRow(in, p, r), p.score == ScoreRule::Bound ? &table : nullptr, stats);
            if (static_cast<int>(kept.size()) > kp)
                throw BackendError("Stream-Attn: a row kept more than K' blocks (internal invariant broken)");
            std::copy(kept.begin(), kept.end(), index.begin() + (h * R + r) * kp);
        }
    }
    return index;
}

StreamAttnResult attendWithMask(const AttentionInputs& in, const StreamParams& p, std::span<const std::int32_t> index)
{
    in.validate(p);
    StreamAttnResult res;
    res.rows = in.rows(p);
    res.kPrime = p.kPrime();
    const auto cells = static_cast<std::size_t>(in.heads * res.rows * res.kPrime);
    require(index.size() == cells, "mask index must hold [H, R, K'] = [" + std::to_string(in.heads) + ", " +
                                       std::to_string(res.rows) + ", " + std::to_string(res.kPrime) + "] entries");
    res.index.assign(index.begin(), index.end());
    res.mass.assign(cells, 0.0f);
    res.output.assign(static_cast<std::size_t>(in.heads * in.queries * in.headDim), 0.0f);
    for (int h = 0; h < in.heads; ++h) {
        for (std::int64_t r = 0; r < res.rows; ++r) {
            const RowPlan plan = planRow(in, p, r);
            const std::size_t at = static_cast<std::size_t>((h * res.rows + r) * res.kPrime);
            const std::vector<int> blocks = rowBlocks(index.subspan(at, static_cast<std::size_t>(res.kPrime)), in, p);
            float* out = res.output.data() + (static_cast<std::int64_t>(h) * in.queries + r * p.bq) * in.headDim;
            const std::vector<double> mass = attendRow(in, p, h, plan, blocks, out);
            writeRow(res.index, res.mass, at, blocks, mass);
        }
    }
    return res;
}

StreamAttnResult streamAttentionReference(const AttentionInputs& in, const StreamParams& p)
{
    const std::vector<std::int32_t> index = estimateMask(in, p);
    return attendWithMask(in, p, index);
}

StreamAttnResult emptyResult(const AttentionInputs& in, const StreamParams& p)
{
    StreamAttnResult res;
    res.rows = in.rows(p);
    res.kPrime = p.kPrime();
    const auto cells = static_cast<std::size_t>(in.heads * res.rows * res.kPrime);
    res.index.assign(cells, -1);                                                             // [H, R, K'] int32
    res.mass.assign(cells, 0.0f);                                                            // [H, R, K'] float32
    res.output.assign(static_cast<std::size_t>(in.heads * in.queries * in.headDim), 0.0f); // [H, Tq, D] float32
    return res;
}

StreamAttnResult denseAttention(const AttentionInputs& in, const StreamParams& p)
{
    in.validate(p);
    StreamAttnResult res = emptyResult(in, p);
    for (int h = 0; h < in.heads; ++h) {
        for (std::int64_t r = 0; r < res.rows; ++r) {
            const RowPlan plan = planRow(in, p, r);
            std::vector<int> all(static_cast<std::size_t>(plan.lastBlock - plan.visibleFirst + 1));
            std::iota(all.begin(), all.end(), plan.visibleFirst);
            float* out = res.output.data() + (static_cast<std::int64_t>(h) * in.queries + r * p.bq) * in.headDim;
            const std::vector<double> mass = attendRow(in, p, h, plan, all, out);
            const std::vector<int> top = topBlocks(mass, plan.visibleFirst, res.kPrime);
            std::vector<double> topMass;
            for (int b : top) topMass.push_back(mass[static_cast<std::size_t>(b - plan.visibleFirst)]);
            writeRow(res.index, res.mass, static_cast<std::size_t>((h * res.rows + r) * res.kPrime), top, topMass);
        }
    }
    return res;
}

std::vector<double> denseBlockMass(const AttentionInputs& in, int head, const RowPlan& plan, int bk)
{
    const int kvh = kvHeadOf(in, head);
    std::vector<double> mass(static_cast<std::size_t>(plan.lastBlock - plan.visibleFirst + 1), 0.0);
    for (std::int64_t j = plan.firstQuery; j <= plan.lastQuery; ++j) {
        const float* qj = queryRow(in, head, j - in.queryOffset);
        const std::int64_t first = in.slidingWindow > 0 ? std::max<std::int64_t>(0, j - in.slidingWindow + 1) : 0;
        double m = kNegInf, l = 0;
        for (std::int64_t t = first; t <= j; ++t) { // pass 1: softmax normaliser, online
            const double s = in.scale * dot(qj, keyRow(in, kvh, t), in.headDim);
            if (s > m) {
                l *= std::exp(m - s);
                m = s;
            }
            l += std::exp(s - m);
        }
        for (std::int64_t t = first; t <= j; ++t) { // pass 2: each key's probability to its block
            const double s = in.scale * dot(qj, keyRow(in, kvh, t), in.headDim);
            mass[static_cast<std::size_t>(t / bk - plan.visibleFirst)] += std::exp(s - m) / l;
        }
    }
    for (double& x : mass) x /= static_cast<double>(plan.queryCount);
    return mass;
}

std::vector<int> topBlocks(std::span<const double> massOfBlocks, int visibleFirst, int count)
{
    std::vector<int> order(massOfBlocks.size());
    std::iota(order.begin(), order.end(), 0);
    const std::size_t n = std::min(order.size(), static_cast<std::size_t>(std::max(count, 0)));
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(), [&](int a, int b) {
        if (massOfBlocks[static_cast<std::size_t>(a)] != massOfBlocks[static_cast<std::size_t>(b)])
            return massOfBlocks[static_cast<std::size_t>(a)] > massOfBlocks[static_cast<std::size_t>(b)];
        return a < b;
    });
    order.resize(n);
    std::sort(order.begin(), order.end());
    for (int& b : order) b += visibleFirst;
    return order;
}

FidelityResult measureFidelity(const AttentionInputs& in, const StreamParams& p, std::span<const std::int32_t> index)
{
    in.validate(p);
    const std::int64_t R = in.rows(p);
    const int kp = p.kPrime();
    require(index.size() == static_cast<std::size_t>(in.heads * R * kp),
            "mask index must hold [H, R, K'] = [" + std::to_string(in.heads) + ", " + std::to_string(R) + ", " +
                std::to_string(kp) + "] entries");
    FidelityResult f;
    f.captured.assign(static_cast<std::size_t>(in.heads * R), 0.0f);
    f.oracleIndex.assign(index.size(), -1);
    f.oracleMass.assign(index.size(), 0.0f);
    for (int h = 0; h < in.heads; ++h) {
        for (std::int64_t r = 0; r < R; ++r) {
            const RowPlan plan = planRow(in, p, r);
            const std::size_t at = static_cast<std::size_t>((h * R + r) * kp);
            const std::vector<int> blocks = rowBlocks(index.subspan(at, static_cast<std::size_t>(kp)), in, p);
            const std::vector<double> mass = denseBlockMass(in, h, plan, p.bk);
            double captured = 0;
            for (int b : blocks)
                if (b >= plan.visibleFirst && b <= plan.lastBlock)
                    captured += mass[static_cast<std::size_t>(b - plan.visibleFirst)];
            f.captured[static_cast<std::size_t>(h * R + r)] = static_cast<float>(captured);
            const std::vector<int> oracle = topBlocks(mass, plan.visibleFirst, static_cast<int>(blocks.size()));
            std::vector<double> oracleMass;
            for (int b : oracle) oracleMass.push_back(mass[static_cast<std::size_t>(b - plan.visibleFirst)]);
            writeRow(f.oracleIndex, f.oracleMass, at, oracle, oracleMass);
        }
    }
    return f;
}

void appendRows(LayerRecord& layer, int heads, std::int64_t rowsBefore, const StreamAttnResult& call,
                const FidelityResult* fidelity)
{
    const auto kp = static_cast<std::size_t>(call.kPrime);
    const auto H = static_cast<std::size_t>(heads);
    const auto before = static_cast<std::size_t>(rowsBefore);
    const auto added = static_cast<std::size_t>(call.rows);
    require(layer.index.size() == H * before * kp && layer.mass.size() == layer.index.size(),
            "the layer record does not hold [H, rows, K'] for the rows said to be in it");
    require(call.index.size() == H * added * kp && call.mass.size() == call.index.size(),
            "the call's index and mass do not hold [H, R, K']");
    if (fidelity) {
        require(layer.captured.size() == H * before && layer.oracleIndex.size() == layer.index.size(),
                "fidelity rows can only follow rows that have fidelity data");
        require(fidelity->captured.size() == H * added && fidelity->oracleIndex.size() == call.index.size(),
                "the call's fidelity data does not hold [H, R] and [H, R, K']");
    } else {
        require(layer.captured.empty(), "rows without fidelity data cannot follow rows with it");
    }
    // Interleave per head: the layout is [H, rows, ...], so each head's block grows.
    const auto merge = [&](auto& into, const auto& from, std::size_t width) {
        std::remove_reference_t<decltype(into)> merged;
        merged.reserve(H * (before + added) * width);
        for (std::size_t h = 0; h < H; ++h) {
            merged.insert(merged.end(), into.begin() + static_cast<std::ptrdiff_t>(h * before * width),
                          into.begin() + static_cast<std::ptrdiff_t>((h + 1) * before * width));
            merged.insert(merged.end(), from.begin() + static_cast<std::ptrdiff_t>(h * added * width),
                          from.begin() + static_cast<std::ptrdiff_t>((h + 1) * added * width));
        }
        into = std::move(merged);
    };
    merge(layer.index, call.index, kp);
    merge(layer.mass, call.mass, kp);
    if (fidelity) {
        merge(layer.captured, fidelity->captured, 1);
        merge(layer.oracleIndex, fidelity->oracleIndex, kp);
    }
}

} // namespace sparsetrace::core
