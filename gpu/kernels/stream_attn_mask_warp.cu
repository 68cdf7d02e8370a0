// The bound rule's mask search with one warp per (head, row) (spec section 2, issue 19): lane c
// owns child c (2K <= 32), the nodes live in registers and a few words of shared memory, the
// ranking is by warp shuffles and ballots, and there is no global workspace. The scoring
// queries are staged once per row in shared memory as (max(q, 0), min(q, 0)) pairs, so a
// child's bound sum_d max(q_d lo_d, q_d hi_d) = sum_d q+_d hi_d + q-_d lo_d is two FMAs per
// channel and query, in fp32 (bf16 inputs: every operand is bf16-exact). The rows of a grid are
// ordered (KV head, row, head in group) so the heads that share a KV head read one envelope
// table region together. Twin of core::searchBlocks with ScoreRule::Bound; the general kernel
// (stream_attn_mask.cu) stays the exact path for fp32 and the shapes this one does not take.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

#include <climits>

namespace sparsetrace::gpu {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxScoringQueries = 32;

struct SharedChildren { // one warp's children of a round, written by node lanes
    int start[32];
    int length[32];
    float score[32];
    int keeps[32]; // 1: a one-block node passing on with its score
};

__global__ void __launch_bounds__(kWarpsPerBlock * 32) warpBoundSearchKernel(StreamMaskParams p, int scoringMax)
{
    const StreamAttnShape& s = p.shape;
    const int lane = threadIdx.x % 32, warpInBlock = threadIdx.x / 32;
    const int group = s.heads / s.kvHeads;
    const std::int64_t w = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + warpInBlock;
    if (w >= static_cast<std::int64_t>(s.heads) * s.rows) return;
    // (KV head, row, head in group), head in group fastest.
    const int kvh = static_cast<int>(w / (static_cast<std::int64_t>(group) * s.rows));
    const std::int64_t row = (w / group) % s.rows;
    const int head = kvh * group + static_cast<int>(w % group);
    const std::int64_t cell = static_cast<std::int64_t>(head) * s.rows + row;
    const detail::RowPlan plan = detail::planRow(s, row);
    const int K = s.topK, D = s.headDim;

    extern __shared__ float2 staged[]; // per warp: [scoringMax, D] float32 pairs (q+, q-)
    __shared__ SharedChildren childrenOf[kWarpsPerBlock];
    float2* qs = staged + static_cast<std::int64_t>(warpInBlock) * scoringMax * D;
    SharedChildren& ch = childrenOf[warpInBlock];

    const int n = plan.rangeEnd - plan.rangeFirst;
    int nodeStart = 0, nodeLength = 0; // lane i < K: node i
    if (n > K) {
        const detail::ScoringQueries scoring(s, plan);
        const int count = static_cast<int>(scoring.count);
        const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(s.q);
        for (int u = 0; u < count; ++u) {
            const std::int64_t base = (static_cast<std::int64_t>(head) * s.queries + (scoring[u] - s.queryOffset)) * D;
            for (int d = lane; d < D; d += 32) {
                const float x = __bfloat162float(q[base + d]);
                qs[u * D + d] = make_float2(fmaxf(x, 0.0f), fminf(x, 0.0f));
            }
        }
        __syncwarp();
        float nodeScore = 0.0f;
        bool nodeScored = false;
        if (lane < K) {
            nodeStart = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * lane / K);
            nodeLength = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * (lane + 1) / K) - nodeStart;
        }
        const std::int64_t tableHead = static_cast<std::int64_t>(kvh) * p.envelopeLevels * p.envelopeBlocks;
        while (__any_sync(0xffffffffu, lane < K && nodeLength > 1)) {
            // Split: node i writes its children at i + (nodes before it that have two).
            const unsigned two = __ballot_sync(0xffffffffu, lane < K && nodeLength > 1);
            const int children = K + __popc(two);
            if (lane < K) {
                const int at = lane + __popc(two & ((1u << lane) - 1u));
                const int half = nodeLength / 2;
                if (half > 0) {
                    ch.start[at] = nodeStart;
                    ch.length[at] = half;
                    ch.keeps[at] = 0;
                }
                const int right = at + (half > 0 ? 1 : 0);
                ch.start[right] = nodeStart + half;
                ch.length[right] = nodeLength - half;
                ch.keeps[right] = half == 0 && nodeScored;
                ch.score[right] = nodeScore;
            }
            __syncwarp();
            const bool valid = lane < children;
            const int start = valid ? ch.start[lane] : INT_MAX;
            const int length = valid ? ch.length[lane] : 1;
            float score = -INFINITY;
            if (valid && ch.keeps[lane]) {
                score = ch.score[lane];
            } else if (valid) {
                int level = 0;
                while ((2 << level) <= length) ++level;
                const std::int64_t levelAt = tableHead + static_cast<std::int64_t>(level) * p.envelopeBlocks;
                const float* loA = p.envelopeLo + (levelAt + start) * D;
                const float* loB = p.envelopeLo + (levelAt + start + length - (1 << level)) * D;
                const float* hiA = p.envelopeHi + (levelAt + start) * D;
                const float* hiB = p.envelopeHi + (levelAt + start + length - (1 << level)) * D;
                float acc[kMaxScoringQueries];
#pragma unroll
                for (int u = 0; u < kMaxScoringQueries; ++u) acc[u] = 0.0f;
                for (int d = 0; d < D; d += 4) {
                    const float4 la = *reinterpret_cast<const float4*>(loA + d);
                    const float4 lb = *reinterpret_cast<const float4*>(loB + d);
                    const float4 ha = *reinterpret_cast<const float4*>(hiA + d);
                    const float4 hb = *reinterpret_cast<const float4*>(hiB + d);
                    const float lo[4] = {fminf(la.x, lb.x), fminf(la.y, lb.y), fminf(la.z, lb.z), fminf(la.w, lb.w)};
                    const float hi[4] = {fmaxf(ha.x, hb.x), fmaxf(ha.y, hb.y), fmaxf(ha.z, hb.z), fmaxf(ha.w, hb.w)};
#pragma unroll
                    for (int u = 0; u < kMaxScoringQueries; ++u) {
                        if (u >= count) break;
                        const float4 q01 = *reinterpret_cast<const float4*>(qs + u * D + d);
                        const float4 q23 = *reinterpret_cast<const float4*>(qs + u * D + d + 2);
                        float a = acc[u];
                        a = fmaf(q01.x, hi[0], fmaf(q01.y, lo[0], a));
                        a = fmaf(q01.z, hi[1], fmaf(q01.w, lo[1], a));
                        a = fmaf(q23.x, hi[2], fmaf(q23.y, lo[2], a));
                        a = fmaf(q23.z, hi[3], fmaf(q23.w, lo[3], a));
                        acc[u] = a;
                    }
                }
#pragma unroll
                for (int u = 0; u < kMaxScoringQueries; ++u)
                    if (u < count) score = fmaxf(score, acc[u]);
            }
            // Rank: the children that beat this one (higher score, or equal and lower start).
            int rank = 0;
            for (int o = 0; o < 32; ++o) {
                const float so = __shfl_sync(0xffffffffu, score, o);
                const int to = __shfl_sync(0xffffffffu, start, o);
                rank += (o < children && (so > score || (so == score && to < start))) ? 1 : 0;
            }
            const unsigned chosen = __ballot_sync(0xffffffffu, valid && rank < K);
            __syncwarp();
            // Node i = the i-th chosen child (ascending block order), with its score.
            const int from = lane < K ? static_cast<int>(__fns(chosen, 0, lane + 1)) : 0;
            const int fromStart = __shfl_sync(0xffffffffu, start, from);
            const int fromLength = __shfl_sync(0xffffffffu, length, from);
            const float fromScore = __shfl_sync(0xffffffffu, score, from);
            if (lane < K) {
                nodeStart = fromStart;
                nodeLength = fromLength;
                nodeScore = fromScore;
                nodeScored = true;
            }
        }
    }
    // kept = sinks (before the window), searched, window: ascending.
    std::int32_t* out = p.index + cell * s.kPrime;
    const int sinks = max(0, min(plan.sinkEnd, plan.windowFirst) - plan.sinkFirst);
    const int searched = n > K ? K : n;
    const int window = plan.windowEnd - plan.windowFirst;
    for (int i = lane; i < s.kPrime; i += 32) {
        int b = -1;
        if (i < sinks) b = plan.sinkFirst + i;
        else if (i < sinks + searched) b = n > K ? -2 : plan.rangeFirst + (i - sinks);
        else if (i < sinks + searched + window) b = plan.windowFirst + (i - sinks - searched);
        if (b != -2) out[i] = b;
    }
    if (n > K && lane < K) out[sinks + lane] = nodeStart;
}

} // namespace

