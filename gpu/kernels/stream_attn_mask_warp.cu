// The bound rule's mask search with one warp per (head, row) (spec section 2, issue 19): the
// nodes live in registers and a few words of shared memory (lane i holds node i, lane c child
// c, 2K <= 32), the ranking is by warp shuffles and ballots, and there is no global workspace.
// A child's bound sum_d max(q_d lo_d, q_d hi_d) = sum_d q+_d hi_d + q-_d lo_d (q+ = max(q, 0),
// q- = min(q, 0)) is a product of [q+, q-] with [hi; lo], scored two ways:
// - lane per child: lane c sums its child's bound in fp32 FMAs, queries' (q+, q-) staged in
//   shared memory (any D multiple of 4, <= 32 scoring queries);
// - tensor cores (D = 128, <= 32 scoring queries): the children's envelopes are staged in
//   shared memory as bf16 rows [hi | lo] with coalesced loads, and S = [q+ q-] [hi; lo]^T is
//   64 mma.sync m16n8k16 per round and 16 scoring queries (one or two tiles of 16 queries x 32
//   children x 256; bq = 32 takes two, each envelope fragment loaded once for both); bf16
//   operands are exact for bf16 inputs (the table holds bf16 values), sums in fp32.
// Rows of a grid are ordered (KV head, row, head in group) so the heads that share a KV head
// read one region of the envelope table together. Twin of core::searchBlocks with
// ScoreRule::Bound; the general kernel (stream_attn_mask.cu) stays the exact path for fp32 and
// the shapes these do not take.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

#include <climits>

namespace sparsetrace::gpu {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxScoringQueries = 32;
constexpr int kTensorCoreDim = 128;                     // D of the tensor-core scorer
constexpr int kEnvelopeStride = 2 * kTensorCoreDim + 8; // bf16 per staged child row [hi | lo | pad]: 528 B

struct SharedChildren { // one warp's children of a round, written by node lanes
    int start[32];
    int length[32];
    float score[32];
    int keeps[32]; // 1: a one-block node passing on with its score
};

// Four consecutive bf16 (8-byte aligned) as floats.
__device__ inline float4 load4(const __nv_bfloat16* x)
{
    const uint2 u = *reinterpret_cast<const uint2*>(x);
    const __nv_bfloat162 a = *reinterpret_cast<const __nv_bfloat162*>(&u.x),
                         b = *reinterpret_cast<const __nv_bfloat162*>(&u.y);
    return make_float4(__low2float(a), __high2float(a), __low2float(b), __high2float(b));
}

__device__ inline unsigned maxBf16x2(unsigned a, unsigned b)
{
    const __nv_bfloat162 m =
        __hmax2(*reinterpret_cast<const __nv_bfloat162*>(&a), *reinterpret_cast<const __nv_bfloat162*>(&b));
    return *reinterpret_cast<const unsigned*>(&m);
}

__device__ inline unsigned minBf16x2(unsigned a, unsigned b)
{
    const __nv_bfloat162 m =
        __hmin2(*reinterpret_cast<const __nv_bfloat162*>(&a), *reinterpret_cast<const __nv_bfloat162*>(&b));
    return *reinterpret_cast<const unsigned*>(&m);
}

// kTiles: tiles of 16 scoring queries on the tensor cores (1 or 2); 0: lane per child.
template <int kTiles>
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
    constexpr bool kTensorCores = kTiles > 0;
    constexpr int kQueryTiles = kTensorCores ? kTiles : 1;

    // Per warp: lane per child: [scoringMax, D] float32 pairs (q+, q-); tensor cores: [32,
    // kEnvelopeStride] bf16 rows [hi | lo] of the children's envelopes.
    extern __shared__ float2 staged[];
    __shared__ SharedChildren childrenOf[kWarpsPerBlock];
    float2* qs = staged + static_cast<std::int64_t>(warpInBlock) * scoringMax * D;
    __nv_bfloat16* envelopes = reinterpret_cast<__nv_bfloat16*>(staged) + warpInBlock * 32 * kEnvelopeStride;
    SharedChildren& ch = childrenOf[warpInBlock];

