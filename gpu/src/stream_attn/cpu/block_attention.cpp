// Attention of one head on the CPU: block-sparse rows over the kept blocks (keys and values
// gathered, one softmax per query as two GEMMs), and the dense pass of dense layers and fidelity,
// streamed over key blocks like flash attention: per (query, block) the block's own maximum and
// exp-sum, combined in float64 at the end of the row, so memory is one row's block masses.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/head_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparsetrace::gpu::cpu {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

const float* queryRows(const core::AttentionInputs& in, int head, std::int64_t i)
{
    return in.q.data() + (static_cast<std::int64_t>(head) * in.queries + i) * in.headDim;
}

const float* keyRows(const core::AttentionInputs& in, std::span<const float> kv, int kvh, std::int64_t t)
{
    return kv.data() + (static_cast<std::int64_t>(kvh) * in.keys + t) * in.headDim;
}

// Keys [first, end) of block b.
std::int64_t blockFirstKey(int b, int bk)
{
    return static_cast<std::int64_t>(b) * bk;
}
std::int64_t blockEndKey(const core::AttentionInputs& in, int b, int bk)
{
    return std::min<std::int64_t>(blockFirstKey(b, bk) + bk, in.keys);
}

// The keys [from, to] a query at position j sees among keys [first, end): causal and inside the
// sliding window; empty when from > to.
struct Visible {
    std::int64_t from, to;
};
Visible visibleKeys(const core::AttentionInputs& in, std::int64_t j, std::int64_t first, std::int64_t end)
{
    const std::int64_t from = in.slidingWindow > 0 ? std::max(first, j - in.slidingWindow + 1) : first;
    return {from, std::min(end - 1, j)};
}

// Does every query of the row see every key of [first, end)?
bool allVisible(const core::AttentionInputs& in, const core::RowPlan& plan, std::int64_t first, std::int64_t end)
{
    return end - 1 <= plan.firstQuery && (in.slidingWindow <= 0 || first > plan.lastQuery - in.slidingWindow);
}

// Sets the entries of columns [col, col + end - first) of `scores` (keys [first, end), one row per
// query of the row) that their query cannot see to `value`.
template <class Matrix>
void maskInvisible(const core::AttentionInputs& in, const core::RowPlan& plan, Matrix& scores, Eigen::Index col,
                   std::int64_t first, std::int64_t end, float value)
{
    if (allVisible(in, plan, first, end)) return;
    for (std::int64_t i = 0; i < plan.queryCount; ++i) {
        const Visible v = visibleKeys(in, plan.firstQuery + i, first, end);
        auto row = scores.row(static_cast<Eigen::Index>(i));
        if (v.from > v.to) {
            row.segment(col, end - first).setConstant(value);
            continue;
        }
        row.segment(col, v.from - first).setConstant(value);
        row.segment(col + (v.to + 1 - first), end - 1 - v.to).setConstant(value);
    }
}

// The valid entries of an index row (validated by the caller: ascending, in range).
void rowBlocks(const std::int32_t* row, int kp, std::vector<int>& blocks)
{
    blocks.clear();
    for (int i = 0; i < kp; ++i)
        if (row[i] >= 0) blocks.push_back(row[i]);
}

// The dense pass of one row, streamed over key-block tiles: per (query, block) the block's
// maximum score and the sum of exp(score - that maximum); with `output`, also the exact
// attention output by the online softmax. Leaves in `mass` ([lastBlock - visibleFirst + 1]
// float64) each visible block's dense mass averaged over the row's queries.
class DenseRowPass {
public:
    DenseRowPass(const core::AttentionInputs& in, const core::StreamParams& p, int head)
        : m_in(in), m_p(p), m_head(head), m_kvh(kvHeadOf(in, head))
    {
    }

