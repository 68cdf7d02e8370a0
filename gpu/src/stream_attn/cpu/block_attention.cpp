// Attention of one head on the CPU, on the vector kernels of simd_kernels.h: block-sparse rows
// over the kept blocks (keys and values gathered, one softmax per query), and the dense pass of
// dense layers, fidelity and exact attention, streamed over tiles of key blocks like flash
// attention: per (query, block) the block's own maximum and exp-sum, combined in float64 at the
// end of the row, so memory is one row's block statistics.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/head_kernels.h"

#include "stream_attn/cpu/simd_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace sparsetrace::gpu::cpu {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Keys per tile of the dense pass: one score tile [32, 256] float32 stays in the L1/L2 caches.
constexpr int kTileKeys = 256;

// The valid entries of an index row (validated by the caller: ascending, in range).
void rowBlocks(const std::int32_t* row, int kp, std::vector<int>& blocks)
{
    blocks.clear();
    for (int i = 0; i < kp; ++i)
        if (row[i] >= 0) blocks.push_back(row[i]);
}

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

PackedKv::PackedKv(const core::AttentionInputs& in, int kvHead)
    : dims(in.headDim), dp(roundUp(in.headDim, kSimdDims)), keys(in.keys), ld(in.keys + kSimdKeys)
{
    kT.assign(static_cast<std::size_t>(dp * ld), 0.0f);
    v.assign(static_cast<std::size_t>(ld * dp), 0.0f);
    const float* k0 = in.k.data() + static_cast<std::int64_t>(kvHead) * in.keys * dims;
    const float* v0 = in.v.data() + static_cast<std::int64_t>(kvHead) * in.keys * dims;
    for (std::int64_t t = 0; t < keys; ++t) {
        for (int d = 0; d < dims; ++d)
            kT[static_cast<std::size_t>(d * ld + t)] = k0[t * dims + d];
        std::memcpy(v.data() + t * dp, v0 + t * dims, sizeof(float) * static_cast<std::size_t>(dims));
    }
}

RowAttention::RowAttention(const core::AttentionInputs& in, int head, const PackedKv& kv)
    : m_in(in), m_kv(kv), m_k(simdKernels()), m_head(head), m_scale(static_cast<float>(in.scale))
{
}

void RowAttention::loadQueries(std::int64_t i0, int nq)
{
    const int D = m_kv.dims, dp = m_kv.dp;
    m_nqp = roundUp(nq, kSimdQueries);
    m_q.assign(static_cast<std::size_t>(m_nqp * dp), 0.0f);
    const float* q0 = m_in.q.data() + (static_cast<std::int64_t>(m_head) * m_in.queries + i0) * D;
    for (int i = 0; i < nq; ++i)
        std::memcpy(m_q.data() + i * dp, q0 + static_cast<std::int64_t>(i) * D, sizeof(float) * static_cast<std::size_t>(D));
}

void RowAttention::maskKeys(int nq, std::int64_t firstPos, std::int64_t first, std::int64_t end, int col, int lds)
{
    const std::int64_t lastPos = firstPos + nq - 1;
    const int w = m_in.slidingWindow;
    if (end - 1 <= firstPos && (w <= 0 || first > lastPos - w)) return; // every query sees every key
    for (int i = 0; i < nq; ++i) {
        const std::int64_t j = firstPos + i;
        const std::int64_t from = w > 0 ? std::max(first, j - w + 1) : first;
        const std::int64_t to = std::min(end - 1, j);
        float* row = m_s.data() + static_cast<std::int64_t>(i) * lds + col;
        if (from > to) {
            std::fill(row, row + (end - first), kNegInf);
            continue;
        }
        std::fill(row, row + (from - first), kNegInf);
        std::fill(row + (to + 1 - first), row + (end - first), kNegInf);
    }
}

