// Exact causal softmax attention without a T x T buffer: streamed online softmax (any device),
// on the CPU the vector kernels of the Stream-Attn CPU backend (exactAttentionCpu), and, on
// CUDA with libtorch 2.x, PyTorch's fused scaled_dot_product_attention (flash).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/attention_backend.h"

#include "stream_attn/stream_attn_op.h"

#include "sparsetrace/core/error.h"

#include <algorithm>
#include <limits>
#include <string>

namespace sparsetrace::gpu {

namespace {

void checkShapes(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v)
{
    if (q.dim() != 3 || k.dim() != 3 || v.dim() != 3)
        throw ArgumentError("attention: q, k and v must be [heads, tokens, head_dim]");
    const std::int64_t h = q.size(0), tq = q.size(1), d = q.size(2), hkv = k.size(0), tk = k.size(1);
    if (hkv <= 0 || h % hkv != 0 || v.size(0) != hkv || v.size(1) != tk || k.size(2) != d || v.size(2) != d)
        throw ArgumentError("attention: k/v shape [" + std::to_string(hkv) + ", " + std::to_string(tk) + ", " +
                            std::to_string(k.size(2)) + "] does not fit q [" + std::to_string(h) + ", " +
                            std::to_string(tq) + ", " + std::to_string(d) + "]");
    if (call.queryOffset < 0 || call.queryOffset + tq != tk)
        throw ArgumentError("attention (layer " + std::to_string(call.layer) + "): " + std::to_string(tk) +
                            " keys for " + std::to_string(tq) + " queries at offset " + std::to_string(call.queryOffset) +
                            "; keys must cover every position up to the last query");
    if (call.slidingWindow < 0) throw ArgumentError("attention: negative sliding window");
}

} // namespace

torch::Tensor streamedAttention(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, std::int64_t queryChunk, std::int64_t keyChunk)
{
    checkShapes(call, q, k, v);
    torch::NoGradGuard noGrad;
    const std::int64_t h = q.size(0), tq = q.size(1), d = q.size(2), hkv = k.size(0);
    const std::int64_t g = h / hkv;
    const std::int64_t w = call.slidingWindow;
    const auto fopts = q.options().dtype(torch::kFloat32);
    const auto iopts = q.options().dtype(torch::kInt64);
    torch::Tensor out = torch::empty({hkv, g, tq, d}, q.options()); // [Hkv, G, Tq, D] q dtype
    // GQA: the G query heads of one KV head are one batch row, so k/v are read once per group.
    torch::Tensor qg = q.reshape({hkv, g, tq, d}); // [Hkv, G, Tq, D]
    const float negInf = -std::numeric_limits<float>::infinity();

    for (std::int64_t q0 = 0; q0 < tq; q0 += queryChunk) {
        const std::int64_t n = std::min(queryChunk, tq - q0);
        const std::int64_t p0 = call.queryOffset + q0, p1 = p0 + n; // query positions [p0, p1)
        const std::int64_t lo = w > 0 ? std::max<std::int64_t>(0, p0 - w + 1) : 0;
        const std::int64_t hi = p1;
        torch::Tensor qs = qg.narrow(2, q0, n).to(torch::kFloat32);             // [Hkv, G, n, D] f32
        torch::Tensor m = torch::full({hkv, g, n, 1}, negInf, fopts);            // running max
        torch::Tensor l = torch::zeros({hkv, g, n, 1}, fopts);                   // running sum of exp
        torch::Tensor acc = torch::zeros({hkv, g, n, d}, fopts);                 // running numerator
        torch::Tensor qpos = torch::arange(p0, p1, iopts).unsqueeze(1);          // [n, 1] int64
        for (std::int64_t k0 = lo; k0 < hi; k0 += keyChunk) {
            const std::int64_t k1 = std::min(hi, k0 + keyChunk);
            torch::Tensor ks = k.narrow(1, k0, k1 - k0).to(torch::kFloat32).unsqueeze(1); // [Hkv, 1, c, D]
            torch::Tensor vs = v.narrow(1, k0, k1 - k0).to(torch::kFloat32).unsqueeze(1); // [Hkv, 1, c, D]
            torch::Tensor s = torch::matmul(qs, ks.transpose(-1, -2)).mul_(call.scale);  // [Hkv, G, n, c] f32
            // Mask only where the block crosses the diagonal or the window's trailing edge.
            const bool crossesDiagonal = k1 - 1 > p0;
            const bool crossesWindow = w > 0 && k0 <= p1 - 1 - w;
            if (crossesDiagonal || crossesWindow) {
                torch::Tensor kpos = torch::arange(k0, k1, iopts).unsqueeze(0); // [1, c]
                torch::Tensor allowed = kpos.le(qpos);                             // [n, c] bool
                if (w > 0) allowed = allowed.logical_and(kpos.gt(qpos - w));
                s.masked_fill_(allowed.logical_not(), negInf);
            }
            torch::Tensor mNew = torch::maximum(m, std::get<0>(s.max(-1, true)));
            // A row whose keys so far are all masked keeps max -inf; use 0 there so exp() gives 0, not NaN.
            torch::Tensor mSafe = mNew.masked_fill(mNew.eq(negInf), 0.0f);
            torch::Tensor p = (s - mSafe).exp_();                                  // [Hkv, G, n, c]
            torch::Tensor corr = (m - mSafe).exp_();                               // [Hkv, G, n, 1]
            l = l.mul_(corr).add_(p.sum(-1, true));
            acc = acc.mul_(corr).add_(torch::matmul(p, vs));
            m = mNew;
        }
        out.narrow(2, q0, n).copy_(acc.div_(l)); // every row sees at least its own key: l > 0
    }
    return out.view({h, tq, d});
}

torch::Tensor DenseAttention::attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v)
{
    checkShapes(call, q, k, v);
#if TORCH_VERSION_MAJOR >= 2
    if (q.is_cuda()) {
        torch::NoGradGuard noGrad;
        const std::int64_t tq = q.size(1), tk = k.size(1), g = q.size(0) / k.size(0);
        const bool fullPrefill = call.slidingWindow == 0 && call.queryOffset == 0 && tq == tk;
        const bool decode = tq == 1;
        if (fullPrefill || decode) {
            torch::Tensor kk = k, vv = v;
            if (decode && call.slidingWindow > 0 && tk > call.slidingWindow) {
                kk = k.narrow(1, tk - call.slidingWindow, call.slidingWindow);
                vv = v.narrow(1, tk - call.slidingWindow, call.slidingWindow);
            }
#if TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 5
            torch::Tensor o = at::scaled_dot_product_attention(q.unsqueeze(0), kk.unsqueeze(0), vv.unsqueeze(0), {}, 0.0,
                                                               /*is_causal=*/fullPrefill && tq > 1, call.scale,
                                                               /*enable_gqa=*/g > 1);
#else
            if (g > 1) {
                kk = kk.repeat_interleave(g, 0);
                vv = vv.repeat_interleave(g, 0);
            }
            torch::Tensor o = at::scaled_dot_product_attention(q.unsqueeze(0), kk.unsqueeze(0), vv.unsqueeze(0), {}, 0.0,
                                                               fullPrefill && tq > 1, call.scale);
#endif
            return o.squeeze(0);
        }
    }
#endif
    if (q.device().is_cpu()) {
        // The CPU backend's vector kernels: about 4x torch's streamed softmax on two cores
        // (libtorch runs element-wise ops on one thread there; each chunk's mask, max, exp and
        // sum is one more pass over memory).
        StreamAttnOptions o;
        o.scale = call.scale;
        o.slidingWindow = call.slidingWindow;
        o.queryOffset = call.queryOffset;
        return exactAttentionCpu(q, k, v, o);
    }
    return streamedAttention(call, q, k, v);
}

} // namespace sparsetrace::gpu
