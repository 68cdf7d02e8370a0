// The block-mass pass (fidelity, spec section 5, and dense-layer records, spec section 3) on
// tensor cores, for bf16, head dim 128, bq and bk in {16, 32, 64} (issue 19). Flash style: one
// thread block per (KV head, row, chunk of the KV group's heads), a warp per 16 queries of one
// head with its Q fragments in registers; the row's visible keys are streamed in tiles of
// max(bk, 64) keys (8 independent mma per k-step, one barrier pair per 64 keys), staged in
// shared memory by cp.async (double buffered, 272-byte rows, ldmatrix without bank conflicts)
// and shared by every head of the chunk (a tile is read from L2 once per chunk, not per head). S = scale Q K^T on mma.sync m16n8k16 (bf16 in, fp32
// accumulation), in log2 units. Pass 1: per thread and query a running max and sum over the
// thread's columns, combined over the quad at the end. Pass 2: per key block the sum over its
// keys and the warp's queries of exp2(S - m - log2 l), reduced by a fixed shuffle tree, then
// summed over the row's warps in a fixed order into the row's block masses in shared memory
// (no atomics: identical bytes run to run). Per-element masking only on tiles that need it
// (the diagonal, a sliding window's edge, keys past Tk). The captured mass and the top blocks
// come from detail::selectBlocks, as in the SIMT kernel (stream_attn_fidelity.cu), which stays
// the path for fp32 and other shapes.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn_device.cuh"

namespace sparsetrace::gpu {
namespace {

constexpr int kHeadDim = 128;
constexpr int kRowStride = kHeadDim + 8; // bf16 elements per staged key row
constexpr int kMaxWarps = 8;             // per thread block: heads per block x bq / 16
constexpr int kMaxThreads = 32 * kMaxWarps;
// A thread block shares its key tiles between several heads of a KV group only while its shared
// memory stays under this (two blocks per SM of 228 KiB); a single head takes what the device allows.
constexpr std::size_t kSharedHeadsBytes = 110 * 1024;

__device__ inline void cpAsync16(void* smem, const void* global, bool fill)
{
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(global), "r"(fill ? 16 : 0));
}
__device__ inline void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending> __device__ inline void cpAsyncWait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending)); }

// Shared memory of one thread block (dynamic): two staged key tiles, per head of the block the
// row's block masses, the selection's K' blocks and masses, per (warp, block of a tile) the
// warp's partial mass, and the selection's reduction arrays.
struct MassLayout {
    int heads, keyBlocks, kPrime, warps, tileKeys, blocksPerTile, width;
    __host__ __device__ std::size_t keysAt() const { return 0; }
    __host__ __device__ std::size_t massAt() const { return keysAt() + std::size_t(2) * tileKeys * kRowStride * 2; }
    __host__ __device__ std::size_t chosenAt() const { return massAt() + std::size_t(heads) * keyBlocks * 4; }
    __host__ __device__ std::size_t chosenMassAt() const { return chosenAt() + std::size_t(kPrime) * 4; }
    __host__ __device__ std::size_t partialAt() const { return chosenMassAt() + std::size_t(kPrime) * 4; }
    __host__ __device__ std::size_t reduceMassAt() const { return partialAt() + std::size_t(warps) * blocksPerTile * 4; }
    __host__ __device__ std::size_t reduceBlockAt() const { return reduceMassAt() + std::size_t(width) * 4; }
    __host__ __device__ std::size_t bytes() const { return reduceBlockAt() + std::size_t(width) * 4; }
};

__host__ __device__ inline MassLayout massLayout(const StreamAttnShape& s, int headsPerBlock)
{
    const int tileKeys = s.bk < 64 ? 64 : s.bk;
    const int warps = headsPerBlock * (s.bq / 16);
    int width = 1;
    while (width < 32 * warps) width *= 2;
    return MassLayout{headsPerBlock, static_cast<int>((s.keys + s.bk - 1) / s.bk), s.kPrime, warps, tileKeys,
                      tileKeys / s.bk, width};
}

