// Block-sparse attention with block mass on tensor cores (spec section 3, issue 19), for bf16,
// head dim 128, bq in {16, 32}, bk in {16, 32}: FlashAttention-2 style over a row's kept blocks.
// One thread block per (head, row), one warp per 16 queries; each kept block's keys and values
// are staged in shared memory and read with ldmatrix; S = Q K^T and O += P V with
// mma.sync m16n8k16 (bf16 in, fp32 accumulation; P is split into a bf16 high and low part so
// the products keep about 16 bits of P). Masses without a second QK pass: per kept slot and
// query the row sum of P and the running max it was taken against are kept, and at the end
// mass = sum over queries of rowsum * exp(m_slot - m) / l, summed in a fixed order (identical
// bytes run to run). Twin of core::attendWithMask; stream_attn_sparse.cu stays the path for
// fp32, dense layers and other shapes.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

namespace sparsetrace::gpu {
namespace {

constexpr int kHeadDim = 128;
constexpr int kRowStride = kHeadDim + 8; // bf16 elements per staged key row: 272 B, ldmatrix without bank conflicts

// Shared memory of one thread block (dynamic): staged keys and values of one kept block, the
// row's kept blocks, per (warp, slot, query) the row sum of P and the max it was taken
// against, and per (warp, query) the final max and sum.
struct MmaLayout {
    int bk, kPrime, warps;
    __host__ __device__ std::size_t keysAt() const { return 0; }
    __host__ __device__ std::size_t valuesAt() const { return keysAt() + std::size_t(bk) * kRowStride * 2; }
    __host__ __device__ std::size_t blocksAt() const { return valuesAt() + std::size_t(bk) * kRowStride * 2; }
    __host__ __device__ std::size_t slotMaxAt() const { return blocksAt() + std::size_t(kPrime) * 4; }
    __host__ __device__ std::size_t slotSumAt() const { return slotMaxAt() + std::size_t(warps) * kPrime * 16 * 4; }
    __host__ __device__ std::size_t rowMaxAt() const { return slotSumAt() + std::size_t(warps) * kPrime * 16 * 4; }
    __host__ __device__ std::size_t rowSumAt() const { return rowMaxAt() + std::size_t(warps) * 16 * 4; }
    __host__ __device__ std::size_t bytes() const { return rowSumAt() + std::size_t(warps) * 16 * 4; }
};

template <int kBk>
__global__ void __launch_bounds__(64) mmaBlockSparseKernel(BlockSparseParams p)
{
    constexpr int kKeyTiles = kBk / 8; // n-tiles of S
    const StreamAttnShape& s = p.shape;
    const int warps = s.bq / 16;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int group = s.heads / s.kvHeads;
    // (KV head, row, head in group), head in group fastest: neighbours share keys in L2.
    const std::int64_t w = blockIdx.x;
    const int kvh = static_cast<int>(w / (static_cast<std::int64_t>(group) * s.rows));
    const std::int64_t row = (w / group) % s.rows;
    const int head = kvh * group + static_cast<int>(w % group);
    const std::int64_t cell = static_cast<std::int64_t>(head) * s.rows + row;
    const detail::RowPlan plan = detail::planRow(s, row);
    const MmaLayout layout{kBk, s.kPrime, warps};

    extern __shared__ __align__(16) unsigned char shared[];
    __nv_bfloat16* keys = reinterpret_cast<__nv_bfloat16*>(shared + layout.keysAt());     // [bk, kRowStride] bf16
    __nv_bfloat16* values = reinterpret_cast<__nv_bfloat16*>(shared + layout.valuesAt()); // [bk, kRowStride] bf16
    int* blocks = reinterpret_cast<int*>(shared + layout.blocksAt());                     // [K'] int32
    float* slotMax = reinterpret_cast<float*>(shared + layout.slotMaxAt()); // [warps, K', 16] float32 (log2 units)
    float* slotSum = reinterpret_cast<float*>(shared + layout.slotSumAt()); // [warps, K', 16] float32
    float* rowMax = reinterpret_cast<float*>(shared + layout.rowMaxAt());   // [warps, 16] float32
    float* rowSum = reinterpret_cast<float*>(shared + layout.rowSumAt());   // [warps, 16] float32
    for (int i = threadIdx.x; i < s.kPrime; i += blockDim.x) blocks[i] = p.index[cell * s.kPrime + i];

    // This thread's two queries: rows g and g + 8 of the warp's 16.
    const std::int64_t q0 = row * s.bq + warp * 16 + g, q1 = q0 + 8; // indices into Tq
    const bool valid0 = q0 < s.queries && q0 - row * s.bq < plan.queryCount, valid1 = q1 < s.queries &&
                                                                               q1 - row * s.bq < plan.queryCount;
    const std::int64_t pos0 = s.queryOffset + q0, pos1 = s.queryOffset + q1;
    const __nv_bfloat16* qBase = static_cast<const __nv_bfloat16*>(s.q) + static_cast<std::int64_t>(head) * s.queries * kHeadDim;
    unsigned qa[kHeadDim / 16][4]; // A fragments of Q, per k-step of 16 channels
#pragma unroll
    for (int ks = 0; ks < kHeadDim / 16; ++ks) {
        const int d = ks * 16 + 2 * t;
        qa[ks][0] = valid0 ? *reinterpret_cast<const unsigned*>(qBase + q0 * kHeadDim + d) : 0u;
        qa[ks][1] = valid1 ? *reinterpret_cast<const unsigned*>(qBase + q1 * kHeadDim + d) : 0u;
        qa[ks][2] = valid0 ? *reinterpret_cast<const unsigned*>(qBase + q0 * kHeadDim + d + 8) : 0u;
        qa[ks][3] = valid1 ? *reinterpret_cast<const unsigned*>(qBase + q1 * kHeadDim + d + 8) : 0u;
    }
    float o[kHeadDim / 8][4];
#pragma unroll
    for (auto& tile : o) tile[0] = tile[1] = tile[2] = tile[3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    const float scaleLog2 = s.scale * 1.4426950408889634f;
    const std::int64_t lo0 = detail::firstVisibleKey(s, pos0), lo1 = detail::firstVisibleKey(s, pos1);
    const __nv_bfloat16* kHead = static_cast<const __nv_bfloat16*>(s.k) + detail::keyOffset(s, kvh, 0);
    const __nv_bfloat16* vHead = static_cast<const __nv_bfloat16*>(s.v) + detail::keyOffset(s, kvh, 0);
    __syncthreads();

    for (int slot = 0; slot < s.kPrime; ++slot) {
        const int b = blocks[slot];
        if (b < 0) continue; // padding is uniform over the thread block
        const std::int64_t keyFirst = static_cast<std::int64_t>(b) * kBk;
        // Stage the block's keys and values (16-byte chunks; rows past Tk are zeros).
        __syncthreads();
        for (int c = threadIdx.x; c < kBk * kHeadDim / 8; c += blockDim.x) {
            const int r = c / (kHeadDim / 8), col = (c % (kHeadDim / 8)) * 8;
            uint4 kx = make_uint4(0, 0, 0, 0), vx = kx;
            if (keyFirst + r < s.keys) {
                kx = *reinterpret_cast<const uint4*>(kHead + (keyFirst + r) * kHeadDim + col);
                vx = *reinterpret_cast<const uint4*>(vHead + (keyFirst + r) * kHeadDim + col);
            }
            *reinterpret_cast<uint4*>(keys + r * kRowStride + col) = kx;
            *reinterpret_cast<uint4*>(values + r * kRowStride + col) = vx;
        }
        __syncthreads();
        // S = Q K^T over the block's keys.
        float sc[kKeyTiles][4];
        detail::scoreTile<kBk, kHeadDim, kRowStride>(sc, qa, keys, lane);
        const int mi = lane / 8, mr = lane % 8;
        // Visibility, scale (log2 units), running max, P, row sums.
        float blockMax[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nt = 0; nt < kKeyTiles; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const std::int64_t key = keyFirst + nt * 8 + 2 * t + (e % 2);
                const bool upper = e >= 2;
                const bool visible = (upper ? valid1 : valid0) && key < s.keys && key <= (upper ? pos1 : pos0) &&
                                     key >= (upper ? lo1 : lo0);
                sc[nt][e] = visible ? sc[nt][e] * scaleLog2 : -INFINITY;
                blockMax[upper] = fmaxf(blockMax[upper], sc[nt][e]);
            }
        float base[2], sum[2] = {0.0f, 0.0f};
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            blockMax[h] = fmaxf(blockMax[h], __shfl_xor_sync(0xffffffffu, blockMax[h], 1));
            blockMax[h] = fmaxf(blockMax[h], __shfl_xor_sync(0xffffffffu, blockMax[h], 2));
            const float next = fmaxf(m[h], blockMax[h]);
            base[h] = next == -INFINITY ? 0.0f : next;
            const float rescale = exp2f(m[h] - base[h]); // 0 while nothing was visible
            l[h] *= rescale;
#pragma unroll
            for (auto& tile : o) {
                tile[2 * h] *= rescale;
                tile[2 * h + 1] *= rescale;
            }
            m[h] = next;
        }
#pragma unroll
        for (int nt = 0; nt < kKeyTiles; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                sc[nt][e] = exp2f(sc[nt][e] - base[e / 2]);
                sum[e / 2] += sc[nt][e];
            }
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 1);
            sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], 2);
            l[h] += sum[h];
        }
        if (t == 0) {
            const std::int64_t at = (static_cast<std::int64_t>(warp) * s.kPrime + slot) * 16;
            slotMax[at + g] = base[0];
            slotSum[at + g] = sum[0];
            slotMax[at + g + 8] = base[1];
            slotSum[at + g + 8] = sum[1];
        }
        // O += P V, P as A fragments (high and low bf16 parts).
