// Block-sparse attention with block mass (spec section 3): one thread block per (head, row), a
// warp per query. Each query runs one online softmax over the keys of its row's kept blocks
// (or, for a dense layer, every key it sees), fp32 accumulation; a second pass with the final
// max and sum adds each key's probability to its block's mass. Twin of core::attendWithMask.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

namespace sparsetrace::gpu {
namespace {

using detail::kDimsPerLane;
using detail::kThreads;
using detail::kWarps;

__global__ void __launch_bounds__(kThreads) blockSparseAttentionKernel(BlockSparseParams p)
{
    const StreamAttnShape& s = p.shape;
    const std::int64_t cell = blockIdx.x; // h * R + r
    const int head = static_cast<int>(cell / s.rows);
    const std::int64_t row = cell % s.rows;
    const detail::RowPlan plan = detail::planRow(s, row);
    const int kvh = head / (s.heads / s.kvHeads);
    const bool dense = p.index == nullptr;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

    extern __shared__ unsigned char shared[];
    int* blocks = reinterpret_cast<int*>(shared);           // [K'] kept blocks of this row
    float* mass = reinterpret_cast<float*>(blocks + s.kPrime); // [K'] summed probabilities
    if (!dense) {
        for (int i = threadIdx.x; i < s.kPrime; i += kThreads) {
            blocks[i] = p.index[cell * s.kPrime + i];
            mass[i] = 0.0f;
        }
    }
    __syncthreads();
    const int slots = dense ? plan.lastBlock - plan.visibleFirst + 1 : s.kPrime;

    for (std::int64_t qi = plan.firstQuery - s.queryOffset + warp; qi <= plan.lastQuery - s.queryOffset; qi += kWarps) {
        const std::int64_t pos = s.queryOffset + qi;
        const std::int64_t lo = detail::firstVisibleKey(s, pos);
        detail::WarpQuery q;
        q.load(s, head, qi, lane);
        float m = -INFINITY, l = 0.0f;
        float acc[kDimsPerLane];
        for (int c = 0; c < kDimsPerLane; ++c) acc[c] = 0.0f;
        for (int slot = 0; slot < slots; ++slot) {
            const int b = dense ? plan.visibleFirst + slot : blocks[slot];
            if (b < 0) continue;
            const std::int64_t tEnd = min(min(static_cast<std::int64_t>(b) * s.bk + s.bk, pos + 1), s.keys);
            for (std::int64_t t = max(static_cast<std::int64_t>(b) * s.bk, lo); t < tEnd; ++t) {
                const float logit = s.scale * q.dotKey(s, kvh, t, lane);
                if (logit > m) {
                    const float rescale = expf(m - logit); // 0 on the first key
                    l *= rescale;
                    for (int c = 0; c < kDimsPerLane; ++c) acc[c] *= rescale;
                    m = logit;
                }
                const float w = expf(logit - m);
                l += w;
                const std::int64_t vBase = detail::keyOffset(s, kvh, t);
                for (int c = 0; c < kDimsPerLane; ++c) {
                    const int d = lane + 32 * c;
                    if (d < s.headDim) acc[c] += w * detail::loadElement(s.v, s.dtype, vBase + d);
                }
            }
        }
        const std::int64_t oBase = (static_cast<std::int64_t>(head) * s.queries + qi) * s.headDim;
        for (int c = 0; c < kDimsPerLane; ++c) {
            const int d = lane + 32 * c;
            if (d < s.headDim) detail::storeElement(p.output, s.dtype, oBase + d, l > 0.0f ? acc[c] / l : 0.0f);
        }
        if (dense || l <= 0.0f) continue;
        for (int slot = 0; slot < s.kPrime; ++slot) {
            const int b = blocks[slot];
            if (b < 0) continue;
            const std::int64_t tEnd = min(min(static_cast<std::int64_t>(b) * s.bk + s.bk, pos + 1), s.keys);
            float sum = 0.0f;
            for (std::int64_t t = max(static_cast<std::int64_t>(b) * s.bk, lo); t < tEnd; ++t)
                sum += expf(s.scale * q.dotKey(s, kvh, t, lane) - m) / l;
            if (lane == 0) atomicAdd(&mass[slot], sum);
        }
    }
    if (dense) return;
    __syncthreads();
    for (int i = threadIdx.x; i < s.kPrime; i += kThreads)
        p.mass[cell * s.kPrime + i] = blocks[i] >= 0 ? mass[i] / static_cast<float>(plan.queryCount) : 0.0f;
}

} // namespace

void launchBlockSparseAttention(const BlockSparseParams& p)
{
    const std::int64_t cells = static_cast<std::int64_t>(p.shape.heads) * p.shape.rows;
    if (cells == 0) return;
    if (p.shape.headDim > kMaxHeadDim)
        throw ArgumentError("block-sparse attention: head dim " + std::to_string(p.shape.headDim) + " exceeds " +
                            std::to_string(kMaxHeadDim));
    if (p.tensorCores && launchMmaBlockSparseAttention(p)) return;
    const std::size_t bytes = static_cast<std::size_t>(p.shape.kPrime) * (sizeof(int) + sizeof(float));
    detail::allowSharedMemory(blockSparseAttentionKernel, bytes, 0, "block-sparse attention");
    blockSparseAttentionKernel<<<static_cast<unsigned>(cells), kThreads, bytes, p.shape.stream>>>(p);
    checkLaunch("blockSparseAttentionKernel");
}

} // namespace sparsetrace::gpu