template <int kBk>
__global__ void __launch_bounds__(kMaxThreads) mmaBlockMassKernel(BlockMassParams p, int headsPerBlock)
{
    constexpr int kTile = kBk < 64 ? 64 : kBk; // keys per staged tile
    constexpr int kKeyTiles = kTile / 8;       // n-tiles of S
    constexpr int kBlocksPerTile = kTile / kBk;
    constexpr int kTilesPerBlock = kBk / 8;
    const StreamAttnShape& s = p.shape;
    const int mTiles = s.bq / 16; // warps per head
    const int threads = static_cast<int>(blockDim.x);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int group = s.heads / s.kvHeads, chunks = group / headsPerBlock;
    // (KV head, row, chunk of the group's heads), chunk fastest: neighbours share keys in L2.
    const std::int64_t w = blockIdx.x;
    const int kvh = static_cast<int>(w / (static_cast<std::int64_t>(chunks) * s.rows));
    const std::int64_t row = (w / chunks) % s.rows;
    const int firstHead = kvh * group + static_cast<int>(w % chunks) * headsPerBlock;
    const int hc = warp / mTiles, mt = warp % mTiles;
    const int head = firstHead + hc;
    const detail::RowPlan plan = detail::planRow(s, row);
    const int nb = plan.lastBlock - plan.visibleFirst + 1;
    const MassLayout layout = massLayout(s, headsPerBlock);

    extern __shared__ __align__(16) unsigned char shared[];
    __nv_bfloat16* keys = reinterpret_cast<__nv_bfloat16*>(shared + layout.keysAt()); // [2, kTile, kRowStride] bf16
    float* blockMass = reinterpret_cast<float*>(shared + layout.massAt());           // [heads, keyBlocks] float32
    int* chosen = reinterpret_cast<int*>(shared + layout.chosenAt());                // [K'] int32
    float* chosenMass = reinterpret_cast<float*>(shared + layout.chosenMassAt());    // [K'] float32
    float* partial = reinterpret_cast<float*>(shared + layout.partialAt());          // [warps, blocks per tile] float32
    float* reduceMass = reinterpret_cast<float*>(shared + layout.reduceMassAt());    // [width] float32
    int* reduceBlock = reinterpret_cast<int*>(shared + layout.reduceBlockAt());      // [width] int32

    // This thread's two queries: rows g and g + 8 of the warp's 16.
    const int r0 = mt * 16 + g, r1 = r0 + 8; // within the row
    const bool valid[2] = {r0 < plan.queryCount, r1 < plan.queryCount};
    const std::int64_t q0 = row * s.bq + r0, q1 = row * s.bq + r1; // indices into Tq
    const std::int64_t pos[2] = {s.queryOffset + q0, s.queryOffset + q1};
    const std::int64_t lo[2] = {detail::firstVisibleKey(s, pos[0]), detail::firstVisibleKey(s, pos[1])};
    const __nv_bfloat16* qBase = static_cast<const __nv_bfloat16*>(s.q) + static_cast<std::int64_t>(head) * s.queries * kHeadDim;
    unsigned qa[kHeadDim / 16][4]; // A fragments of Q, per k-step of 16 channels
#pragma unroll
    for (int ks = 0; ks < kHeadDim / 16; ++ks) {
        const int d = ks * 16 + 2 * t;
        qa[ks][0] = valid[0] ? *reinterpret_cast<const unsigned*>(qBase + q0 * kHeadDim + d) : 0u;
        qa[ks][1] = valid[1] ? *reinterpret_cast<const unsigned*>(qBase + q1 * kHeadDim + d) : 0u;
        qa[ks][2] = valid[0] ? *reinterpret_cast<const unsigned*>(qBase + q0 * kHeadDim + d + 8) : 0u;
        qa[ks][3] = valid[1] ? *reinterpret_cast<const unsigned*>(qBase + q1 * kHeadDim + d + 8) : 0u;
    }
    const float scaleLog2 = s.scale * 1.4426950408889634f;
    // Tiles from the one holding the row's first visible block to the one holding its last query.
    const std::int64_t firstKey = static_cast<std::int64_t>(plan.visibleFirst) * kBk / kTile * kTile;
    const std::int64_t tiles = (plan.lastQuery - firstKey) / kTile + 1;
    // Keys every valid query of the row sees: [firstVisibleKey(last query), first query], < Tk.
    const std::int64_t allSeeFirst = detail::firstVisibleKey(s, plan.lastQuery);
    const __nv_bfloat16* kHead = static_cast<const __nv_bfloat16*>(s.k) + detail::keyOffset(s, kvh, 0);
    const auto stage = [&](std::int64_t tile, int buffer) { // rows past Tk: zeros
        const std::int64_t first = firstKey + tile * kTile;
        __nv_bfloat16* to = keys + buffer * kTile * kRowStride;
        for (int c = threadIdx.x; c < kTile * kHeadDim / 8; c += threads) {
            const int r = c / (kHeadDim / 8), col = (c % (kHeadDim / 8)) * 8;
            const bool inside = first + r < s.keys;
            cpAsync16(to + r * kRowStride + col, kHead + (inside ? (first + r) * kHeadDim + col : 0), inside);
        }
        cpAsyncCommit();
    };

    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}; // pass 1, per thread (its columns)
    float mlog[2] = {INFINITY, INFINITY}; // pass 2: max + log2(sum) of the query (inf: not a query)
    for (int pass = 0; pass < 2; ++pass) {
        stage(0, 0);
        for (std::int64_t i = 0; i < tiles; ++i) {
            if (i + 1 < tiles) {
                stage(i + 1, static_cast<int>((i + 1) & 1));
                cpAsyncWait<1>();
            } else {
                cpAsyncWait<0>();
            }
            __syncthreads();
            const __nv_bfloat16* tile = keys + (i & 1) * kTile * kRowStride;
            const std::int64_t first = firstKey + i * kTile;
            float sc[kKeyTiles][4];
            detail::scoreTile<kTile, kHeadDim, kRowStride>(sc, qa, tile, lane);
            const bool masked = first < allSeeFirst || first + kTile - 1 > plan.firstQuery || first + kTile > s.keys;
#pragma unroll
            for (int nt = 0; nt < kKeyTiles; ++nt)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    float x = sc[nt][e] * scaleLog2;
                    if (masked) {
                        const std::int64_t key = first + nt * 8 + 2 * t + (e % 2);
                        const int h = e / 2;
                        if (!(valid[h] && key <= pos[h] && key >= lo[h] && key < s.keys)) x = -INFINITY;
                    }
                    sc[nt][e] = x;
                }
            if (pass == 0) {
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    float tileMax = -INFINITY;
#pragma unroll
                    for (int nt = 0; nt < kKeyTiles; ++nt) tileMax = fmaxf(tileMax, fmaxf(sc[nt][2 * h], sc[nt][2 * h + 1]));
                    if (tileMax > m[h]) {
                        l[h] *= exp2f(m[h] - tileMax); // 0 while nothing was visible
                        m[h] = tileMax;
                    }
                    const float base = m[h] == -INFINITY ? 0.0f : m[h];
#pragma unroll
                    for (int nt = 0; nt < kKeyTiles; ++nt) l[h] += exp2f(sc[nt][2 * h] - base) + exp2f(sc[nt][2 * h + 1] - base);
                }
            } else {
#pragma unroll
                for (int j = 0; j < kBlocksPerTile; ++j) {
                    float sum = 0.0f;
#pragma unroll
                    for (int nt = j * kTilesPerBlock; nt < (j + 1) * kTilesPerBlock; ++nt)
#pragma unroll
                        for (int e = 0; e < 4; ++e) sum += exp2f(sc[nt][e] - mlog[e / 2]);
                    sum = detail::warpSum(sum); // a fixed shuffle tree
                    if (lane == 0) partial[warp * kBlocksPerTile + j] = sum;
                }
            }
            __syncthreads(); // the tile's buffer is free; the partials are complete
            if (pass == 1 && threadIdx.x < headsPerBlock * kBlocksPerTile) {
                // One thread per (head, block of the tile): the row's warps in order.
                const int h = threadIdx.x / kBlocksPerTile, j = threadIdx.x % kBlocksPerTile;
                const std::int64_t b = first / kBk + j;
                if (b >= plan.visibleFirst && b <= plan.lastBlock) {
                    float sum = 0.0f;
                    for (int u = 0; u < mTiles; ++u) sum += partial[(h * mTiles + u) * kBlocksPerTile + j];
                    blockMass[static_cast<std::int64_t>(h) * layout.keyBlocks + (b - plan.visibleFirst)] = sum;
                }
            }
        }
        if (pass == 0) { // the query's max and sum over the quad's columns
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                float top = fmaxf(m[h], __shfl_xor_sync(0xffffffffu, m[h], 1));
                top = fmaxf(top, __shfl_xor_sync(0xffffffffu, top, 2));
                float sum = m[h] == -INFINITY ? 0.0f : l[h] * exp2f(m[h] - top);
                sum += __shfl_xor_sync(0xffffffffu, sum, 1);
                sum += __shfl_xor_sync(0xffffffffu, sum, 2);
                mlog[h] = valid[h] && sum > 0.0f ? top + log2f(sum) : INFINITY;
            }
        }
    }
    for (int h = 0; h < headsPerBlock; ++h)
        detail::selectBlocks(p, static_cast<std::int64_t>(firstHead + h) * s.rows + row, plan,
                             blockMass + static_cast<std::int64_t>(h) * layout.keyBlocks, nb, chosen, chosenMass,
                             reduceMass, reduceBlock, threads);
}

} // namespace