#pragma unroll
        for (int kk = 0; kk < kBk / 16; ++kk) {
            // A fragment of P: rows g / g+8, keys 2t.. of the first and second 8 of the 16.
            const float x[8] = {sc[2 * kk][0], sc[2 * kk][1], sc[2 * kk][2], sc[2 * kk][3],
                                sc[2 * kk + 1][0], sc[2 * kk + 1][1], sc[2 * kk + 1][2], sc[2 * kk + 1][3]};
            unsigned hi[4], lo[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const __nv_bfloat162 h2 = __floats2bfloat162_rn(x[2 * i], x[2 * i + 1]);
                hi[i] = *reinterpret_cast<const unsigned*>(&h2);
                lo[i] = detail::packBf16(x[2 * i] - __low2float(h2), x[2 * i + 1] - __high2float(h2));
            }
#pragma unroll
            for (int dp = 0; dp < kHeadDim / 16; ++dp) {
                unsigned r[4];
                detail::ldmatrixX4Trans(r, values + (kk * 16 + (mi % 2) * 8 + mr) * kRowStride + (2 * dp + mi / 2) * 8);
                detail::mma16816(o[2 * dp], hi, r[0], r[1]);
                detail::mma16816(o[2 * dp], lo, r[0], r[1]);
                detail::mma16816(o[2 * dp + 1], hi, r[2], r[3]);
                detail::mma16816(o[2 * dp + 1], lo, r[2], r[3]);
            }
        }
    }
    // Output rows.
    __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.output) + static_cast<std::int64_t>(head) * s.queries * kHeadDim;
    const float inv0 = l[0] > 0.0f ? 1.0f / l[0] : 0.0f, inv1 = l[1] > 0.0f ? 1.0f / l[1] : 0.0f;