    const int n = plan.rangeEnd - plan.rangeFirst;
    int nodeStart = 0, nodeLength = 0; // lane i < K: node i
    if (n > K) {
        const detail::ScoringQueries scoring(s, plan);
        const int count = static_cast<int>(scoring.count);
        const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(s.q);
        // Tensor cores: A fragments of [q+ | q-] per tile (16 rows = scoring queries, 256 columns).
        unsigned qa[kQueryTiles][kTensorCores ? 2 * kTensorCoreDim / 16 : 1][4];
        if constexpr (kTensorCores) {
            const int g = lane / 4, t = lane % 4;
            const __nv_bfloat162 zero = __float2bfloat162_rn(0.0f);
#pragma unroll
            for (int mt = 0; mt < kQueryTiles; ++mt)
#pragma unroll
                for (int ks = 0; ks < kTensorCoreDim / 16; ++ks)
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        const int u = 16 * mt + g + 8 * (i % 2), d = ks * 16 + 2 * t + 8 * (i / 2);
                        __nv_bfloat162 x = zero;
                        if (u < count)
                            x = *reinterpret_cast<const __nv_bfloat162*>(
                                q + (static_cast<std::int64_t>(head) * s.queries + (scoring[u] - s.queryOffset)) * D + d);
                        const __nv_bfloat162 plus = __hmax2(x, zero), minus = __hmin2(x, zero);
                        qa[mt][ks][i] = *reinterpret_cast<const unsigned*>(&plus);
                        qa[mt][ks + kTensorCoreDim / 16][i] = *reinterpret_cast<const unsigned*>(&minus);
                    }
        } else {
            for (int u = 0; u < count; ++u) {
                const std::int64_t base =
                    (static_cast<std::int64_t>(head) * s.queries + (scoring[u] - s.queryOffset)) * D;
                for (int d = lane; d < D; d += 32) {
                    const float x = __bfloat162float(q[base + d]);
                    qs[u * D + d] = make_float2(fmaxf(x, 0.0f), fminf(x, 0.0f));
                }
            }
        }
        __syncwarp();
        float nodeScore = 0.0f;
        bool nodeScored = false;
        if (lane < K) {
            nodeStart = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * lane / K);
            nodeLength = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * (lane + 1) / K) - nodeStart;
        }
        const __nv_bfloat16* tableLo = static_cast<const __nv_bfloat16*>(p.envelopeLo); // bf16 calls only
        const __nv_bfloat16* tableHi = static_cast<const __nv_bfloat16*>(p.envelopeHi);
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
            if constexpr (kTensorCores) {
                // Stage the envelopes of the children to score: lanes over channels, coalesced.
                for (int c = 0; c < children; ++c) {
                    if (ch.keeps[c]) continue; // uniform over the warp
                    const int cs = ch.start[c], cl = ch.length[c];
                    int level = 0;
                    while ((2 << level) <= cl)
                        ++level;
                    const std::int64_t levelAt = tableHead + static_cast<std::int64_t>(level) * p.envelopeBlocks;
                    const std::int64_t a = (levelAt + cs) * D + lane * 4,
                                       b = (levelAt + cs + cl - (1 << level)) * D + lane * 4;
                    const uint2 la = *reinterpret_cast<const uint2*>(tableLo + a);
                    const uint2 lb = *reinterpret_cast<const uint2*>(tableLo + b);
                    const uint2 ha = *reinterpret_cast<const uint2*>(tableHi + a);
                    const uint2 hb = *reinterpret_cast<const uint2*>(tableHi + b);
                    __nv_bfloat16* rowAt = envelopes + c * kEnvelopeStride + lane * 4;
                    *reinterpret_cast<uint2*>(rowAt) = make_uint2(maxBf16x2(ha.x, hb.x), maxBf16x2(ha.y, hb.y));
                    *reinterpret_cast<uint2*>(rowAt + kTensorCoreDim) =
                        make_uint2(minBf16x2(la.x, lb.x), minBf16x2(la.y, lb.y));
                }
                __syncwarp();
                // S [16 queries per tile, 32 children] = [q+ | q-] [hi | lo]^T; max over the
                // scoring queries of every tile.
                const int g = lane / 4, mi = lane / 8, mr = lane % 8;
                float best[4][2];
#pragma unroll
                for (int nt = 0; nt < 4; ++nt) {
                    float acc[kQueryTiles][4];
#pragma unroll
                    for (int mt = 0; mt < kQueryTiles; ++mt)
                        acc[mt][0] = acc[mt][1] = acc[mt][2] = acc[mt][3] = 0.0f;
#pragma unroll
                    for (int ks = 0; ks < 2 * kTensorCoreDim / 16; ks += 2) {
                        unsigned r[4];
                        detail::ldmatrixX4(r, envelopes + (nt * 8 + mr) * kEnvelopeStride + (ks + mi / 2) * 16 +
                                                  (mi % 2) * 8);
#pragma unroll
                        for (int mt = 0; mt < kQueryTiles; ++mt) {
                            detail::mma16816(acc[mt], qa[mt][ks], r[0], r[1]);
                            detail::mma16816(acc[mt], qa[mt][ks + 1], r[2], r[3]);
                        }
                    }
                    best[nt][0] = best[nt][1] = -INFINITY;
#pragma unroll
                    for (int mt = 0; mt < kQueryTiles; ++mt) {
                        const bool row0 = 16 * mt + g < count, row1 = 16 * mt + g + 8 < count;
                        best[nt][0] = fmaxf(best[nt][0], fmaxf(row0 ? acc[mt][0] : -INFINITY, row1 ? acc[mt][2] : -INFINITY));
                        best[nt][1] = fmaxf(best[nt][1], fmaxf(row0 ? acc[mt][1] : -INFINITY, row1 ? acc[mt][3] : -INFINITY));
                    }
#pragma unroll
                    for (int e = 0; e < 2; ++e)
#pragma unroll
                        for (int o = 4; o < 32; o <<= 1)
                            best[nt][e] = fmaxf(best[nt][e], __shfl_xor_sync(0xffffffffu, best[nt][e], o));
                }
                // Child c = 8 nt + 2 t + e sits in lane t (any g): hand it to lane c.
#pragma unroll
                for (int nt = 0; nt < 4; ++nt)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const float x = __shfl_sync(0xffffffffu, best[nt][e], (lane % 8) / 2);
                        if (lane / 8 == nt && lane % 2 == e) score = x;
                    }
                if (!valid)
                    score = -INFINITY;
                else if (ch.keeps[lane])
                    score = ch.score[lane];
            } else {
                if (valid && ch.keeps[lane]) {
                    score = ch.score[lane];
                } else if (valid) {
                    int level = 0;
                    while ((2 << level) <= length)
                        ++level;
                    const std::int64_t levelAt = tableHead + static_cast<std::int64_t>(level) * p.envelopeBlocks;
                    const __nv_bfloat16* loA = tableLo + (levelAt + start) * D;
                    const __nv_bfloat16* loB = tableLo + (levelAt + start + length - (1 << level)) * D;
                    const __nv_bfloat16* hiA = tableHi + (levelAt + start) * D;
                    const __nv_bfloat16* hiB = tableHi + (levelAt + start + length - (1 << level)) * D;
                    float acc[kMaxScoringQueries];
#pragma unroll
                    for (int u = 0; u < kMaxScoringQueries; ++u)
                        acc[u] = 0.0f;
                    for (int d = 0; d < D; d += 4) {
                        const float4 la = load4(loA + d), lb = load4(loB + d);
                        const float4 ha = load4(hiA + d), hb = load4(hiB + d);
                        const float lo[4] = {fminf(la.x, lb.x), fminf(la.y, lb.y), fminf(la.z, lb.z),
                                             fminf(la.w, lb.w)};
                        const float hi[4] = {fmaxf(ha.x, hb.x), fmaxf(ha.y, hb.y), fmaxf(ha.z, hb.z),
                                             fmaxf(ha.w, hb.w)};
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
        if (i < sinks)
            b = plan.sinkFirst + i;
        else if (i < sinks + searched)
            b = n > K ? -2 : plan.rangeFirst + (i - sinks);
        else if (i < sinks + searched + window)
            b = plan.windowFirst + (i - sinks - searched);
        if (b != -2) out[i] = b;
    }
    if (n > K && lane < K) out[sinks + lane] = nodeStart;
}

} // namespace