bool launchMmaBlockMass(const BlockMassParams& p)
{
    const StreamAttnShape& s = p.shape;
    const auto fits = [](int b) { return b == 16 || b == 32 || b == 64; };
    if (s.dtype != ElementType::BF16 || s.headDim != kHeadDim || !fits(s.bq) || !fits(s.bk)) return false;
    const std::int64_t cells = static_cast<std::int64_t>(s.heads) * s.rows;
    if (cells == 0) return true;
    int device = 0, optin = 0;
    checkCuda(cudaGetDevice(&device), "cudaGetDevice");
    checkCuda(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "cudaDeviceGetAttribute");
    constexpr std::size_t kStaticBytes = 16; // selectBlocks' budget
    // Heads per thread block: the most (a divisor of the group) within kMaxWarps and
    // kSharedHeadsBytes; one head where the device allows its block masses; else the SIMT kernel.
    const int group = s.heads / s.kvHeads;
    int headsPerBlock = 0;
    for (int hg = group; hg >= 1 && headsPerBlock == 0; --hg) {
        if (group % hg != 0 || hg * (s.bq / 16) > kMaxWarps) continue;
        const std::size_t bytes = massLayout(s, hg).bytes() + kStaticBytes;
        if ((hg == 1 || bytes <= kSharedHeadsBytes) && bytes <= static_cast<std::size_t>(optin)) headsPerBlock = hg;
    }
    if (headsPerBlock == 0) return false;
    const MassLayout layout = massLayout(s, headsPerBlock);
    const unsigned blocks = static_cast<unsigned>(cells / headsPerBlock);
    const unsigned threads = static_cast<unsigned>(32 * layout.warps);
    const auto launch = [&](auto kernel, const char* name) {
        detail::allowSharedMemory(kernel, layout.bytes(), kStaticBytes, "block mass (fidelity, mma)");
        kernel<<<blocks, threads, layout.bytes(), s.stream>>>(p, headsPerBlock);
        checkLaunch(name);
    };
    if (s.bk == 16)
        launch(mmaBlockMassKernel<16>, "mmaBlockMassKernel<16>");
    else if (s.bk == 32)
        launch(mmaBlockMassKernel<32>, "mmaBlockMassKernel<32>");
    else
        launch(mmaBlockMassKernel<64>, "mmaBlockMassKernel<64>");
    return true;
}

} // namespace sparsetrace::gpu
