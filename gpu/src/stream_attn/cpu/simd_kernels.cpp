// Both builds of the vector inner loops (simd_kernels.inc) and the choice between them.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/simd_kernels.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SPARSETRACE_SIMD_AVX2 1
#include <immintrin.h>
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi" // internal-linkage helpers pass vectors by value: no ABI crosses a library boundary

namespace sparsetrace::gpu::cpu {

namespace {
namespace baseline {
#define SPARSETRACE_SIMD_WIDTH 4
#define SPARSETRACE_SIMD_FMA 0
#include "stream_attn/cpu/simd_kernels.inc"
#undef SPARSETRACE_SIMD_WIDTH
#undef SPARSETRACE_SIMD_FMA
} // namespace baseline
} // namespace

#ifdef SPARSETRACE_SIMD_AVX2
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace {
namespace avx2 {
#define SPARSETRACE_SIMD_WIDTH 8
#define SPARSETRACE_SIMD_FMA 1
#include "stream_attn/cpu/simd_kernels.inc"
#undef SPARSETRACE_SIMD_WIDTH
#undef SPARSETRACE_SIMD_FMA
} // namespace avx2
} // namespace
#pragma GCC pop_options
#endif

namespace {
const SimdKernels& chooseKernels()
{
    const char* forced = std::getenv("SPARSETRACE_CPU_SIMD");
    if (forced && std::strcmp(forced, "sse2") == 0) return baseline::kKernels;
#ifdef SPARSETRACE_SIMD_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2::kKernels;
#endif
    return baseline::kKernels;
}
} // namespace

const SimdKernels& simdKernels()
{
    static const SimdKernels& k = chooseKernels();
    return k;
}

} // namespace sparsetrace::gpu::cpu

#pragma GCC diagnostic pop
