// Stream-Attn mask estimation on the GPU (spec section 2): one thread block per (head, row)
// runs the hierarchical top-k search. Warps score children (centre/first: lanes over (query,
// key) pairs of the representative block; bound: lanes over channels of the child's envelope),
// every thread ranks a child, thread 0 does the O(K) bookkeeping. The bound rule's envelope
// table is built first by blockEnvelopeKernel. Twin of core::searchBlocks / core::keptBlocks.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

#include <cfloat>

namespace sparsetrace::gpu {
namespace {

using detail::kDimsPerLane;
using detail::kThreads;
using detail::kWarps;

// max of q_j . k_t over the scoring queries j and keys t of `block` that j sees; -inf if none.
// Called by a whole warp; every lane gets the result.
__device__ float representativeScore(const StreamAttnShape& s, int head, const detail::RowPlan& plan, int block,
                                     int lane)
{
    const int kvh = head / (s.heads / s.kvHeads);
    const detail::ScoringQueries queries(s, plan);
    const std::int64_t keyFirst = static_cast<std::int64_t>(block) * s.bk;
    const std::int64_t pairs = queries.count * s.bk;
    float best = -INFINITY;
    for (std::int64_t pair = lane; pair < pairs; pair += 32) {
        const std::int64_t j = queries[pair / s.bk];
        const std::int64_t t = keyFirst + pair % s.bk;
        if (t >= s.keys || t > j || t < detail::firstVisibleKey(s, j)) continue;
        const std::int64_t qBase = (static_cast<std::int64_t>(head) * s.queries + (j - s.queryOffset)) * s.headDim;
        const std::int64_t kBase = detail::keyOffset(s, kvh, t);
        float dot = 0.0f;
        for (int d = 0; d < s.headDim; ++d)
            dot += detail::loadElement(s.q, s.dtype, qBase + d) * detail::loadElement(s.k, s.dtype, kBase + d);
        best = fmaxf(best, dot); // fmaxf drops NaN, as the reference's std::max does
    }
    return detail::warpMax(best);
}

__device__ inline double warpSumDouble(double x)
{
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

// The bound of blocks [first, first + count): max over the scoring queries j of
// sum_d max(q_j,d * lo_d, q_j,d * hi_d), summed in float64 like the reference (the products of
// two floats are exact there). Called by a whole warp; every lane gets the result.
__device__ double boundScore(const StreamMaskParams& p, int head, const detail::RowPlan& plan, int first, int count,
                             int lane)
{
    const StreamAttnShape& s = p.shape;
    const int kvh = head / (s.heads / s.kvHeads);
    int level = 0;
    while ((2 << level) <= count) ++level; // 2^level <= count < 2^(level+1)
    const std::int64_t levelAt = (static_cast<std::int64_t>(kvh) * p.envelopeLevels + level) * p.envelopeBlocks;
    const std::int64_t a = (levelAt + first) * s.headDim;
    const std::int64_t b = (levelAt + first + count - (1 << level)) * s.headDim;
    float lo[kDimsPerLane], hi[kDimsPerLane];
    for (int c = 0; c < kDimsPerLane; ++c) {
        const int d = lane + 32 * c;
        lo[c] = d < s.headDim ? fminf(detail::loadElement(p.envelopeLo, s.dtype, a + d),
                                      detail::loadElement(p.envelopeLo, s.dtype, b + d))
                              : 0.0f;
        hi[c] = d < s.headDim ? fmaxf(detail::loadElement(p.envelopeHi, s.dtype, a + d),
                                      detail::loadElement(p.envelopeHi, s.dtype, b + d))
                              : 0.0f;
    }
    const detail::ScoringQueries queries(s, plan);
    double best = -INFINITY;
    for (std::int64_t u = 0; u < queries.count; ++u) {
        const std::int64_t qBase =
            (static_cast<std::int64_t>(head) * s.queries + (queries[u] - s.queryOffset)) * s.headDim;
        double partial = 0.0;
        for (int c = 0; c < kDimsPerLane; ++c) {
            const int d = lane + 32 * c;
            if (d >= s.headDim) continue;
            const double q = detail::loadElement(s.q, s.dtype, qBase + d);
            partial += fmax(q * lo[c], q * hi[c]);
        }
        best = fmax(best, warpSumDouble(partial));
    }
    return best;
}

__global__ void __launch_bounds__(kThreads) streamMaskKernel(StreamMaskParams p)
{
    const StreamAttnShape& s = p.shape;
    const std::int64_t cell = blockIdx.x; // h * R + r
    const int head = static_cast<int>(cell / s.rows);
    const detail::RowPlan plan = detail::planRow(s, cell % s.rows);
    const int K = s.topK;
    std::int32_t* nodeStart = p.workspace + cell * kMaskWorkspaceInts * K; // [K]
    std::int32_t* nodeLength = nodeStart + K;                               // [K]
    std::int32_t* nodeScored = nodeLength + K;                              // [K] 1 once scored
    std::int32_t* childStart = nodeScored + K;                              // [2K]
    std::int32_t* childLength = childStart + 2 * K;                         // [2K]
    std::int32_t* childRank = childLength + 2 * K;                          // [2K] (first: 1 = to score)
    double* nodeScore = p.scores + cell * kMaskWorkspaceScores * K;         // [K]
    double* childScore = nodeScore + K;                                     // [2K]
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

    __shared__ int maxLength;
    __shared__ int children;
    const int n = plan.rangeEnd - plan.rangeFirst;
    const bool search = n > K;
    if (search) {
        if (threadIdx.x == 0) {
            maxLength = 0;
            for (int i = 0; i < K; ++i) {
                const int start = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * i / K);
                const int next = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * (i + 1) / K);
                nodeStart[i] = start;
                nodeLength[i] = next - start;
                nodeScored[i] = 0;
                maxLength = max(maxLength, next - start);
            }
        }
        __syncthreads();
        while (maxLength > 1) {
            // Split: left half (dropped when empty), right half. A one-block node passes on
            // unchanged as its right half and keeps its score once it has one (every rule).
            if (threadIdx.x == 0) {
                int c = 0;
                for (int i = 0; i < K; ++i) {
                    const int half = nodeLength[i] / 2;
                    if (half > 0) {
                        childStart[c] = nodeStart[i];
                        childLength[c] = half;
                        childRank[c++] = 1;
                    }
                    childStart[c] = nodeStart[i] + half;
                    childLength[c] = nodeLength[i] - half;
                    const bool keeps = half == 0 && nodeScored[i];
                    if (keeps) childScore[c] = nodeScore[i];
                    childRank[c++] = keeps ? 0 : 1;
                }
                children = c;
            }
            __syncthreads();
            for (int c = warp; c < children; c += kWarps) {
                if (!childRank[c]) continue;
                double score;
                if (s.scoreRule == MaskScoreRule::Bound) {
                    score = boundScore(p, head, plan, childStart[c], childLength[c], lane);
                } else {
                    const int representative = s.scoreRule == MaskScoreRule::First
                                                   ? childStart[c]
                                                   : childStart[c] + childLength[c] / 2;
                    score = representativeScore(s, head, plan, representative, lane);
                }
                if (lane == 0) childScore[c] = score;
            }
            __syncthreads();
            // Rank = children that beat this one (higher score, or equal score and lower block).
            for (int c = threadIdx.x; c < children; c += kThreads) {
                int rank = 0;
                for (int o = 0; o < children; ++o) {
                    const bool beats = childScore[o] > childScore[c] ||
                                       (childScore[o] == childScore[c] && childStart[o] < childStart[c]);
                    rank += beats ? 1 : 0;
                }
                childRank[c] = rank;
            }
            __syncthreads();
            if (threadIdx.x == 0) { // the K best, kept in ascending block order, with their scores
                int m = 0, longest = 0;
                for (int c = 0; c < children && m < K; ++c) {
                    if (childRank[c] >= K) continue;
                    nodeStart[m] = childStart[c];
                    nodeLength[m] = childLength[c];
                    nodeScore[m] = childScore[c];
                    nodeScored[m++] = 1;
                    longest = max(longest, childLength[c]);
                }
                maxLength = longest;
            }
            __syncthreads();
        }
    }
    if (threadIdx.x == 0) { // kept = sinks (before the window), searched, window: ascending
        std::int32_t* out = p.index + cell * s.kPrime;
        int m = 0;
        for (int b = plan.sinkFirst; b < plan.sinkEnd && b < plan.windowFirst; ++b) out[m++] = b;
        if (search)
            for (int i = 0; i < K; ++i) out[m++] = nodeStart[i];
        else
            for (int b = plan.rangeFirst; b < plan.rangeEnd; ++b) out[m++] = b;
        for (int b = plan.windowFirst; b < plan.windowEnd; ++b) out[m++] = b;
        while (m < s.kPrime) out[m++] = -1;
    }
}

// Level 0 of the envelope table: one thread block per (KV head, key block), threads over
// channels, the min and max over the block's keys (the last block may be partial).
__global__ void blockEnvelopeLevel0Kernel(BlockEnvelopeParams p)
{
    const StreamAttnShape& s = p.shape;
    const int kvh = static_cast<int>(blockIdx.x / p.blocks);
    const int block = static_cast<int>(blockIdx.x % p.blocks);
    const std::int64_t tFirst = static_cast<std::int64_t>(block) * s.bk;
    const std::int64_t tEnd = min(tFirst + s.bk, s.keys);
    const std::int64_t at = (static_cast<std::int64_t>(kvh) * p.levels * p.blocks + block) * s.headDim;
    for (int d = threadIdx.x; d < s.headDim; d += blockDim.x) {
        float lo = INFINITY, hi = -INFINITY;
        for (std::int64_t t = tFirst; t < tEnd; ++t) {
            const float x = detail::loadElement(s.k, s.dtype, detail::keyOffset(s, kvh, t) + d);
            lo = fminf(lo, x);
            hi = fmaxf(hi, x);
        }
        detail::storeElement(p.lo, s.dtype, at + d, lo); // exact: lo and hi are keys' values
        detail::storeElement(p.hi, s.dtype, at + d, hi);
    }
}

// Level l from two halves of level l-1: entry i = entries i and i + 2^(l-1).
__global__ void blockEnvelopeLevelKernel(BlockEnvelopeParams p, int level)
{
    const StreamAttnShape& s = p.shape;
    const int span = 1 << level, half = span / 2;
    const std::int64_t entries = static_cast<std::int64_t>(p.blocks - span + 1) * s.headDim; // per KV head
    const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= entries * s.kvHeads) return;
    const int kvh = static_cast<int>(i / entries);
    const std::int64_t e = i % entries; // block * D + d
    const std::int64_t levelSize = static_cast<std::int64_t>(p.blocks) * s.headDim;
    const std::int64_t headAt = static_cast<std::int64_t>(kvh) * p.levels * levelSize;
    const std::int64_t a = headAt + (level - 1) * levelSize + e;
    const std::int64_t c = a + static_cast<std::int64_t>(half) * s.headDim;
    const std::int64_t at = headAt + level * levelSize + e;
    detail::storeElement(p.lo, s.dtype, at,
                         fminf(detail::loadElement(p.lo, s.dtype, a), detail::loadElement(p.lo, s.dtype, c)));
    detail::storeElement(p.hi, s.dtype, at,
                         fmaxf(detail::loadElement(p.hi, s.dtype, a), detail::loadElement(p.hi, s.dtype, c)));
}

} // namespace

