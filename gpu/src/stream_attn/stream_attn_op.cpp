// The torch boundary of Stream-Attn: validate once here (shapes, dtypes, devices, parameters),
// then hand plain pointers to the CUDA kernels or float spans to a CPU backend (Eigen or the
// core reference).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/stream_attn_op.h"

#include "stream_attn/cpu/stream_attn_cpu.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/stream_attn.h"

#ifdef SPARSETRACE_WITH_CUDA
#include "stream_attn.cuh"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <cmath>
#include <sstream>
#include <string>

namespace sparsetrace::gpu {

namespace {

std::string shapeOf(const torch::Tensor& t)
{
    std::ostringstream s;
    s << "[";
    for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
    s << "]";
    return s.str();
}

[[noreturn]] void reject(const std::string& what) { throw ArgumentError("Stream-Attn: " + what); }

// Sizes of a checked call.
struct CallShape {
    int heads = 0, kvHeads = 0, headDim = 0;
    std::int64_t queries = 0, keys = 0, rows = 0;
    int kPrime = 0;
    bool cuda = false;
};

// The sizes of q [H, Tq, D] and k [Hkv, Tk, D] (3-D, checked by the caller).
CallShape sizesOf(const torch::Tensor& q, const torch::Tensor& k)
{
    CallShape c;
    c.heads = static_cast<int>(q.size(0));
    c.queries = q.size(1);
    c.headDim = static_cast<int>(q.size(2));
    c.kvHeads = static_cast<int>(k.size(0));
    c.keys = k.size(1);
    return c;
}

CallShape checkCall(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                    const core::StreamParams& params, const StreamAttnOptions& options)
{
    try {
        params.validate();
    } catch (const ArgumentError& e) {
        reject(e.what());
    }
    if (!q.defined() || !k.defined() || !v.defined()) reject("q, k and v must all be given");
    if (q.dim() != 3) reject("q must be [H, Tq, D], got " + shapeOf(q));
    if (k.dim() != 3) reject("k must be [Hkv, Tk, D], got " + shapeOf(k));
    if (!v.sizes().equals(k.sizes())) reject("v must have the shape of k " + shapeOf(k) + ", got " + shapeOf(v));
    if (q.scalar_type() != k.scalar_type() || q.scalar_type() != v.scalar_type())
        reject("q, k and v must share one dtype");
    if (q.scalar_type() != torch::kFloat && q.scalar_type() != torch::kBFloat16)
        reject("q, k and v must be float32 or bfloat16");
    if (q.device() != k.device() || q.device() != v.device()) reject("q, k and v must be on one device");
    if (!q.device().is_cpu() && !q.device().is_cuda()) reject("q, k and v must be on the CPU or a CUDA device");
    CallShape c = sizesOf(q, k);
    if (c.heads < 1 || c.queries < 1 || c.headDim < 1) reject("q must have at least one head, query and dim, got " + shapeOf(q));
    if (c.kvHeads < 1 || c.keys < 1) reject("k must have at least one head and key, got " + shapeOf(k));
    if (k.size(2) != c.headDim) reject("q " + shapeOf(q) + " and k " + shapeOf(k) + " differ in head dim");
    if (c.heads % c.kvHeads != 0)
        reject("query heads (" + std::to_string(c.heads) + ") must be a multiple of kv heads (" + std::to_string(c.kvHeads) + ")");
    if (options.queryOffset < 0 || options.queryOffset + c.queries > c.keys)
        reject("queries at positions " + std::to_string(options.queryOffset) + ".." +
               std::to_string(options.queryOffset + c.queries - 1) + " need their keys, but k holds " +
               std::to_string(c.keys));
    if (options.slidingWindow < 0) reject("sliding window must be 0 (global) or positive");
    if (!std::isfinite(options.scale) || options.scale <= 0) reject("the logit scale must be a positive finite number");
    if (q.device().is_cuda() && options.cpuBackend == core::CpuBackend::Reference)
        reject("the reference backend runs on the CPU only, but the tensors are on " + q.device().str());
    c.rows = (c.queries + params.bq - 1) / params.bq;
    c.kPrime = params.kPrime();
    c.cuda = q.device().is_cuda();
    return c;
}

// The CPU backends work on float32 copies, owned here while the spans are used.
struct CpuInputs {
    torch::Tensor q, k, v; // contiguous float32 on the CPU
    core::AttentionInputs in;
};

CpuInputs cpuInputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const CallShape& c,
                    const StreamAttnOptions& options)
{
    CpuInputs x;
    x.q = q.to(torch::kCPU, torch::kFloat).contiguous();
    x.k = k.to(torch::kCPU, torch::kFloat).contiguous();
    x.v = v.to(torch::kCPU, torch::kFloat).contiguous();
    x.in.heads = c.heads;
    x.in.kvHeads = c.kvHeads;
    x.in.queries = c.queries;
    x.in.keys = c.keys;
    x.in.headDim = c.headDim;
    x.in.q = {x.q.data_ptr<float>(), static_cast<std::size_t>(x.q.numel())};
    x.in.k = {x.k.data_ptr<float>(), static_cast<std::size_t>(x.k.numel())};
    x.in.v = {x.v.data_ptr<float>(), static_cast<std::size_t>(x.v.numel())};
    x.in.scale = options.scale;
    x.in.queryOffset = options.queryOffset;
    x.in.slidingWindow = options.slidingWindow;
    return x;
}

template <class T> torch::Tensor tensorFrom(std::vector<T>& data, torch::IntArrayRef sizes, torch::ScalarType type)
{
    return torch::from_blob(data.data(), sizes, torch::TensorOptions().dtype(type)).clone();
}

void checkIndex(const torch::Tensor& index, const CallShape& c, const torch::Tensor& q)
{
    if (!index.defined() || index.dim() != 3 || index.size(0) != c.heads || index.size(1) != c.rows ||
        index.size(2) != c.kPrime)
        reject("mask index must be [H, R, K'] = [" + std::to_string(c.heads) + ", " + std::to_string(c.rows) + ", " +
               std::to_string(c.kPrime) + "], got " + (index.defined() ? shapeOf(index) : std::string("nothing")));
    if (index.scalar_type() != torch::kInt) reject("mask index must be int32");
    if (index.device() != q.device()) reject("mask index must be on the device of q");
}

#ifdef SPARSETRACE_WITH_CUDA
// k or v as the kernels read it: rows headDim apart, heads any distance apart (a KV cache's
// [Hkv, 0:Tk, D] view of its [Hkv, capacity, D] buffer is read in place, without a copy).
torch::Tensor keysInPlace(const torch::Tensor& x)
{
    const bool rowsDense = x.stride(2) == 1 && (x.size(1) == 1 || x.stride(1) == x.size(2));
    // The tensor-core kernels load 16-byte chunks of rows: heads must start 16-byte aligned too.
    const bool aligned = reinterpret_cast<std::uintptr_t>(x.data_ptr()) % 16 == 0 &&
                         (x.size(0) == 1 || x.stride(0) * x.element_size() % 16 == 0);
    return rowsDense && aligned && x.stride(0) >= x.size(1) * x.size(2) ? x : x.contiguous();
}

StreamAttnShape kernelShape(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const CallShape& c,
                            const core::StreamParams& params, const StreamAttnOptions& options)
{
    if (c.headDim > kMaxHeadDim)
        reject("head dim " + std::to_string(c.headDim) + " exceeds the CUDA kernels' " + std::to_string(kMaxHeadDim));
    StreamAttnShape s;
    s.dtype = q.scalar_type() == torch::kBFloat16 ? ElementType::BF16 : ElementType::F32;
    s.q = q.data_ptr();
    s.k = k.data_ptr();
    s.v = v.data_ptr();
    s.heads = c.heads;
    s.kvHeads = c.kvHeads;
    s.queries = c.queries;
    s.keys = c.keys;
    s.kvHeadStride = c.kvHeads > 1 ? k.stride(0) : c.keys * c.headDim;
    s.headDim = c.headDim;
    s.scale = static_cast<float>(options.scale);
    s.queryOffset = options.queryOffset;
    s.slidingWindow = options.slidingWindow;
    s.bq = params.bq;
    s.bk = params.bk;
    s.topK = params.k;
    s.sinks = params.sinks;
    s.window = params.window;
    s.queryStride = params.queryStride;
    s.scoreRule = params.score == core::ScoreRule::Bound   ? MaskScoreRule::Bound
                  : params.score == core::ScoreRule::First ? MaskScoreRule::First
                                                           : MaskScoreRule::Centre;
    s.kPrime = c.kPrime;
    s.rows = c.rows;
    s.stream = c10::cuda::getCurrentCUDAStream(q.device().index()).stream();
    return s;
}
#endif

StreamAttnOutput runCpu(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const CallShape& c,
                        const core::StreamParams& params, const StreamAttnOptions& options)
{
    CpuInputs x = cpuInputs(q, k, v, c, options);
    const bool eigen = options.cpuBackend == core::CpuBackend::Eigen;
    core::StreamAttnResult r = options.dense ? (eigen ? cpu::denseAttention(x.in, params, options.threads)
                                                      : core::denseAttention(x.in, params))
                                             : (eigen ? cpu::streamAttention(x.in, params, options.threads)
                                                      : core::streamAttentionReference(x.in, params));
    StreamAttnOutput out;
    out.output = tensorFrom(r.output, {c.heads, c.queries, c.headDim}, torch::kFloat).to(q.scalar_type());
    out.index = tensorFrom(r.index, {c.heads, c.rows, c.kPrime}, torch::kInt);
    out.mass = tensorFrom(r.mass, {c.heads, c.rows, c.kPrime}, torch::kFloat);
    return out;
}

} // namespace

