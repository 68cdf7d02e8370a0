// The vector inner loops of the CPU attention, chosen once at run time: AVX2 with FMA where the
// processor has both, else the x86-64 baseline (SSE2), so the default build runs on any x86-64
// and still uses the wide units where they exist. No Eigen, no torch. Shapes are padded by the
// caller (see simd_kernels.inc): query rows to a multiple of 4, tile widths to a multiple of
// kSimdKeys keys, the head dimension to a multiple of kSimdDims.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

namespace sparsetrace::gpu::cpu {

inline constexpr int kSimdQueries = 4; // query rows per step
inline constexpr int kSimdKeys = 16;   // key columns per step
inline constexpr int kSimdDims = 8;    // head-dimension padding

inline constexpr int roundUp(int n, int m) { return (n + m - 1) / m * m; }

struct SimdKernels {
    // s[i][j] = scale * q[i] . kT[:, j]; q [nqp][dp], kT [dp][ldk] (keys transposed), s [nqp][lds].
    void (*scoreTile)(const float* q, int nqp, int dp, const float* kT, std::int64_t ldk, int n, float scale, float* s,
                      std::int64_t lds);
    // acc[i] += sum_j p[i][j] v[j]; p [nqp][ldp], v [n][dp], acc [nqp][dp].
    void (*valueTile)(const float* p, std::int64_t ldp, int nqp, const float* v, int dp, int n, float* acc);
    // Per query row and segment [starts[b], starts[b+1]): maximum and sum of exp(s - maximum),
    // the segment replaced by those exps (zeros for a segment of only -inf).
    void (*blockStats)(float* s, std::int64_t lds, int nq, const int* starts, int segments, float* bmax, float* bsum,
                       std::int64_t ld);
    // out[j] = exp(x[j] - m), exactly 0 where x[j] - m < about -87.3 (and for -inf).
    void (*expShift)(const float* x, int n, float m, float* out);
    // x[j] *= f.
    void (*scale)(float* x, int n, float f);
    const char* name; // "avx2+fma" or "sse2"
};

// The kernels for this processor. SPARSETRACE_CPU_SIMD=sse2 in the environment forces the
// baseline (tests run both paths on one machine).
const SimdKernels& simdKernels();

} // namespace sparsetrace::gpu::cpu
