// The fidelity pass (spec section 5) and the dense-layer record (spec section 3): one thread
// block per (head, row), a warp per query streams a dense softmax (pass 1: max and sum; pass 2:
// probabilities) into the row's block masses held in shared memory, O(T / bk) per row, never
// T x T. Then: the mass captured by a mask row, and the top blocks by mass (ties to the lower
// block). Twin of core::denseBlockMass / core::topBlocks / core::measureFidelity.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

namespace sparsetrace::gpu {
namespace {

using detail::kThreads;
using detail::kWarps;

__global__ void __launch_bounds__(kThreads) blockMassKernel(BlockMassParams p)
{
    const StreamAttnShape& s = p.shape;
    const std::int64_t cell = blockIdx.x; // h * R + r
    const int head = static_cast<int>(cell / s.rows);
    const detail::RowPlan plan = detail::planRow(s, cell % s.rows);
    const int kvh = head / (s.heads / s.kvHeads);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int nb = plan.lastBlock - plan.visibleFirst + 1; // blocks the row can see

    extern __shared__ unsigned char shared[];
    float* blockMass = reinterpret_cast<float*>(shared);            // [nb] summed over queries
    int* chosen = reinterpret_cast<int*>(blockMass + nb);           // [K'] selected blocks
    float* chosenMass = reinterpret_cast<float*>(chosen + s.kPrime); // [K']
    __shared__ float reduceMass[kThreads];
    __shared__ int reduceBlock[kThreads];
    for (int i = threadIdx.x; i < nb; i += kThreads) blockMass[i] = 0.0f;
    __syncthreads();

    for (std::int64_t qi = plan.firstQuery - s.queryOffset + warp; qi <= plan.lastQuery - s.queryOffset; qi += kWarps) {
        const std::int64_t pos = s.queryOffset + qi;
        const std::int64_t lo = detail::firstVisibleKey(s, pos);
        detail::WarpQuery q;
        q.load(s, head, qi, lane);
        float m = -INFINITY, l = 0.0f;
        for (std::int64_t t = lo; t <= pos; ++t) {
            const float logit = s.scale * q.dotKey(s, kvh, t, lane);
            if (logit > m) {
                l *= expf(m - logit);
                m = logit;
            }
            l += expf(logit - m);
        }
        // Keys arrive in order, so a running sum per block needs one atomic per block.
        float run = 0.0f;
        std::int64_t runBlock = lo / s.bk;
        for (std::int64_t t = lo; t <= pos; ++t) {
            if (t / s.bk != runBlock) {
                if (lane == 0) atomicAdd(&blockMass[runBlock - plan.visibleFirst], run);
                run = 0.0f;
                runBlock = t / s.bk;
            }
            run += expf(s.scale * q.dotKey(s, kvh, t, lane) - m) / l;
        }
        if (lane == 0) atomicAdd(&blockMass[runBlock - plan.visibleFirst], run);
    }
    __syncthreads();

    detail::selectBlocks(p, cell, plan, blockMass, nb, chosen, chosenMass, reduceMass, reduceBlock, kThreads);
}

std::size_t sharedBytes(std::int64_t keyBlocks, int kPrime)
{
    return static_cast<std::size_t>(keyBlocks) * sizeof(float) + static_cast<std::size_t>(kPrime) * (sizeof(int) + sizeof(float));
}

} // namespace

void launchBlockMass(const BlockMassParams& p)
{
    const std::int64_t cells = static_cast<std::int64_t>(p.shape.heads) * p.shape.rows;
    if (cells == 0) return;
    if (p.shape.headDim > kMaxHeadDim)
        throw ArgumentError("block mass: head dim " + std::to_string(p.shape.headDim) + " exceeds " +
                            std::to_string(kMaxHeadDim));
    const std::int64_t keyBlocks = (p.shape.keys + p.shape.bk - 1) / p.shape.bk;
    if (p.tensorCores && launchMmaBlockMass(p)) return;
    const std::size_t bytes = sharedBytes(keyBlocks, p.shape.kPrime);
    detail::allowSharedMemory(blockMassKernel, bytes, 2 * detail::kThreads * 4 + 16, "block mass (fidelity)");
    blockMassKernel<<<static_cast<unsigned>(cells), kThreads, bytes, p.shape.stream>>>(p);
    checkLaunch("blockMassKernel");
}

} // namespace sparsetrace::gpu