#pragma unroll
    for (int nt = 0; nt < kHeadDim / 8; ++nt) {
        const int d = nt * 8 + 2 * t;
        if (valid0) *reinterpret_cast<unsigned*>(out + q0 * kHeadDim + d) = detail::packBf16(o[nt][0] * inv0, o[nt][1] * inv0);
        if (valid1) *reinterpret_cast<unsigned*>(out + q1 * kHeadDim + d) = detail::packBf16(o[nt][2] * inv1, o[nt][3] * inv1);
    }
    if (t == 0) {
        rowMax[warp * 16 + g] = valid0 ? m[0] : -INFINITY;
        rowSum[warp * 16 + g] = valid0 ? l[0] : 0.0f;
        rowMax[warp * 16 + g + 8] = valid1 ? m[1] : -INFINITY;
        rowSum[warp * 16 + g + 8] = valid1 ? l[1] : 0.0f;
    }
    __syncthreads();
    // Masses: one thread per slot, queries in a fixed order.
    for (int slot = threadIdx.x; slot < s.kPrime; slot += blockDim.x) {
        float mass = 0.0f;
        if (blocks[slot] >= 0) {
            for (int wq = 0; wq < warps; ++wq)
                for (int r = 0; r < 16; ++r) {
                    const float lr = rowSum[wq * 16 + r];
                    const float part = slotSum[(static_cast<std::int64_t>(wq) * s.kPrime + slot) * 16 + r];
                    if (lr > 0.0f && part > 0.0f)
                        mass += part * exp2f(slotMax[(static_cast<std::int64_t>(wq) * s.kPrime + slot) * 16 + r] -
                                             rowMax[wq * 16 + r]) / lr;
                }
            mass /= static_cast<float>(plan.queryCount);
        }
        p.mass[cell * s.kPrime + slot] = mass;
    }
}

template <int kBk> void launchMma(const BlockSparseParams& p)
{
    const StreamAttnShape& s = p.shape;
    const MmaLayout layout{kBk, s.kPrime, s.bq / 16};
    detail::allowSharedMemory(mmaBlockSparseKernel<kBk>, layout.bytes(), 0, "block-sparse attention (mma)");
    const std::int64_t cells = static_cast<std::int64_t>(s.heads) * s.rows;
    mmaBlockSparseKernel<kBk><<<static_cast<unsigned>(cells), 32 * (s.bq / 16), layout.bytes(), s.stream>>>(p);
    checkLaunch("mmaBlockSparseKernel");
}

} // namespace

bool launchMmaBlockSparseAttention(const BlockSparseParams& p)
{
    const StreamAttnShape& s = p.shape;
    if (!p.index || s.dtype != ElementType::BF16 || s.headDim != kHeadDim || (s.bq != 16 && s.bq != 32) ||
        (s.bk != 16 && s.bk != 32))
        return false;
    if (static_cast<std::int64_t>(s.heads) * s.rows == 0) return true;
    if (s.bk == 16)
        launchMma<16>(p);
    else
        launchMma<32>(p);
    return true;
}

} // namespace sparsetrace::gpu