StreamAttnOutput streamAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const core::StreamParams& params, const StreamAttnOptions& options)
{
    const CallShape c = checkCall(q, k, v, params, options);
    try {
        if (!c.cuda) return runCpu(q, k, v, c, params, options);
#ifdef SPARSETRACE_WITH_CUDA
        const c10::cuda::CUDAGuard guard(q.device());
        torch::Tensor kc = keysInPlace(k), vc = keysInPlace(v);
        if (kc.strides() != vc.strides()) kc = k.contiguous(), vc = v.contiguous();
        const torch::Tensor qc = q.contiguous();
        const StreamAttnShape s = kernelShape(qc, kc, vc, c, params, options);
        const auto on = torch::TensorOptions().device(q.device());
        StreamAttnOutput out;
        out.output = torch::empty({c.heads, c.queries, c.headDim}, on.dtype(q.scalar_type())); // [H, Tq, D]
        // The records go where the caller asks (a slice of the tracer's [L, H, R, K'] buffer).
        const auto recordOk = [&](const torch::Tensor& t, torch::ScalarType type) {
            return t.defined() && t.device() == q.device() && t.scalar_type() == type && t.dim() == 3 &&
                   t.size(0) == c.heads && t.size(1) == c.rows && t.size(2) == c.kPrime && t.is_contiguous();
        };
        out.index = recordOk(options.indexOut, torch::kInt)
                        ? options.indexOut
                        : torch::empty({c.heads, c.rows, c.kPrime}, on.dtype(torch::kInt)); // [H, R, K'] int32
        out.mass = recordOk(options.massOut, torch::kFloat)
                       ? options.massOut
                       : torch::empty({c.heads, c.rows, c.kPrime}, on.dtype(torch::kFloat)); // [H, R, K'] float32
        if (options.dense) {
            BlockSparseParams attend{s, nullptr, out.output.data_ptr(), nullptr};
            launchBlockSparseAttention(attend);
            BlockMassParams top{s, nullptr, nullptr, out.index.data_ptr<std::int32_t>(), out.mass.data_ptr<float>()};
            launchBlockMass(top);
        } else {
            StreamMaskParams mask{s, out.index.data_ptr<std::int32_t>(), nullptr, nullptr};
            torch::Tensor ints, scores; // the general search's workspace, only where it runs
            if (streamMaskNeedsWorkspace(mask)) {
                const std::int64_t cells = static_cast<std::int64_t>(c.heads) * c.rows;
                ints = torch::empty({cells * kMaskWorkspaceInts * params.k}, on.dtype(torch::kInt)); // [H, R, 9K]
                scores = torch::empty({cells * kMaskWorkspaceScores * params.k}, on.dtype(torch::kDouble)); // [H, R, 3K]
                mask.workspace = ints.data_ptr<std::int32_t>();
                mask.scores = scores.data_ptr<double>();
            }
            torch::Tensor envelopeLo, envelopeHi; // [Hkv, levels, blocks, D] q's dtype (bound rule)
            if (s.scoreRule == MaskScoreRule::Bound) {
                BlockEnvelopeParams table{s, envelopeLevels(c.keys, params.bk, params.k),
                                          static_cast<int>((c.keys + params.bk - 1) / params.bk)};
                envelopeLo = torch::empty({c.kvHeads, table.levels, table.blocks, c.headDim}, on.dtype(q.scalar_type()));
                envelopeHi = torch::empty_like(envelopeLo);
                table.lo = envelopeLo.data_ptr();
                table.hi = envelopeHi.data_ptr();
                launchBlockEnvelope(table);
                mask.envelopeLo = table.lo;
                mask.envelopeHi = table.hi;
                mask.envelopeLevels = table.levels;
                mask.envelopeBlocks = table.blocks;
            }
            launchStreamMask(mask);
            BlockSparseParams attend{s, out.index.data_ptr<std::int32_t>(), out.output.data_ptr(),
                                     out.mass.data_ptr<float>()};
            launchBlockSparseAttention(attend);
        }
        return out;
#else
        throw BackendError("Stream-Attn: the tensors are on " + q.device().str() +
                           " but this build has no CUDA kernels (libtorch without CUDA)");
#endif
    } catch (const c10::Error& e) {
        throw BackendError(std::string("Stream-Attn: libtorch failed: ") + e.what_without_backtrace());
    }
}

