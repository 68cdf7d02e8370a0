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
    int headDim = 0;          // D, at most kMaxHeadDim
    float scale = 1.0f;       // logits = scale * q.k
    std::int64_t queryOffset = 0; // position of query 0
    int slidingWindow = 0;    // 0 = global layer
    int bq = 32, bk = 32, topK = 16, sinks = 32, window = 64, queryStride = 1;
    bool representativeFirst = false; // false: centre block
    int kPrime = 0;           // K + S/bk + ceil(W/bk) + 1
    std::int64_t rows = 0;    // R = ceil(Tq / bq)
    cudaStream_t stream = nullptr;
};

constexpr int kMaxHeadDim = 256;

// Mask estimation: writes index [H, R, K'] int32 (ascending, -1 padded).
struct StreamMaskParams {
    StreamAttnShape shape;
    std::int32_t* index = nullptr;      // [H, R, K'] int32, output
    // Per row: nodes (start, length) [2, K], children (start, length, rank) [3, 2K].
    std::int32_t* workspace = nullptr;  // [H, R, 8K] int32
    float* childScore = nullptr;        // [H, R, 2K] float32 workspace
};
constexpr int kMaskWorkspaceInts = 8;    // per K, per row
constexpr int kMaskWorkspaceFloats = 2;  // per K, per row
void launchStreamMask(const StreamMaskParams& p);

// Block-sparse attention. With `index` set, every query attends to the keys of its row's kept
// blocks and `mass` receives the per-block mass; with `index` null (a dense layer) every query
// attends to all keys it can see and `mass` is not written.
struct BlockSparseParams {
    StreamAttnShape shape;
    const std::int32_t* index = nullptr; // [H, R, K'] int32 or null (dense)
    void* output = nullptr;              // [H, Tq, D] dtype, output
    float* mass = nullptr;               // [H, R, K'] float32, output (with index)
};
void launchBlockSparseAttention(const BlockSparseParams& p);

// Fidelity pass: one dense softmax per query, streamed, accumulated into the row's block masses
// (shared memory, O(T / bk) per row). With `mask` set: captured [H, R] (dense mass inside the
// mask row) and the oracle keeps as many blocks as the mask row; with `mask` null (dense-layer
// record) the oracle keeps K' blocks. Ties go to the lower block index.
struct BlockMassParams {
    StreamAttnShape shape;
    const std::int32_t* mask = nullptr; // [H, R, K'] int32 or null
    float* captured = nullptr;          // [H, R] float32, output (with mask)
    std::int32_t* topIndex = nullptr;   // [H, R, K'] int32, output: ascending, -1 padded
    float* topMass = nullptr;           // [H, R, K'] float32, output (may be null)
};
void launchBlockMass(const BlockMassParams& p);

} // namespace sparsetrace::gpu