void RowAttention::dense(std::int64_t i0, int nq, int firstBlock, int lastBlock, int bk, float* output,
                         std::vector<double>* mass)
{
    const int dp = m_kv.dp;
    const std::int64_t firstPos = m_in.queryOffset + i0;
    const int blocks = lastBlock - firstBlock + 1;
    loadQueries(i0, nq);
    m_bmax.assign(static_cast<std::size_t>(nq * blocks), kNegInf);
    m_bsum.assign(static_cast<std::size_t>(nq * blocks), 0.0f);
    if (output) {
        m_acc.assign(static_cast<std::size_t>(m_nqp * dp), 0.0f);
        m_runMax.assign(static_cast<std::size_t>(nq), kNegInf);
        m_runSum.assign(static_cast<std::size_t>(nq), 0.0f);
    }
    const int tileBlocks = std::max(1, kTileKeys / bk);
    for (int tile = 0; tile < blocks; tile += tileBlocks) {
        const int tileEnd = std::min(blocks, tile + tileBlocks);
        const std::int64_t first = static_cast<std::int64_t>(firstBlock + tile) * bk;
        const std::int64_t end = std::min<std::int64_t>(m_in.keys, static_cast<std::int64_t>(firstBlock + tileEnd) * bk);
        const int len = static_cast<int>(end - first), n = roundUp(len, kSimdKeys);
        m_s.resize(static_cast<std::size_t>(m_nqp * n));
        m_k.scoreTile(m_q.data(), m_nqp, dp, m_kv.kT.data() + first, m_kv.ld, n, m_scale, m_s.data(), n);
        maskKeys(nq, firstPos, first, end, 0, n);
        m_starts.clear();
        for (int b = tile; b < tileEnd; ++b)
            m_starts.push_back(static_cast<int>(static_cast<std::int64_t>(firstBlock + b) * bk - first));
        m_starts.push_back(len);
        m_k.blockStats(m_s.data(), n, nq, m_starts.data(), tileEnd - tile, m_bmax.data() + tile, m_bsum.data() + tile,
                       blocks);
        if (!output) continue;
        // Online softmax: each block's exps (relative to its own maximum) rescaled to the query's
        // new running maximum, then one product adds the tile's values. Columns past the tile's
        // keys (padding) hold raw scores: zeroed.
        for (int i = 0; i < nq; ++i) {
            float* row = m_s.data() + static_cast<std::int64_t>(i) * n;
            std::fill(row + len, row + n, 0.0f);
            const float* bmax = m_bmax.data() + static_cast<std::int64_t>(i) * blocks;
            const float* bsum = m_bsum.data() + static_cast<std::int64_t>(i) * blocks;
            float tileMax = kNegInf;
            for (int b = tile; b < tileEnd; ++b)
                tileMax = std::max(tileMax, bmax[b]);
            const float mNew = std::max(m_runMax[static_cast<std::size_t>(i)], tileMax);
            if (mNew == kNegInf) continue; // nothing seen yet: the row's exps are all zero
            m_weight.resize(static_cast<std::size_t>(tileEnd - tile));
            m_k.expShift(bmax + tile, tileEnd - tile, mNew, m_weight.data()); // 0 for a block of no visible key
            float added = 0;
            for (int b = tile; b < tileEnd; ++b) {
                const float f = m_weight[static_cast<std::size_t>(b - tile)];
                const int at = m_starts[static_cast<std::size_t>(b - tile)];
                m_k.scale(row + at, m_starts[static_cast<std::size_t>(b - tile + 1)] - at, f);
                added += bsum[b] * f;
            }
            const float runMax = m_runMax[static_cast<std::size_t>(i)];
            const float keep = runMax == kNegInf ? 0.0f : std::exp(runMax - mNew);
            m_k.scale(m_acc.data() + static_cast<std::int64_t>(i) * dp, dp, keep);
            m_runSum[static_cast<std::size_t>(i)] = m_runSum[static_cast<std::size_t>(i)] * keep + added;
            m_runMax[static_cast<std::size_t>(i)] = mNew;
        }
        for (int i = nq; i < m_nqp; ++i) // padding queries: scores of zero vectors, no output
            std::fill(m_s.data() + static_cast<std::int64_t>(i) * n, m_s.data() + static_cast<std::int64_t>(i + 1) * n, 0.0f);
        m_k.valueTile(m_s.data(), n, m_nqp, m_kv.v.data() + first * dp, dp, n, m_acc.data());
    }
    if (mass) {
        // Per query: m = max over blocks, weight of block b = exp(max_b - m) (float32, vectorised;
        // float64 where float32 underflows), l = sum of exp-sums x weights.
        mass->assign(static_cast<std::size_t>(blocks), 0.0);
        m_weight.resize(static_cast<std::size_t>(blocks));
        m_weighted.resize(static_cast<std::size_t>(blocks));
        for (int i = 0; i < nq; ++i) {
            const float* bmax = m_bmax.data() + static_cast<std::int64_t>(i) * blocks;
            const float* bsum = m_bsum.data() + static_cast<std::int64_t>(i) * blocks;
            const float m = *std::max_element(bmax, bmax + blocks);
            if (m == kNegInf) continue; // the query sees no key (not on a causal row)
            m_k.expShift(bmax, blocks, m, m_weight.data());
            double l = 0;
            for (int b = 0; b < blocks; ++b) {
                double w = 0;
                if (bsum[b] > 0)
                    w = double(bsum[b]) * (m_weight[static_cast<std::size_t>(b)] > 0 ? double(m_weight[static_cast<std::size_t>(b)])
                                                                                    : std::exp(double(bmax[b]) - double(m)));
                m_weighted[static_cast<std::size_t>(b)] = w;
                l += w;
            }
            for (int b = 0; b < blocks; ++b)
                (*mass)[static_cast<std::size_t>(b)] += m_weighted[static_cast<std::size_t>(b)] / l;
        }
        for (double& x : *mass)
            x /= static_cast<double>(nq);
    }
    if (output) {
        const int D = m_kv.dims;
        for (int i = 0; i < nq; ++i) {
            const float l = m_runSum[static_cast<std::size_t>(i)];
            const float* a = m_acc.data() + static_cast<std::int64_t>(i) * dp;
            float* out = output + static_cast<std::int64_t>(i) * D;
            for (int d = 0; d < D; ++d)
                out[d] = l > 0 ? a[d] / l : 0.0f;
        }
    }
}

