// Stream-Attn mask estimation on the GPU (spec section 2): one thread block per (head, row)
// runs the hierarchical top-k search. Warps score children (lanes over (query, key) pairs of
// the representative block), every thread ranks a child, thread 0 does the O(K) bookkeeping.
// Twin of core::searchBlocks / core::keptBlocks. Correct first; speed is a later issue.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

#include <cfloat>

namespace sparsetrace::gpu {
namespace {

using detail::kThreads;
using detail::kWarps;

// max of q_j . k_t over the scoring queries j and keys t of `block` that j sees; -inf if none.
// Called by a whole warp; every lane gets the result.
__device__ float representativeScore(const StreamAttnShape& s, int head, const detail::RowPlan& plan, int block,
                                     int lane)
{
    const int kvh = head / (s.heads / s.kvHeads);
    // Scoring queries: first + sq-1 + u*sq <= last, or the last query alone when none.
    std::int64_t scoringCount = (plan.queryCount - s.queryStride) / s.queryStride + 1;
    const bool strided = plan.queryCount >= s.queryStride;
    if (!strided) scoringCount = 1;
    const std::int64_t keyFirst = static_cast<std::int64_t>(block) * s.bk;
    const std::int64_t pairs = scoringCount * s.bk;
    float best = -INFINITY;
    for (std::int64_t pair = lane; pair < pairs; pair += 32) {
        const std::int64_t u = pair / s.bk;
        const std::int64_t t = keyFirst + pair % s.bk;
        const std::int64_t j = strided ? plan.firstQuery + s.queryStride - 1 + u * s.queryStride : plan.lastQuery;
        if (t >= s.keys || t > j || t < detail::firstVisibleKey(s, j)) continue;
        const std::int64_t qBase = (static_cast<std::int64_t>(head) * s.queries + (j - s.queryOffset)) * s.headDim;
        const std::int64_t kBase = (static_cast<std::int64_t>(kvh) * s.keys + t) * s.headDim;
        float dot = 0.0f;
        for (int d = 0; d < s.headDim; ++d)
            dot += detail::loadElement(s.q, s.dtype, qBase + d) * detail::loadElement(s.k, s.dtype, kBase + d);
        best = fmaxf(best, dot); // fmaxf drops NaN, as the reference's std::max does
    }
    return detail::warpMax(best);
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
    std::int32_t* childStart = nodeLength + K;                              // [2K]
    std::int32_t* childLength = childStart + 2 * K;                         // [2K]
    std::int32_t* childRank = childLength + 2 * K;                          // [2K]
    float* childScore = p.childScore + cell * kMaskWorkspaceFloats * K;     // [2K]
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
                maxLength = max(maxLength, next - start);
            }
        }
        __syncthreads();
        while (maxLength > 1) {
            if (threadIdx.x == 0) { // split: left half (dropped when empty), right half
                int c = 0;
                for (int i = 0; i < K; ++i) {
                    const int half = nodeLength[i] / 2;
                    if (half > 0) {
                        childStart[c] = nodeStart[i];
                        childLength[c++] = half;
                    }
                    childStart[c] = nodeStart[i] + half;
                    childLength[c++] = nodeLength[i] - half;
                }
                children = c;
            }
            __syncthreads();
            for (int c = warp; c < children; c += kWarps) {
                const int representative =
                    s.representativeFirst ? childStart[c] : childStart[c] + childLength[c] / 2;
                const float score = representativeScore(s, head, plan, representative, lane);
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
            if (threadIdx.x == 0) { // the K best, kept in ascending block order
                int m = 0, longest = 0;
                for (int c = 0; c < children && m < K; ++c) {
                    if (childRank[c] >= K) continue;
                    nodeStart[m] = childStart[c];
                    nodeLength[m++] = childLength[c];
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

} // namespace

void launchStreamMask(const StreamMaskParams& p)
{
    const std::int64_t cells = static_cast<std::int64_t>(p.shape.heads) * p.shape.rows;
    if (cells == 0) return;
    streamMaskKernel<<<static_cast<unsigned>(cells), kThreads, 0, p.shape.stream>>>(p);
    checkLaunch("streamMaskKernel");
}

} // namespace sparsetrace::gpu