namespace {

// Which warp search a call takes, and its dynamic shared memory; fits = false: the general kernel.
struct WarpSearchPlan {
    bool fits = false, tensorCores = false;
    int scoringMax = 0;
    std::size_t bytes = 0;
};

WarpSearchPlan planWarpSearch(const StreamMaskParams& p)
{
    const StreamAttnShape& s = p.shape;
    WarpSearchPlan w;
    const std::int64_t fullCount = s.bq >= s.queryStride ? (s.bq - s.queryStride) / s.queryStride + 1 : 1;
    w.scoringMax = static_cast<int>(fullCount);
    if (p.search == BoundSearch::General || s.scoreRule != MaskScoreRule::Bound || s.dtype != ElementType::BF16 ||
        2 * s.topK > 32 || w.scoringMax > kMaxScoringQueries || s.headDim % 4 != 0)
        return w;
    w.tensorCores = p.search != BoundSearch::LanePerChild && s.headDim == kTensorCoreDim && w.scoringMax <= 32;
    w.bytes = w.tensorCores ? static_cast<std::size_t>(kWarpsPerBlock) * 32 * kEnvelopeStride * 2
                            : static_cast<std::size_t>(kWarpsPerBlock) * w.scoringMax * s.headDim * sizeof(float2);
    int device = 0, optin = 0;
    checkCuda(cudaGetDevice(&device), "cudaGetDevice");
    checkCuda(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
              "cudaDeviceGetAttribute");
    w.fits = w.bytes + sizeof(SharedChildren) * kWarpsPerBlock <= static_cast<std::size_t>(optin);
    return w;
}

} // namespace

bool streamMaskNeedsWorkspace(const StreamMaskParams& p) { return !planWarpSearch(p).fits; }

bool launchWarpBoundSearch(const StreamMaskParams& p)
{
    const StreamAttnShape& s = p.shape;
    const WarpSearchPlan w = planWarpSearch(p);
    if (!w.fits) return false;
    const bool tensorCores = w.tensorCores;
    const int scoringMax = w.scoringMax;
    const std::size_t bytes = w.bytes;
    const auto kernel = !tensorCores ? warpBoundSearchKernel<0>
                        : scoringMax <= 16 ? warpBoundSearchKernel<1>
                                           : warpBoundSearchKernel<2>;
    detail::allowSharedMemory(kernel, bytes, sizeof(SharedChildren) * kWarpsPerBlock, "bound search");
    const std::int64_t warps = static_cast<std::int64_t>(s.heads) * s.rows;
    const unsigned grid = static_cast<unsigned>((warps + kWarpsPerBlock - 1) / kWarpsPerBlock);
    kernel<<<grid, kWarpsPerBlock * 32, bytes, s.stream>>>(p, scoringMax);
    checkLaunch("warpBoundSearchKernel");
    return true;
}

} // namespace sparsetrace::gpu
