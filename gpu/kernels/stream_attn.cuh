// Parameter structs and launchers of the Stream-Attn CUDA kernels (spec sections 2, 3, 5): mask
// estimation, block-sparse attention with block mass, and the fidelity pass. No torch: the op
// (gpu/src/stream_attn/stream_attn_op.cpp) checks tensors and fills these. The CPU twin and
// specification is core/include/sparsetrace/core/stream_attn.h; the geometry below mirrors it.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace sparsetrace::gpu {

enum class ElementType { F32, BF16 };

// The score rule of the mask search (core::ScoreRule, spec section 2).
enum class MaskScoreRule { Centre, First, Bound };

// One attention call: shapes, positions and the Stream-Attn parameters. Tensors are
// contiguous, row-major, on the current device.
struct StreamAttnShape {
    ElementType dtype = ElementType::F32; // of q, k, v and output
    const void* q = nullptr; // [H, Tq, D] dtype
    const void* k = nullptr; // [Hkv, Tk, D] dtype
    const void* v = nullptr; // [Hkv, Tk, D] dtype
    int heads = 0;           // H
    int kvHeads = 0;         // Hkv, divides H
    std::int64_t queries = 0; // Tq
    std::int64_t keys = 0;    // Tk
    // Elements between KV heads of k and v (rows within a head stay headDim apart): 0 means
    // keys * headDim (contiguous); a KV cache's view [Hkv, 0:Tk, D] of [Hkv, capacity, D] has
    // capacity * headDim, so decode steps read the cache in place.
    std::int64_t kvHeadStride = 0;
    int headDim = 0;          // D, at most kMaxHeadDim
    float scale = 1.0f;       // logits = scale * q.k
    std::int64_t queryOffset = 0; // position of query 0
    int slidingWindow = 0;    // 0 = global layer
    int bq = 32, bk = 32, topK = 16, sinks = 32, window = 64, queryStride = 1;
    MaskScoreRule scoreRule = MaskScoreRule::Centre;
    int kPrime = 0;           // K + S/bk + ceil(W/bk) + 1
    std::int64_t rows = 0;    // R = ceil(Tq / bq)
    cudaStream_t stream = nullptr;
};

constexpr int kMaxHeadDim = 256;

// The channel-wise envelope table of the bound rule (core::BlockEnvelopeTable): per KV head,
// level l entry i holds the min and max over the keys of key blocks [i, i + 2^l), in the keys'
// dtype (a min or max of bf16 keys is a bf16 value: exact, and half the bytes of float32).
// Entries with i + 2^l > blocks are unused. Only the levels a child can need are built
// (envelopeLevels).
struct BlockEnvelopeParams {
    StreamAttnShape shape;
    int levels = 0;       // envelopeLevels(keys, bk, topK)
    int blocks = 0;       // ceil(Tk / bk)
    void* lo = nullptr;   // [Hkv, levels, blocks, D] shape.dtype, output
    void* hi = nullptr;   // [Hkv, levels, blocks, D] shape.dtype, output
};
void launchBlockEnvelope(const BlockEnvelopeParams& p);

// Levels of the envelope table a search can use: a first node holds at most ceil(blocks / K)
// blocks, so a child holds at most half of that, rounded up.
inline int envelopeLevels(std::int64_t keys, int bk, int topK)
{
    const std::int64_t blocks = (keys + bk - 1) / bk;
    const std::int64_t longestChild = ((blocks + topK - 1) / topK + 1) / 2;
    int levels = 1;
    while ((std::int64_t{1} << levels) <= longestChild) ++levels;
    return levels;
}

// The kernels of the bound rule's search (stream_attn_mask_warp.cu): Auto takes the fastest that
// fits the call (tensor cores, then lane per child, then the general kernel); the others force
// one (benchmarks; a forced kernel that does not fit the call falls to the next that does).
enum class BoundSearch { Auto, TensorCores, LanePerChild, General };

// Mask estimation: writes index [H, R, K'] int32 (ascending, -1 padded).
struct StreamMaskParams {
    StreamAttnShape shape;
    std::int32_t* index = nullptr;      // [H, R, K'] int32, output
    // Per row: nodes (start, length, scored) [3, K], children (start, length, rank) [3, 2K].
    std::int32_t* workspace = nullptr;  // [H, R, 9K] int32
    // Per row: node scores [K], child scores [2K]. float64 so that the bound rule ranks as the
    // reference does (an fp32 sum of D products would turn near-ties into ties).
    double* scores = nullptr;           // [H, R, 3K] float64 workspace
    const void* envelopeLo = nullptr;   // [Hkv, levels, blocks, D] shape.dtype (bound rule)
    const void* envelopeHi = nullptr;   // [Hkv, levels, blocks, D] shape.dtype (bound rule)
    int envelopeLevels = 0, envelopeBlocks = 0;
    BoundSearch search = BoundSearch::Auto; // which kernel searches with the bound rule
};
constexpr int kMaskWorkspaceInts = 9;    // per K, per row
constexpr int kMaskWorkspaceScores = 3;  // per K, per row
// Whether launchStreamMask(p) takes the general kernel and so needs `workspace` and `scores`
// (the warp searches of the bound rule keep everything on chip: about 750 MB less at 1M tokens).
bool streamMaskNeedsWorkspace(const StreamMaskParams& p);
void launchStreamMask(const StreamMaskParams& p);

// Block-sparse attention. With `index` set, every query attends to the keys of its row's kept
// blocks and `mass` receives the per-block mass; with `index` null (a dense layer) every query
// attends to all keys it can see and `mass` is not written.
struct BlockSparseParams {
    StreamAttnShape shape;
    const std::int32_t* index = nullptr; // [H, R, K'] int32 or null (dense)
    void* output = nullptr;              // [H, Tq, D] dtype, output
    float* mass = nullptr;               // [H, R, K'] float32, output (with index)
    bool tensorCores = true; // the mma kernel where it fits (bf16, D 128, bq and bk 16 or 32); false: SIMT kernel
};
void launchBlockSparseAttention(const BlockSparseParams& p);

// Fidelity pass: one dense softmax per query, streamed, accumulated into the row's block masses
// (shared memory, O(T / bk) per row); on tensor cores where the call fits (launchMmaBlockMass). With `mask` set: captured [H, R] (dense mass inside the
// mask row) and the oracle keeps as many blocks as the mask row; with `mask` null (dense-layer
// record) the oracle keeps K' blocks. Ties go to the lower block index.
struct BlockMassParams {
    StreamAttnShape shape;
    const std::int32_t* mask = nullptr; // [H, R, K'] int32 or null
    float* captured = nullptr;          // [H, R] float32, output (with mask)
    std::int32_t* topIndex = nullptr;   // [H, R, K'] int32, output: ascending, -1 padded
    float* topMass = nullptr;           // [H, R, K'] float32, output (may be null)
    bool tensorCores = true; // the mma kernel where it fits (bf16, D 128, bq and bk 16, 32 or 64); false: SIMT kernel
};
void launchBlockMass(const BlockMassParams& p);

} // namespace sparsetrace::gpu
