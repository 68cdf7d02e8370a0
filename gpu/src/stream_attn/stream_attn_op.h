// The torch boundary of Stream-Attn: checks shapes, dtypes and devices of q, k, v with readable
// messages, then runs the CUDA kernels (CUDA tensors, SPARSETRACE_WITH_CUDA builds) or, on the
// CPU, the Eigen backend (stream_attn/cpu) or the core reference (core/stream_attn.h). Its arguments mirror AttentionCall (model/attention_backend.h)
// so that the tracer's AttentionBackend can forward each call. Torch header: gpu/src only.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_request.h"

#include <torch/torch.h>

#include <cstdint>

namespace sparsetrace::gpu {

// Per-call settings (AttentionCall's fields, plus whether the layer is one of params.denseLayers).
struct StreamAttnOptions {
    double scale = 1.0;           // logits = scale * q.k (q and k are not pre-scaled)
    int slidingWindow = 0;        // 0 = global; else query p sees keys t with p - slidingWindow < t <= p
    std::int64_t queryOffset = 0; // position of q's first row; keys hold positions [0, Tk)
    bool dense = false;           // dense layer: exact attention, record its top-K' blocks by mass
    core::CpuBackend cpuBackend = core::CpuBackend::Eigen; // CPU tensors; Reference refuses CUDA tensors
    int threads = 0;              // Eigen backend: threads over heads (0 = hardware concurrency)
};

// What one call produces. Rows: R = ceil(Tq / bq), row r = queries [r*bq, min(r*bq+bq, Tq));
// a decode step (Tq = 1) is one row of one query.
struct StreamAttnOutput {
    torch::Tensor output; // [H, Tq, D] q's dtype, on q's device
    torch::Tensor index;  // [H, R, K'] int32: kept key blocks, ascending, -1 padded
    torch::Tensor mass;   // [H, R, K'] float32: mass per kept block averaged over the row's queries
};

// Fidelity of a mask (spec section 5); the oracle keeps as many blocks as the mask row.
struct StreamAttnFidelity {
    torch::Tensor captured;    // [H, R] float32: dense mass inside the mask's blocks
    torch::Tensor oracleIndex; // [H, R, K'] int32: top blocks by dense mass, ascending, -1 padded
    torch::Tensor oracleMass;  // [H, R, K'] float32: their dense mass
};

// q [H, Tq, D], k and v [Hkv, Tk, D]: one dtype (float32 or bfloat16), one device (CPU or
// CUDA), H a multiple of Hkv, queryOffset + Tq <= Tk. Throws ArgumentError on bad input and
// BackendError when CUDA tensors reach a build without our kernels or a kernel fails.
StreamAttnOutput streamAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const core::StreamParams& params, const StreamAttnOptions& options);

// The dense pass against `index` [H, R, K'] int32 (e.g. streamAttention's), O(T) memory.
StreamAttnFidelity streamAttentionFidelity(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           const core::StreamParams& params, const StreamAttnOptions& options,
                                           const torch::Tensor& index);

// Exact causal attention (no mask, no records) on the CPU backend's vector kernels, for the dense
// model on the CPU (DenseAttention): CPU tensors of the shapes above, already checked by the
// caller; returns [H, Tq, D] in q's dtype. options.scale, slidingWindow, queryOffset and threads
// are used.
torch::Tensor exactAttentionCpu(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const StreamAttnOptions& options);

} // namespace sparsetrace::gpu