void launchBlockEnvelope(const BlockEnvelopeParams& p)
{
    const StreamAttnShape& s = p.shape;
    if (p.blocks == 0 || s.kvHeads == 0) return;
    blockEnvelopeLevel0Kernel<<<static_cast<unsigned>(static_cast<std::int64_t>(s.kvHeads) * p.blocks), 128, 0,
                                s.stream>>>(p);
    checkLaunch("blockEnvelopeLevel0Kernel");
    for (int level = 1; level < p.levels && (1 << level) <= p.blocks; ++level) {
        const std::int64_t entries = static_cast<std::int64_t>(p.blocks - (1 << level) + 1) * s.headDim * s.kvHeads;
        const unsigned grid = static_cast<unsigned>((entries + 255) / 256);
        blockEnvelopeLevelKernel<<<grid, 256, 0, s.stream>>>(p, level);
        checkLaunch("blockEnvelopeLevelKernel");
    }
}

void launchStreamMask(const StreamMaskParams& p)
{
    const std::int64_t cells = static_cast<std::int64_t>(p.shape.heads) * p.shape.rows;
    if (cells == 0) return;
    if (p.shape.scoreRule == MaskScoreRule::Bound && (!p.envelopeLo || !p.envelopeHi || p.envelopeLevels < 1))
        throw ArgumentError("Stream-Attn mask: the bound rule needs the envelope table (launchBlockEnvelope)");
    if (launchWarpBoundSearch(p)) return;
    if (!p.workspace || !p.scores)
        throw ArgumentError("Stream-Attn mask: this call takes the general search, which needs its workspace "
                            "(streamMaskNeedsWorkspace)");
    streamMaskKernel<<<static_cast<unsigned>(cells), kThreads, 0, p.shape.stream>>>(p);
    checkLaunch("streamMaskKernel");
}

} // namespace sparsetrace::gpu
