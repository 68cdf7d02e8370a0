// Device-side pieces shared by the Stream-Attn kernels: the row geometry (the twin of
// core::planRow, spec section 2), element loads for f32/bf16, visibility and warp reductions.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "cuda_check.cuh"
#include "stream_attn.cuh"

#include <cuda_bf16.h>

#include <string>

namespace sparsetrace::gpu::detail {

constexpr int kThreads = 256; // 8 warps per (head, row) block
constexpr int kWarps = kThreads / 32;
constexpr int kDimsPerLane = kMaxHeadDim / 32;

// Key-block geometry of one row; see core::RowPlan for the meaning of every field.
// Offset of key t of KV head kvh in k and v (StreamAttnShape::kvHeadStride).
__device__ inline std::int64_t keyOffset(const StreamAttnShape& s, int kvh, std::int64_t t)
{
    const std::int64_t headStride = s.kvHeadStride > 0 ? s.kvHeadStride : s.keys * s.headDim;
    return static_cast<std::int64_t>(kvh) * headStride + t * s.headDim;
}

struct RowPlan {
    std::int64_t firstQuery, lastQuery, queryCount;
    int visibleFirst, lastBlock, sinkFirst, sinkEnd, windowFirst, windowEnd, rangeFirst, rangeEnd;
};

__device__ inline RowPlan planRow(const StreamAttnShape& s, std::int64_t row)
{
    RowPlan p;
    p.firstQuery = s.queryOffset + row * s.bq;
    p.queryCount = min(static_cast<std::int64_t>(s.bq), s.queries - row * s.bq);
    p.lastQuery = p.firstQuery + p.queryCount - 1;
    const int sinkBlocks = s.sinks / s.bk;
    p.visibleFirst =
        s.slidingWindow > 0 ? static_cast<int>(max(std::int64_t{0}, p.firstQuery - s.slidingWindow + 1) / s.bk) : 0;
    p.lastBlock = static_cast<int>(p.lastQuery / s.bk);
    p.sinkFirst = p.visibleFirst;
    p.sinkEnd = max(p.sinkFirst, min(sinkBlocks, p.lastBlock + 1));
    const int localFirst = static_cast<int>(max(std::int64_t{0}, p.lastQuery - s.window + 1) / s.bk);
    p.windowFirst = max(localFirst, p.visibleFirst);
    p.windowEnd = p.lastBlock + 1;
    p.rangeFirst = max(sinkBlocks, p.visibleFirst);
    p.rangeEnd = max(p.rangeFirst, p.windowFirst);
    return p;
}

__device__ inline float loadElement(const void* base, ElementType t, std::int64_t i)
{
    if (t == ElementType::BF16) return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
    return static_cast<const float*>(base)[i];
}

__device__ inline void storeElement(void* base, ElementType t, std::int64_t i, float x)
{
    if (t == ElementType::BF16)
        static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16(x);
    else
        static_cast<float*>(base)[i] = x;
}

// The scoring queries of a row (core::scoringQueries): first + sq-1 + u*sq <= last, or the
// last query alone when the stride selects none.
struct ScoringQueries {
    std::int64_t count, first, step;
    __device__ ScoringQueries(const StreamAttnShape& s, const RowPlan& plan)
    {
        if (plan.queryCount >= s.queryStride) {
            count = (plan.queryCount - s.queryStride) / s.queryStride + 1;
            first = plan.firstQuery + s.queryStride - 1;
            step = s.queryStride;
        } else {
            count = 1;
            first = plan.lastQuery;
            step = 1;
        }
    }
    __device__ std::int64_t operator[](std::int64_t u) const { return first + u * step; }
};

// The first key position the query at `pos` can see (sliding window), causal end is pos.
__device__ inline std::int64_t firstVisibleKey(const StreamAttnShape& s, std::int64_t pos)
{
    return s.slidingWindow > 0 ? max(std::int64_t{0}, pos - s.slidingWindow + 1) : 0;
}

__device__ inline float warpSum(float x)
{
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

__device__ inline float warpMax(float x)
{
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}

// A query held across the lanes of a warp: lane owns dims lane, lane+32, ...
struct WarpQuery {
    float q[kDimsPerLane];
    __device__ void load(const StreamAttnShape& s, int head, std::int64_t i, int lane)
    {
        const std::int64_t base = (static_cast<std::int64_t>(head) * s.queries + i) * s.headDim;
        for (int c = 0; c < kDimsPerLane; ++c) {
            const int d = lane + 32 * c;
            q[c] = d < s.headDim ? loadElement(s.q, s.dtype, base + d) : 0.0f;
        }
    }
    // q . k_t for KV head kvh, summed over the warp (every lane gets the result).
    __device__ float dotKey(const StreamAttnShape& s, int kvh, std::int64_t t, int lane) const
    {
        const std::int64_t base = keyOffset(s, kvh, t);
        float partial = 0.0f;
        for (int c = 0; c < kDimsPerLane; ++c) {
            const int d = lane + 32 * c;
            if (d < s.headDim) partial += q[c] * loadElement(s.k, s.dtype, base + d);
        }
        return warpSum(partial);
    }
};

// The tail of the block-mass kernels (fidelity pass and dense-layer records), twin of
// core::measureFidelity / core::topBlocks: from one row's block masses (summed over the row's
// queries, blockMass[i] for block visibleFirst + i, i < nb) the captured mass of the mask row
// (with p.mask) and the top blocks by mass, ties to the lower block, written ascending and -1
// padded. Every thread of the block calls it; `threads` = blockDim.x; reduceMass and reduceBlock
// hold the next power of two >= threads entries; blockMass is overwritten (taken blocks: -1).
__device__ inline void selectBlocks(const BlockMassParams& p, std::int64_t cell, const RowPlan& plan, float* blockMass,
                                    int nb, int* chosen, float* chosenMass, float* reduceMass, int* reduceBlock,
                                    int threads)
{
    const StreamAttnShape& s = p.shape;
    int width = 1; // power of two >= threads
    while (width < threads) width *= 2;
    const float queries = static_cast<float>(plan.queryCount);
    __shared__ int budget;
    __syncthreads(); // blockMass complete; `budget` of an earlier call read by all
    if (threadIdx.x == 0) {
        if (p.mask) {
            int count = 0;
            float captured = 0.0f;
            for (int i = 0; i < s.kPrime; ++i) {
                const int b = p.mask[cell * s.kPrime + i];
                if (b < 0) continue;
                ++count;
                if (b >= plan.visibleFirst && b <= plan.lastBlock) captured += blockMass[b - plan.visibleFirst];
            }
            p.captured[cell] = captured / queries;
            budget = min(count, nb);
        } else {
            budget = min(s.kPrime, nb);
        }
    }
    __syncthreads();
    // `budget` rounds of argmax (highest mass, then lower block); a taken block is marked -1
    // (masses are >= 0).
    for (int round = 0; round < budget; ++round) {
        float best = -2.0f;
        int bestBlock = 0x7fffffff;
        for (int i = threadIdx.x; i < nb; i += threads) {
            if (blockMass[i] > best || (blockMass[i] == best && i < bestBlock)) {
                best = blockMass[i];
                bestBlock = i;
            }
        }
        reduceMass[threadIdx.x] = best;
        reduceBlock[threadIdx.x] = bestBlock;
        if (threadIdx.x + threads < width) { // padding up to the power of two
            reduceMass[threadIdx.x + threads] = -2.0f;
            reduceBlock[threadIdx.x + threads] = 0x7fffffff;
        }
        __syncthreads();
        for (int stride = width / 2; stride > 0; stride >>= 1) {
            if (threadIdx.x < stride) {
                const float om = reduceMass[threadIdx.x + stride];
                const int ob = reduceBlock[threadIdx.x + stride];
                if (om > reduceMass[threadIdx.x] || (om == reduceMass[threadIdx.x] && ob < reduceBlock[threadIdx.x])) {
                    reduceMass[threadIdx.x] = om;
                    reduceBlock[threadIdx.x] = ob;
                }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            const int i = reduceBlock[0];
            chosen[round] = plan.visibleFirst + i;
            chosenMass[round] = blockMass[i] / queries;
            blockMass[i] = -1.0f;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) { // ascending block order, -1 padding
        for (int a = 1; a < budget; ++a) {
            const int b = chosen[a];
            const float bm = chosenMass[a];
            int c = a - 1;
            while (c >= 0 && chosen[c] > b) {
                chosen[c + 1] = chosen[c];
                chosenMass[c + 1] = chosenMass[c];
                --c;
            }
            chosen[c + 1] = b;
            chosenMass[c + 1] = bm;
        }
        for (int i = 0; i < s.kPrime; ++i) {
            p.topIndex[cell * s.kPrime + i] = i < budget ? chosen[i] : -1;
            if (p.topMass) p.topMass[cell * s.kPrime + i] = i < budget ? chosenMass[i] : 0.0f;
        }
    }
}

// Tensor-core pieces (sm_80+): mma.sync m16n8k16 with bf16 inputs and fp32 accumulators, and
// ldmatrix of four 8x8 bf16 matrices (rows addressed by lanes 8i..8i+7 for matrix i).
__device__ inline void mma16816(float* c, const unsigned* a, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ inline void ldmatrixX4(unsigned* r, const void* smem)
{
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

__device__ inline void ldmatrixX4Trans(unsigned* r, const void* smem)
{
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

// S = Q K^T for one warp's 16 queries and kKeys keys: qa holds Q's A fragments per k-step of 16
// channels, `keys` the keys staged as rows of kRowStride bf16 (ldmatrix); sc[n-tile][4] gets
// rows g, g + 8 and keys 8 n-tile + 2t, + 1 of the warp's tile (g = lane / 4, t = lane % 4).
template <int kKeys, int kHeadDim, int kRowStride>
__device__ __forceinline__ void scoreTile(float (&sc)[kKeys / 8][4], const unsigned (&qa)[kHeadDim / 16][4],
                                          const __nv_bfloat16* keys, int lane)
{
#pragma unroll
    for (auto& tile : sc) tile[0] = tile[1] = tile[2] = tile[3] = 0.0f;
    const int mi = lane / 8, mr = lane % 8;
#pragma unroll
    for (int ks = 0; ks < kHeadDim / 16; ++ks) {
#pragma unroll
        for (int np = 0; np < kKeys / 16; ++np) {
            unsigned r[4];
            ldmatrixX4(r, keys + (np * 16 + (mi / 2) * 8 + mr) * kRowStride + ks * 16 + (mi % 2) * 8);
            mma16816(sc[2 * np], qa[ks], r[0], r[1]);
            mma16816(sc[2 * np + 1], qa[ks], r[2], r[3]);
        }
    }
}

__device__ inline unsigned packBf16(float lo, float hi)
{
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const unsigned*>(&v);
}

// Lets a kernel use `dynamicBytes` of dynamic shared memory besides its `staticBytes` (opt-in
// above 48 KiB); throws ArgumentError when the device cannot give that much.
template <class Kernel>
void allowSharedMemory(Kernel kernel, std::size_t dynamicBytes, std::size_t staticBytes, const char* what)
{
    int device = 0, optin = 0;
    checkCuda(cudaGetDevice(&device), "cudaGetDevice");
    checkCuda(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "cudaDeviceGetAttribute");
    if (dynamicBytes + staticBytes > static_cast<std::size_t>(optin))
        throw ArgumentError(std::string(what) + ": needs " + std::to_string(dynamicBytes + staticBytes) +
                            " bytes of shared memory per row, the device has " + std::to_string(optin));
    if (dynamicBytes + staticBytes > 48 * 1024)
        checkCuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(dynamicBytes)),
                  "cudaFuncSetAttribute");
}

} // namespace sparsetrace::gpu::detail

namespace sparsetrace::gpu {
// The one-warp-per-row search of the bound rule (stream_attn_mask_warp.cu) when the call fits
// it (bf16, 2K <= 32, at most 32 scoring queries, D a multiple of 4); false: not launched.
bool launchWarpBoundSearch(const StreamMaskParams& p);
// The tensor-core block-sparse attention (stream_attn_sparse_mma.cu) when the call fits it
// (a mask index, bf16, D = 128, bq and bk 16 or 32); false: not launched.
bool launchMmaBlockSparseAttention(const BlockSparseParams& p);
// The tensor-core block-mass pass (stream_attn_fidelity_mma.cu) when the call fits it (bf16,
// D = 128, bq 16, 32 or 64, bk 16, 32 or 64, the row's block masses in shared memory); false:
// not launched.
bool launchMmaBlockMass(const BlockMassParams& p);
} // namespace sparsetrace::gpu