StreamAttnFidelity streamAttentionFidelity(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           const core::StreamParams& params, const StreamAttnOptions& options,
                                           const torch::Tensor& index)
{
    const CallShape c = checkCall(q, k, v, params, options);
    checkIndex(index, c, q);
    try {
        StreamAttnFidelity f;
        if (!c.cuda) {
            CpuInputs x = cpuInputs(q, k, v, c, options);
            const torch::Tensor idx = index.contiguous();
            const std::span<const std::int32_t> mask{idx.data_ptr<std::int32_t>(), static_cast<std::size_t>(idx.numel())};
            core::FidelityResult r = options.cpuBackend == core::CpuBackend::Eigen
                                         ? cpu::measureFidelity(x.in, params, mask, options.threads)
                                         : core::measureFidelity(x.in, params, mask);
            f.captured = tensorFrom(r.captured, {c.heads, c.rows}, torch::kFloat);
            f.oracleIndex = tensorFrom(r.oracleIndex, {c.heads, c.rows, c.kPrime}, torch::kInt);
            f.oracleMass = tensorFrom(r.oracleMass, {c.heads, c.rows, c.kPrime}, torch::kFloat);
            return f;
        }
#ifdef SPARSETRACE_WITH_CUDA
        const c10::cuda::CUDAGuard guard(q.device());
        torch::Tensor kc = keysInPlace(k), vc = keysInPlace(v);
        if (kc.strides() != vc.strides()) kc = k.contiguous(), vc = v.contiguous();
        const torch::Tensor qc = q.contiguous(), ic = index.contiguous();
        const StreamAttnShape s = kernelShape(qc, kc, vc, c, params, options);
        const auto on = torch::TensorOptions().device(q.device());
        f.captured = torch::empty({c.heads, c.rows}, on.dtype(torch::kFloat));                // [H, R] float32
        f.oracleIndex = torch::empty({c.heads, c.rows, c.kPrime}, on.dtype(torch::kInt));    // [H, R, K'] int32
        f.oracleMass = torch::empty({c.heads, c.rows, c.kPrime}, on.dtype(torch::kFloat));   // [H, R, K'] float32
        BlockMassParams pass{s, ic.data_ptr<std::int32_t>(), f.captured.data_ptr<float>(),
                             f.oracleIndex.data_ptr<std::int32_t>(), f.oracleMass.data_ptr<float>()};
        launchBlockMass(pass);
        return f;
#else
        throw BackendError("Stream-Attn: the tensors are on " + q.device().str() +
                           " but this build has no CUDA kernels (libtorch without CUDA)");
#endif
    } catch (const c10::Error& e) {
        throw BackendError(std::string("Stream-Attn: libtorch failed: ") + e.what_without_backtrace());
    }
}

torch::Tensor exactAttentionCpu(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const StreamAttnOptions& options)
{
    const CallShape c = sizesOf(q, k);
    try {
        CpuInputs x = cpuInputs(q, k, v, c, options);
        std::vector<float> out = cpu::exactAttention(x.in, options.threads);
        return tensorFrom(out, {c.heads, c.queries, c.headDim}, torch::kFloat).to(q.scalar_type());
    } catch (const c10::Error& e) {
        throw BackendError(std::string("exact attention: libtorch failed: ") + e.what_without_backtrace());
    }
}

} // namespace sparsetrace::gpu