    void run(const core::RowPlan& plan, float* output, std::vector<double>& mass)
    {
        const int D = m_in.headDim, bk = m_p.bk;
        const auto nq = static_cast<Eigen::Index>(plan.queryCount);
        const int blocks = plan.lastBlock - plan.visibleFirst + 1;
        const ConstRowMap q(queryRows(m_in, m_head, plan.firstQuery - m_in.queryOffset), nq, D); // [nq, D] float32
        m_blockMax.resize(nq, blocks);
        m_blockSum.resize(nq, blocks);
        m_weighted.resize(blocks);
        if (output) {
            m_acc.setZero(nq, D);
            m_runMax = Eigen::VectorXf::Constant(nq, kNegInf);
            m_runSum = Eigen::VectorXf::Zero(nq);
        }
        // Tiles of whole blocks, large enough for an efficient GEMM.
        const int tileBlocks = std::max(1, 256 / bk);
        for (int tile = 0; tile < blocks; tile += tileBlocks) {
            const int tileEnd = std::min(blocks, tile + tileBlocks);
            const std::int64_t first = blockFirstKey(plan.visibleFirst + tile, bk);
            const std::int64_t end = blockEndKey(m_in, plan.visibleFirst + tileEnd - 1, bk);
            const ConstRowMap keys(keyRows(m_in, m_in.k, m_kvh, first), end - first, D); // [keys, D] float32
            m_scores.noalias() = q * keys.transpose();
            m_scores *= static_cast<float>(m_in.scale);
            maskInvisible(m_in, plan, m_scores, 0, first, end, kNegInf);
            // Per (query, block): the block's maximum, then exp(score - maximum) in place (a
            // contiguous segment of the query's row, so Eigen's vectorised exp) and its sum.
            for (Eigen::Index i = 0; i < nq; ++i) {
                auto row = m_scores.row(i);
                for (int b = tile; b < tileEnd; ++b) {
                    const Eigen::Index at = blockFirstKey(plan.visibleFirst + b, bk) - first;
                    auto seg = row.segment(at, blockEndKey(m_in, plan.visibleFirst + b, bk) - first - at);
                    const float bm = seg.maxCoeff();
                    m_blockMax(i, b) = bm;
                    if (bm == kNegInf) { // the query sees no key of this block
                        seg.setZero();
                        m_blockSum(i, b) = 0;
                        continue;
                    }
                    seg = (seg.array() - bm).exp();
                }
            }
            maskInvisible(m_in, plan, m_scores, 0, first, end, 0.0f); // Eigen's exp(-inf) is a tiny positive
            for (Eigen::Index i = 0; i < nq; ++i)
                for (int b = tile; b < tileEnd; ++b) {
                    const Eigen::Index at = blockFirstKey(plan.visibleFirst + b, bk) - first;
                    m_blockSum(i, b) =
                        m_scores.row(i).segment(at, blockEndKey(m_in, plan.visibleFirst + b, bk) - first - at).sum();
                }
            if (output) accumulate(plan, tile, tileEnd, first, end);
        }
        // Combine per query: m = max over blocks, weight of block b = exp(max_b - m) (float32,
        // vectorised; float64 where float32 would underflow), l = sum of exp-sums x weights.
        mass.assign(static_cast<std::size_t>(blocks), 0.0);
        for (Eigen::Index i = 0; i < nq; ++i) {
            const float m = m_blockMax.row(i).maxCoeff();
            if (m == kNegInf) continue; // the query sees no key (not on a causal row)
            m_weight = (m_blockMax.row(i).array() - m).exp();
            double l = 0;
            for (int b = 0; b < blocks; ++b) {
                double w = 0;
                if (m_blockSum(i, b) > 0) {
                    const float d = m_blockMax(i, b) - m;
                    w = double(m_blockSum(i, b)) * (d > -80.0f ? double(m_weight(b)) : std::exp(double(d)));
                }
                m_weighted(b) = w;
                l += w;
            }
            for (int b = 0; b < blocks; ++b)
                mass[static_cast<std::size_t>(b)] += m_weighted(b) / l;
        }
        for (double& x : mass)
            x /= static_cast<double>(plan.queryCount);
        if (output) {
            RowMap out(output, nq, D);
            for (Eigen::Index i = 0; i < nq; ++i) {
                if (m_runSum(i) > 0)
                    out.row(i) = m_acc.row(i) / m_runSum(i);
                else
                    out.row(i).setZero();
            }
        }
    }

private:
    // Online softmax over tiles: each block's exps (relative to its own maximum) are rescaled to
    // the query's new running maximum, then one GEMM adds the tile's values.
    void accumulate(const core::RowPlan& plan, int tile, int tileEnd, std::int64_t first, std::int64_t end)
    {
        const int D = m_in.headDim, bk = m_p.bk;
        for (Eigen::Index i = 0; i < m_scores.rows(); ++i) {
            const float tileMax = m_blockMax.row(i).segment(tile, tileEnd - tile).maxCoeff();
            const float mNew = std::max(m_runMax(i), tileMax);
            if (mNew == kNegInf) continue;                   // nothing seen yet: the row's exps are all zero
            const float keep = std::exp(m_runMax(i) - mNew); // 0 on the first tile (runMax = -inf)
            float added = 0;
            auto row = m_scores.row(i);
            for (int b = tile; b < tileEnd; ++b) {
                const float scale = m_blockSum(i, b) > 0 ? std::exp(m_blockMax(i, b) - mNew) : 0.0f;
                const Eigen::Index at = blockFirstKey(plan.visibleFirst + b, bk) - first;
                row.segment(at, blockEndKey(m_in, plan.visibleFirst + b, bk) - first - at) *= scale;
                added += m_blockSum(i, b) * scale;
            }
            m_acc.row(i) *= keep;
            m_runSum(i) = m_runSum(i) * keep + added;
            m_runMax(i) = mNew;
        }
        const ConstRowMap values(keyRows(m_in, m_in.v, m_kvh, first), end - first, D); // [keys, D] float32
        m_acc.noalias() += m_scores * values;
    }