void RowAttention::sparse(std::int64_t i0, int nq, const std::vector<int>& blocks, int bk, float* output, float* mass)
{
    const int D = m_kv.dims, dp = m_kv.dp;
    const std::int64_t firstPos = m_in.queryOffset + i0;
    const int nb = static_cast<int>(blocks.size());
    // Gather the kept blocks' keys (transposed) and values.
    m_starts.clear();
    int len = 0;
    for (int b : blocks) {
        m_starts.push_back(len);
        len += static_cast<int>(std::min<std::int64_t>(m_in.keys, static_cast<std::int64_t>(b + 1) * bk) -
                                static_cast<std::int64_t>(b) * bk);
    }
    m_starts.push_back(len);
    if (len == 0) {
        std::fill(output, output + static_cast<std::int64_t>(nq) * D, 0.0f);
        return;
    }
    const int n = roundUp(len, kSimdKeys);
    m_gk.assign(static_cast<std::size_t>(dp * n), 0.0f);
    m_gv.assign(static_cast<std::size_t>(n * dp), 0.0f);
    for (int s = 0; s < nb; ++s) {
        const std::int64_t first = static_cast<std::int64_t>(blocks[static_cast<std::size_t>(s)]) * bk;
        const int at = m_starts[static_cast<std::size_t>(s)], count = m_starts[static_cast<std::size_t>(s + 1)] - at;
        for (int d = 0; d < dp; ++d)
            std::memcpy(m_gk.data() + d * n + at, m_kv.kT.data() + d * m_kv.ld + first, sizeof(float) * static_cast<std::size_t>(count));
        std::memcpy(m_gv.data() + static_cast<std::int64_t>(at) * dp, m_kv.v.data() + first * dp,
                    sizeof(float) * static_cast<std::size_t>(count * dp));
    }
    loadQueries(i0, nq);
    m_s.resize(static_cast<std::size_t>(m_nqp * n));
    m_k.scoreTile(m_q.data(), m_nqp, dp, m_gk.data(), n, n, m_scale, m_s.data(), n);
    for (int s = 0; s < nb; ++s) {
        const std::int64_t first = static_cast<std::int64_t>(blocks[static_cast<std::size_t>(s)]) * bk;
        maskKeys(nq, firstPos, first, first + (m_starts[static_cast<std::size_t>(s + 1)] - m_starts[static_cast<std::size_t>(s)]),
                 m_starts[static_cast<std::size_t>(s)], n);
    }
    m_bmax.assign(static_cast<std::size_t>(nq * nb), kNegInf);
    m_bsum.assign(static_cast<std::size_t>(nq * nb), 0.0f);
    m_k.blockStats(m_s.data(), n, nq, m_starts.data(), nb, m_bmax.data(), m_bsum.data(), nb);
    // One softmax per query over all kept keys; a query the mask shows no key gets no output
    // and no mass.
    m_rowMass.assign(static_cast<std::size_t>(nb), 0.0);
    m_weight.resize(static_cast<std::size_t>(nb));
    for (int i = 0; i < m_nqp; ++i) {
        float* row = m_s.data() + static_cast<std::int64_t>(i) * n;
        if (i >= nq) {
            std::fill(row, row + n, 0.0f);
            continue;
        }
        std::fill(row + len, row + n, 0.0f);
        const float* bmax = m_bmax.data() + static_cast<std::int64_t>(i) * nb;
        const float* bsum = m_bsum.data() + static_cast<std::int64_t>(i) * nb;
        const float m = *std::max_element(bmax, bmax + nb);
        if (m == kNegInf) continue; // the row is all zeros already
        m_k.expShift(bmax, nb, m, m_weight.data());
        float l = 0;
        for (int b = 0; b < nb; ++b)
            l += bsum[b] * m_weight[static_cast<std::size_t>(b)];
        for (int b = 0; b < nb; ++b) {
            const float f = m_weight[static_cast<std::size_t>(b)] / l;
            const int at = m_starts[static_cast<std::size_t>(b)];
            m_k.scale(row + at, m_starts[static_cast<std::size_t>(b + 1)] - at, f);
            m_rowMass[static_cast<std::size_t>(b)] += double(bsum[b]) * double(f);
        }
    }
    m_acc.assign(static_cast<std::size_t>(m_nqp * dp), 0.0f);
    m_k.valueTile(m_s.data(), n, m_nqp, m_gv.data(), dp, n, m_acc.data());
    for (int i = 0; i < nq; ++i)
        std::memcpy(output + static_cast<std::int64_t>(i) * D, m_acc.data() + static_cast<std::int64_t>(i) * dp,
                    sizeof(float) * static_cast<std::size_t>(D));
    for (int b = 0; b < nb; ++b)
        mass[b] = static_cast<float>(m_rowMass[static_cast<std::size_t>(b)] / static_cast<double>(nq));
}

void attendHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const PackedKv& kv,
                const std::int32_t* index, float* output, float* mass)
{
    const int kp = p.kPrime();
    RowAttention rows(in, head, kv);
    std::vector<int> blocks;
    for (std::int64_t r = 0; r < in.rows(p); ++r) {
        const core::RowPlan plan = core::planRow(in, p, r);
        rowBlocks(index + r * kp, kp, blocks);
        rows.sparse(r * p.bq, static_cast<int>(plan.queryCount), blocks, p.bk, output + r * p.bq * in.headDim, mass + r * kp);
    }
}

void denseHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const PackedKv& kv, float* output,
               std::int32_t* index, float* mass)
{
    const int kp = p.kPrime();
    RowAttention rows(in, head, kv);
    std::vector<double> blockMass;
    for (std::int64_t r = 0; r < in.rows(p); ++r) {
        const core::RowPlan plan = core::planRow(in, p, r);
        rows.dense(r * p.bq, static_cast<int>(plan.queryCount), plan.visibleFirst, plan.lastBlock, p.bk,
                   output + r * p.bq * in.headDim, &blockMass);
        writeTop(blockMass, plan.visibleFirst, kp, index + r * kp, mass + r * kp);
    }
}

void fidelityHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const PackedKv& kv,
                  const std::int32_t* index, float* captured, std::int32_t* oracleIndex, float* oracleMass)
{
    const int kp = p.kPrime();
    RowAttention rows(in, head, kv);
    std::vector<double> blockMass;
    std::vector<int> blocks;
    for (std::int64_t r = 0; r < in.rows(p); ++r) {
        const core::RowPlan plan = core::planRow(in, p, r);
        rows.dense(r * p.bq, static_cast<int>(plan.queryCount), plan.visibleFirst, plan.lastBlock, p.bk, nullptr,
                   &blockMass);
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

void exactHead(const core::AttentionInputs& in, int head, const PackedKv& kv, float* output)
{
    constexpr int kRowQueries = 32;
    RowAttention rows(in, head, kv);
    for (std::int64_t i0 = 0; i0 < in.queries; i0 += kRowQueries) {
        const int nq = static_cast<int>(std::min<std::int64_t>(kRowQueries, in.queries - i0));
        const std::int64_t firstPos = in.queryOffset + i0, lastPos = firstPos + nq - 1;
        const std::int64_t lo = in.slidingWindow > 0 ? std::max<std::int64_t>(0, firstPos - in.slidingWindow + 1) : 0;
        rows.dense(i0, nq, static_cast<int>(lo / kTileKeys), static_cast<int>(lastPos / kTileKeys), kTileKeys,
                   output + i0 * in.headDim, nullptr);
    }
}

} // namespace sparsetrace::gpu::cpu
