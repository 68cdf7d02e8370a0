// The CPU backend of Stream-Attn (spec sections 2, 3 and 5) on Eigen: the results contract of the
// core reference (core/stream_attn.h: rows, geometry, ties to the lower block index) computed with
// float32 vector kernels (simd_kernels.h, AVX2+FMA where the processor has it), the search's
// products on Eigen, threads over heads. No torch and no Qt: the torch boundary
// (stream_attn_op.cpp) calls it, and so do torch-free tests and benchmarks.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/stream_attn.h"

#include <cstdint>
#include <span>
#include <vector>

namespace sparsetrace::gpu::cpu {

// Threads: each query head is computed whole by one thread (head h by thread h % n), so results do
// not depend on the thread count. 0 = std::thread::hardware_concurrency().
//
// Precision: scores and attention in float32 (vector kernels), softmax normalisers and block masses
// combined in float64. Masks equal the reference's except where two competing scores differ by a
// few float32 roundings (relative ~1e-6); masses agree within 1e-5.

// Mask estimation only: index [H, R, K'] int32, as core::estimateMask.
std::vector<std::int32_t> estimateMask(const core::AttentionInputs& in, const core::StreamParams& p, int threads = 0);

// Block-sparse attention with a given mask (index [H, R, K'] int32), as core::attendWithMask.
core::StreamAttnResult attendWithMask(const core::AttentionInputs& in, const core::StreamParams& p,
                                      std::span<const std::int32_t> index, int threads = 0);

// A sparse layer: estimation then attention, head by head. Rows of `mass` sum to 1.
core::StreamAttnResult streamAttention(const core::AttentionInputs& in, const core::StreamParams& p, int threads = 0);

// A dense layer: exact attention streamed over key blocks, recording the K' blocks of highest mass.
core::StreamAttnResult denseAttention(const core::AttentionInputs& in, const core::StreamParams& p, int threads = 0);

// Fidelity of a mask: captured dense mass and oracle blocks, one dense pass streamed over key
// blocks (one row's block masses at a time, O(T) memory), as core::measureFidelity.
core::FidelityResult measureFidelity(const core::AttentionInputs& in, const core::StreamParams& p,
                                     std::span<const std::int32_t> index, int threads = 0);

// Exact causal softmax attention (sliding window respected), output [H, Tq, D] float32: the
// dense model's attention on the CPU (gpu/src/model/dense_attention.cpp), streamed over key tiles
// in O(T) memory per thread.
std::vector<float> exactAttention(const core::AttentionInputs& in, int threads = 0);

// The vector kernels in use: "avx2+fma" or "sse2" (chosen at run time; SPARSETRACE_CPU_SIMD=sse2
// forces the baseline).
const char* simdName();

} // namespace sparsetrace::gpu::cpu