bool launchWarpBoundSearch(const StreamMaskParams& p)
{
    const StreamAttnShape& s = p.shape;
    const std::int64_t fullCount = s.bq >= s.queryStride ? (s.bq - s.queryStride) / s.queryStride + 1 : 1;
    const int scoringMax = static_cast<int>(fullCount);
    if (s.scoreRule != MaskScoreRule::Bound || s.dtype != ElementType::BF16 || 2 * s.topK > 32 ||
        scoringMax > kMaxScoringQueries || s.headDim % 4 != 0)
        return false;
    const std::size_t bytes = static_cast<std::size_t>(kWarpsPerBlock) * scoringMax * s.headDim * sizeof(float2);
    int device = 0, optin = 0;
    checkCuda(cudaGetDevice(&device), "cudaGetDevice");
    checkCuda(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "cudaDeviceGetAttribute");
    if (bytes + sizeof(SharedChildren) * kWarpsPerBlock > static_cast<std::size_t>(optin)) return false;
    detail::allowSharedMemory(warpBoundSearchKernel, bytes, sizeof(SharedChildren) * kWarpsPerBlock, "bound search");
    const std::int64_t warps = static_cast<std::int64_t>(s.heads) * s.rows;
    const unsigned grid = static_cast<unsigned>((warps + kWarpsPerBlock - 1) / kWarpsPerBlock);
    warpBoundSearchKernel<<<grid, kWarpsPerBlock * 32, bytes, s.stream>>>(p, scoringMax);
    checkLaunch("warpBoundSearchKernel");
    return true;
}

} // namespace sparsetrace::gpu