    const core::AttentionInputs& m_in;
    const core::StreamParams& m_p;
    int m_head, m_kvh;
    RowMatrix m_scores;                 // [nq, tile keys] float32: scores, then exps
    RowMatrix m_blockMax, m_blockSum;   // [nq, blocks] float32: per (query, block) maximum and exp-sum
    Eigen::ArrayXf m_weight;            // [blocks] float32: exp(block max - row max) of one query
    Eigen::ArrayXd m_weighted{};        // [blocks] float64: exp-sum x weight of one query
    RowMatrix m_acc;                    // [nq, D] float32: output numerators
    Eigen::VectorXf m_runMax, m_runSum; // [nq] float32: running maximum and normaliser
};

// Rows of `mass` ([n] float64, block visibleFirst + i) as the top `count` blocks into an index
// row and its masses (ties: the lower block index, as core::topBlocks).
void writeTop(const std::vector<double>& mass, int visibleFirst, int count, std::int32_t* index, float* massOut)
{
    const std::vector<int> top = core::topBlocks(mass, visibleFirst, count);
    for (std::size_t i = 0; i < top.size(); ++i) {
        index[i] = top[i];
        massOut[i] = static_cast<float>(mass[static_cast<std::size_t>(top[i] - visibleFirst)]);
    }
}

} // namespace

void attendHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const std::int32_t* index,
                float* output, float* mass)
{
    const int D = in.headDim, bk = p.bk, kp = p.kPrime();
    const int kvh = kvHeadOf(in, head);
    const std::int64_t R = in.rows(p);
    std::vector<int> blocks;
    std::vector<Eigen::Index> columnOf;                      // [blocks + 1] first gathered column of each kept block
    RowMatrix keys(static_cast<Eigen::Index>(kp) * bk, D);   // [K' * bk, D] float32: gathered keys
    RowMatrix values(static_cast<Eigen::Index>(kp) * bk, D); // [K' * bk, D] float32: gathered values
    RowMatrix scores;                                        // [nq, gathered] float32, then probabilities
    Eigen::VectorXd rowMass;                                 // [kept blocks] float64
    for (std::int64_t r = 0; r < R; ++r) {
        const core::RowPlan plan = core::planRow(in, p, r);
        const auto nq = static_cast<Eigen::Index>(plan.queryCount);
        const std::int32_t* row = index + r * kp;
        rowBlocks(row, kp, blocks);
        columnOf.assign(1, 0);
        for (int b : blocks) {
            const std::int64_t first = blockFirstKey(b, bk), count = blockEndKey(in, b, bk) - first;
            keys.middleRows(columnOf.back(), count) = ConstRowMap(keyRows(in, in.k, kvh, first), count, D);
            values.middleRows(columnOf.back(), count) = ConstRowMap(keyRows(in, in.v, kvh, first), count, D);
            columnOf.push_back(columnOf.back() + count);
        }
        const Eigen::Index n = columnOf.back();
        RowMap out(output + r * p.bq * D, nq, D); // [nq, D] float32
        if (n == 0) {
            out.setZero();
            continue;
        }
        const ConstRowMap q(queryRows(in, head, r * p.bq), nq, D); // [nq, D] float32
        scores.noalias() = q * keys.topRows(n).transpose();
        scores *= static_cast<float>(in.scale);
        for (std::size_t s = 0; s < blocks.size(); ++s)
            maskInvisible(in, plan, scores, columnOf[s], blockFirstKey(blocks[s], bk), blockEndKey(in, blocks[s], bk),
                          kNegInf);
        // Softmax per query; a row of only -inf (a query the mask shows no key) becomes zeros: no
        // output, no mass. Eigen's exp(-inf) is a tiny positive, so invisible keys are zeroed after.
        for (Eigen::Index i = 0; i < nq; ++i) { // rows are contiguous: Eigen's vectorised exp
            auto row = scores.row(i);
            const float m = row.maxCoeff();
            row = (row.array() - (std::isfinite(m) ? m : 0.0f)).exp();
        }
        for (std::size_t s = 0; s < blocks.size(); ++s)
            maskInvisible(in, plan, scores, columnOf[s], blockFirstKey(blocks[s], bk), blockEndKey(in, blocks[s], bk),
                          0.0f);
        rowMass.setZero(static_cast<Eigen::Index>(blocks.size()));
        for (Eigen::Index i = 0; i < nq; ++i) {
            auto s = scores.row(i);
            const float l = s.sum();
            if (!(l > 0)) continue;
            s /= l;
            for (std::size_t b = 0; b < blocks.size(); ++b)
                rowMass(static_cast<Eigen::Index>(b)) += s.segment(columnOf[b], columnOf[b + 1] - columnOf[b]).sum();
        }
        out.noalias() = scores * values.topRows(n);
        for (std::size_t b = 0; b < blocks.size(); ++b)
            mass[r * kp + static_cast<std::int64_t>(b)] =
                static_cast<float>(rowMass(static_cast<Eigen::Index>(b)) / static_cast<double>(plan.queryCount));
    }
}

void denseHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, float* output,
               std::int32_t* index, float* mass)
{
    const int kp = p.kPrime(), D = in.headDim;
    DenseRowPass pass(in, p, head);
    std::vector<double> blockMass;
    for (std::int64_t r = 0; r < in.rows(p); ++r) {
        const core::RowPlan plan = core::planRow(in, p, r);
        pass.run(plan, output + r * p.bq * D, blockMass);
        writeTop(blockMass, plan.visibleFirst, kp, index + r * kp, mass + r * kp);
    }
}

void fidelityHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const std::int32_t* index,
                  float* captured, std::int32_t* oracleIndex, float* oracleMass)
{
    const int kp = p.kPrime();
    DenseRowPass pass(in, p, head);
    std::vector<double> blockMass;
    std::vector<int> blocks;
    for (std::int64_t r = 0; r < in.rows(p); ++r) {
        const core::RowPlan plan = core::planRow(in, p, r);
        pass.run(plan, nullptr, blockMass);
        rowBlocks(index + r * kp, kp, blocks);
        double sum = 0;
        for (int b : blocks)
            if (b >= plan.visibleFirst && b <= plan.lastBlock)
                sum += blockMass[static_cast<std::size_t>(b - plan.visibleFirst)];
        captured[r] = static_cast<float>(sum);
        writeTop(blockMass, plan.visibleFirst, static_cast<int>(blocks.size()), oracleIndex + r * kp,
                 oracleMass + r * kp);
    }
}

} // namespace sparsetrace::gpu::cpu
