// Stream-Attn op against the CPU reference (core/stream_attn.h). On a CUDA device: the kernels
// on random inputs at several shapes (T not a multiple of bq, GQA 1/2/6, one head, sliding
// window, decode step, chunked queries) and score rules (centre, first, bound), fp32 and bf16. Everywhere (CI included): the op's CPU
// path and its input checks.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/stream_attn_op.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/stream_attn.h"
#include "sparsetrace/gpu/device.h"

#include "harness_shared.h"
#include "stream_attn_problem.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace sparsetrace;

namespace {

struct Case {
    std::string name;
    int heads, kvHeads, headDim;
    std::int64_t keys, queries, queryOffset;
    int slidingWindow;
    core::StreamParams params;
};

using sparsetrace::test::streamParams;

std::vector<Case> cases()
{
    using core::ScoreRule;
    return {
        {"gqa1 T=300", 2, 2, 64, 300, 300, 0, 0, streamParams(16, 16, 4, 16, 32)},
        {"gqa2 T=517 (not a multiple of bq)", 4, 2, 64, 517, 517, 0, 0, streamParams(32, 16, 5, 32, 64)},
        {"gqa6 stride 2, first rule", 6, 1, 128, 400, 400, 0, 0, streamParams(8, 8, 6, 8, 16, 2, ScoreRule::First)},
        {"one head T=1000", 1, 1, 32, 1000, 1000, 0, 0, streamParams(32, 32, 8, 32, 64)},
        {"sliding window 200", 4, 2, 64, 600, 600, 0, 200, streamParams(16, 16, 4, 16, 32)},
        {"head dim 256", 2, 1, 256, 200, 200, 0, 0, streamParams(16, 16, 3, 16, 32)},
        {"decode step", 4, 2, 64, 777, 1, 776, 0, streamParams(16, 16, 6, 16, 32, 4)},
        {"decode step, sliding window", 4, 2, 64, 777, 1, 776, 256, streamParams(16, 16, 6, 16, 32)},
        {"chunk of 100 queries at 333", 2, 1, 64, 433, 100, 333, 0, streamParams(16, 16, 4, 16, 32)},
        {"defaults T=3000", 2, 2, 128, 3000, 3000, 0, 0, streamParams(32, 32, 16, 32, 64)},
        {"K=40: more children than warps", 2, 1, 64, 3000, 3000, 0, 0, streamParams(16, 16, 40, 16, 32)},
        // 12,400 one-token key blocks: the fidelity pass needs > 48 KiB of shared memory (opt-in).
        {"bk=1 T=12400 (shared-memory opt-in)", 1, 1, 8, 12400, 12400, 0, 0, streamParams(64, 1, 16, 4, 64)},
        // The bound rule: the envelope table per KV head, shared by the query heads of a group.
        {"bound gqa2 T=517", 4, 2, 64, 517, 517, 0, 0, streamParams(32, 16, 5, 32, 64, 1, ScoreRule::Bound)},
        {"bound gqa6 stride 2", 6, 1, 128, 400, 400, 0, 0, streamParams(8, 8, 6, 8, 16, 2, ScoreRule::Bound)},
        {"bound sliding window 200", 4, 2, 64, 600, 600, 0, 200, streamParams(16, 16, 4, 16, 32, 1, ScoreRule::Bound)},
        {"bound decode step, stride 4", 4, 2, 64, 777, 1, 776, 0, streamParams(16, 16, 6, 16, 32, 4, ScoreRule::Bound)},
        {"bound chunk of 100 queries at 333", 2, 1, 64, 433, 100, 333, 0, streamParams(16, 16, 4, 16, 32, 1, ScoreRule::Bound)},
        {"bound defaults T=3000", 2, 2, 128, 3000, 3000, 0, 0, streamParams(32, 32, 16, 32, 64, 1, ScoreRule::Bound)},
        {"bound 1.5B geometry T=2500 gqa6", 12, 2, 128, 2500, 2500, 0, 0, streamParams(16, 16, 16, 16, 16, 1, ScoreRule::Bound)},
        // The tensor-core block-mass pass (bf16, D 128): a sliding window whose edge cuts key blocks,
        // a last row of 13 queries, and bq = bk = 64 (tiles of one block) with two heads per thread block.
        {"bound sliding window 300 D=128 T=1197", 6, 2, 128, 1197, 1197, 0, 300, streamParams(32, 32, 6, 32, 64, 1, ScoreRule::Bound)},
        {"bq=bk=64 gqa2 D=128 T=3000", 4, 2, 128, 3000, 3000, 0, 0, streamParams(64, 64, 4, 64, 128)},
    };
}

struct Inputs {
    torch::Tensor q, k, v; // float32 CPU: [H, Tq, D], [Hkv, Tk, D], [Hkv, Tk, D]
};

Inputs randomInputs(const Case& c, std::uint64_t seed)
{
    torch::manual_seed(seed);
    Inputs x;
    x.q = torch::randn({c.heads, c.queries, c.headDim});
    x.k = torch::randn({c.kvHeads, c.keys, c.headDim});
    x.v = torch::randn({c.kvHeads, c.keys, c.headDim});
    return x;
}

gpu::StreamAttnOptions optionsOf(const Case& c, bool dense = false)
{
    gpu::StreamAttnOptions o;
    o.scale = 1.0 / std::sqrt(static_cast<double>(c.headDim));
    o.slidingWindow = c.slidingWindow;
    o.queryOffset = c.queryOffset;
    o.dense = dense;
    return o;
}

// core::AttentionInputs viewing float32 CPU tensors (which must outlive it).
core::AttentionInputs coreInputs(const Case& c, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v)
{
    core::AttentionInputs in;
    in.heads = c.heads;
    in.kvHeads = c.kvHeads;
    in.queries = c.queries;
    in.keys = c.keys;
    in.headDim = c.headDim;
    in.q = {q.data_ptr<float>(), static_cast<std::size_t>(q.numel())};
    in.k = {k.data_ptr<float>(), static_cast<std::size_t>(k.numel())};
    in.v = {v.data_ptr<float>(), static_cast<std::size_t>(v.numel())};
    in.scale = optionsOf(c).scale;
    in.queryOffset = c.queryOffset;
    in.slidingWindow = c.slidingWindow;
    return in;
}

std::vector<std::int32_t> ints(const torch::Tensor& t)
{
    torch::Tensor c = t.to(torch::kCPU).contiguous();
    return {c.data_ptr<std::int32_t>(), c.data_ptr<std::int32_t>() + c.numel()};
}

std::vector<float> floats(const torch::Tensor& t)
{
    torch::Tensor c = t.to(torch::kCPU, torch::kFloat).contiguous();
    return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Fraction of identical rows of width `width`.
double identicalRows(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b, int width)
{
    const std::size_t rows = a.size() / static_cast<std::size_t>(width);
    std::size_t same = 0;
    for (std::size_t r = 0; r < rows; ++r)
        same += std::equal(a.begin() + static_cast<std::ptrdiff_t>(r * width),
                           a.begin() + static_cast<std::ptrdiff_t>((r + 1) * width),
                           b.begin() + static_cast<std::ptrdiff_t>(r * width))
                    ? 1
                    : 0;
    return rows ? static_cast<double>(same) / static_cast<double>(rows) : 1.0;
}

// Largest |got - want| - (atol + rtol |want|); <= 0 means within tolerance.
double worstExcess(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol)
{
    double worst = -1;
    for (std::size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::abs(double(got[i]) - double(want[i])) - (atol + rtol * std::abs(double(want[i]))));
    return worst;
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b)
{
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
    return m;
}

// Tolerances (argued):
// - float32 results (all masses; outputs of fp32 inputs): the kernels accumulate in fp32 where
//   the reference uses double. A logit carries about D * 2^-24 relative error, a probability
//   the same, and a sum over at most ~10^3 probabilities adds ~10^3 * 2^-24 ~ 6e-5 relative in
//   the worst case: atol 1e-5 + rtol 2e-4.
// - bf16 outputs: at most 2x the error of a same-precision reference, i.e. of the exact
//   (double) result rounded to bf16, plus the fp32 slack above (flash-attention's rule).
constexpr double kAtol = 1e-5, kRtol = 2e-4;

void checkCaseOnCuda(const Case& c, torch::ScalarType dtype)
{
    const std::string what = c.name + (dtype == torch::kBFloat16 ? " bf16" : " f32");
    Inputs x = randomInputs(c, 1234 + static_cast<std::uint64_t>(c.keys));
    // Both sides see the same (possibly bf16-rounded) values; the reference computes in double.
    const torch::Tensor q = x.q.to(dtype), k = x.k.to(dtype), v = x.v.to(dtype);
    const torch::Tensor qf = q.to(torch::kFloat).contiguous(), kf = k.to(torch::kFloat).contiguous(),
                        vf = v.to(torch::kFloat).contiguous();
    const core::AttentionInputs in = coreInputs(c, qf, kf, vf);
    const torch::Device cuda(torch::kCUDA, 0);
    const gpu::StreamAttnOptions options = optionsOf(c);
    const int kp = c.params.kPrime();

    // Sparse layer: mask, output, mass.
    gpu::StreamAttnOutput got = gpu::streamAttention(q.to(cuda), k.to(cuda), v.to(cuda), c.params, options);
    ST_CHECK(got.output.device().is_cuda() && got.output.scalar_type() == dtype);
    const std::vector<std::int32_t> gotIndex = ints(got.index);
    const std::vector<std::int32_t> refIndex = core::estimateMask(in, c.params);
    const double same = identicalRows(gotIndex, refIndex, kp);
    std::cout << "  " << what << ": identical index rows " << same * 100 << "%\n";
    if (dtype == torch::kFloat)
        ST_CHECK_MSG(same == 1.0, what << ": fp32 index rows differ from the reference (" << same * 100 << "% same)");
    else
        ST_CHECK_MSG(same >= 0.99, what << ": only " << same * 100 << "% of bf16 index rows match");
    // Output and mass against the reference run with the kernel's own mask, so that rows whose
    // mask differs by a tie are compared too.
    const core::StreamAttnResult ref = core::attendWithMask(in, c.params, gotIndex);
    const std::vector<float> gotMass = floats(got.mass), gotOut = floats(got.output);
    ST_CHECK_MSG(worstExcess(gotMass, ref.mass, kAtol, kRtol) <= 0,
                 what << ": mass off by " << maxAbsDiff(gotMass, ref.mass));
    if (dtype == torch::kFloat) {
        ST_CHECK_MSG(worstExcess(gotOut, ref.output, kAtol, kRtol) <= 0,
                     what << ": output off by " << maxAbsDiff(gotOut, ref.output));
    } else {
        const std::vector<float> rounded = floats(
            torch::from_blob(const_cast<float*>(ref.output.data()), {static_cast<std::int64_t>(ref.output.size())})
                .to(torch::kBFloat16));
        const double sameprecision = maxAbsDiff(rounded, ref.output);
        const double err = maxAbsDiff(gotOut, ref.output);
        std::cout << "  " << what << ": output error " << err << ", bf16 reference error " << sameprecision << "\n";
        ST_CHECK_MSG(err <= 2 * sameprecision + kAtol, what << ": output error " << err << " > 2 x " << sameprecision);
    }

    // The tensor-core kernel (bf16, D 128, bq and bk 16 or 32) sums masses in a fixed order:
    // a second run gives identical bytes.
    const bool tensorCorePath = dtype == torch::kBFloat16 && c.headDim == 128 && (c.params.bq == 16 || c.params.bq == 32) &&
                                (c.params.bk == 16 || c.params.bk == 32);
    if (tensorCorePath) {
        gpu::StreamAttnOutput again = gpu::streamAttention(q.to(cuda), k.to(cuda), v.to(cuda), c.params, options);
        ST_CHECK_MSG(floats(again.mass) == gotMass, what << ": masses differ between two runs");
        ST_CHECK_MSG(ints(again.index) == gotIndex, what << ": masks differ between two runs");
    }

    // Fidelity of the kernel's mask.
    gpu::StreamAttnFidelity fid =
        gpu::streamAttentionFidelity(q.to(cuda), k.to(cuda), v.to(cuda), c.params, options, got.index);
    const core::FidelityResult refFid = core::measureFidelity(in, c.params, gotIndex);
    const std::vector<float> captured = floats(fid.captured);
    ST_CHECK_MSG(worstExcess(captured, refFid.captured, kAtol, kRtol) <= 0,
                 what << ": captured mass off by " << maxAbsDiff(captured, refFid.captured));
    const double sameOracle = identicalRows(ints(fid.oracleIndex), refFid.oracleIndex, kp);
    std::cout << "  " << what << ": identical oracle rows " << sameOracle * 100 << "%\n";
    ST_CHECK_MSG(sameOracle >= 0.99, what << ": only " << sameOracle * 100 << "% of oracle rows match");
    for (std::size_t i = 0; i < captured.size(); ++i) ST_CHECK(captured[i] <= 1.0f + 1e-5f);
    // The tensor-core block-mass pass (bf16, D 128, bq and bk 16, 32 or 64) sums in a fixed order:
    // a second run gives identical bytes.
    const auto massSize = [](int b) { return b == 16 || b == 32 || b == 64; };
    if (dtype == torch::kBFloat16 && c.headDim == 128 && massSize(c.params.bq) && massSize(c.params.bk)) {
        gpu::StreamAttnFidelity again =
            gpu::streamAttentionFidelity(q.to(cuda), k.to(cuda), v.to(cuda), c.params, options, got.index);
        ST_CHECK_MSG(floats(again.captured) == captured, what << ": captured masses differ between two runs");
        ST_CHECK_MSG(ints(again.oracleIndex) == ints(fid.oracleIndex), what << ": oracle rows differ between two runs");
        ST_CHECK_MSG(floats(again.oracleMass) == floats(fid.oracleMass), what << ": oracle masses differ between two runs");
    }

    // Dense layer: exact output, top-K' blocks by mass.
    gpu::StreamAttnOutput dense =
        gpu::streamAttention(q.to(cuda), k.to(cuda), v.to(cuda), c.params, optionsOf(c, true));
    const core::StreamAttnResult refDense = core::denseAttention(in, c.params);
    const double sameDense = identicalRows(ints(dense.index), refDense.index, kp);
    std::cout << "  " << what << ": identical dense top-K' rows " << sameDense * 100 << "%\n";
    ST_CHECK_MSG(sameDense >= 0.99, what << ": only " << sameDense * 100 << "% of dense rows match");
    const std::vector<float> denseOut = floats(dense.output);
    if (dtype == torch::kFloat) {
        ST_CHECK_MSG(worstExcess(denseOut, refDense.output, kAtol, kRtol) <= 0,
                     what << ": dense output off by " << maxAbsDiff(denseOut, refDense.output));
        ST_CHECK_MSG(worstExcess(floats(dense.mass), refDense.mass, kAtol, kRtol) <= 0 || sameDense < 1.0,
                     what << ": dense mass off by " << maxAbsDiff(floats(dense.mass), refDense.mass));
    } else {
        std::vector<float> denseRef = refDense.output;
        const std::vector<float> rounded = floats(
            torch::from_blob(denseRef.data(), {static_cast<std::int64_t>(denseRef.size())}).to(torch::kBFloat16));
        const double err = maxAbsDiff(denseOut, denseRef);
        ST_CHECK_MSG(err <= 2 * maxAbsDiff(rounded, denseRef) + kAtol, what << ": dense output error " << err);
    }
}

bool cudaReady()
{
    if (!gpu::cudaAvailable()) test::noGpu("no CUDA device visible to libtorch");
    ST_CHECK_MSG(gpu::builtWithCudaKernels(), "CUDA device present but the build has no CUDA kernels");
    return true;
}

} // namespace

ST_TEST(cudaMatchesReferenceF32)
{
    cudaReady();
    for (const Case& c : cases()) checkCaseOnCuda(c, torch::kFloat);
}

ST_TEST(cudaMatchesReferenceBf16)
{
    cudaReady();
    for (const Case& c : cases()) checkCaseOnCuda(c, torch::kBFloat16);
}

// Keys and values as a KV cache holds them ([Hkv, 0:Tk, D] of a longer [Hkv, capacity, D]
// buffer) are read in place and give the bytes of contiguous ones; records can be written into
// tensors the caller gives (the tracer's record buffer).
ST_TEST(cudaReadsCacheViewsInPlace)
{
    cudaReady();
    const torch::Device cuda(torch::kCUDA, 0);
    for (const Case& c : cases()) {
        if (c.kvHeads < 2 && c.name.find("bound") == std::string::npos) continue;
        for (torch::ScalarType dtype : {torch::kFloat, torch::kBFloat16}) {
            const std::string what = c.name + (dtype == torch::kBFloat16 ? " bf16" : " f32");
            Inputs x = randomInputs(c, 99);
            const torch::Tensor q = x.q.to(cuda, dtype), k = x.k.to(cuda, dtype), v = x.v.to(cuda, dtype);
            const std::int64_t capacity = c.keys + 40;
            torch::Tensor kBuf = torch::zeros({c.kvHeads, capacity, c.headDim}, k.options());
            torch::Tensor vBuf = torch::zeros_like(kBuf);
            kBuf.narrow(1, 0, c.keys).copy_(k);
            vBuf.narrow(1, 0, c.keys).copy_(v);
            const torch::Tensor kView = kBuf.narrow(1, 0, c.keys), vView = vBuf.narrow(1, 0, c.keys);
            ST_CHECK(c.kvHeads == 1 || !kView.is_contiguous());
            const gpu::StreamAttnOutput want = gpu::streamAttention(q, k, v, c.params, optionsOf(c));
            gpu::StreamAttnOptions into = optionsOf(c);
            const std::int64_t rows = (c.queries + c.params.bq - 1) / c.params.bq;
            into.indexOut = torch::full({c.heads, rows, c.params.kPrime()}, 7, q.options().dtype(torch::kInt));
            into.massOut = torch::full({c.heads, rows, c.params.kPrime()}, 7.0, q.options().dtype(torch::kFloat));
            const gpu::StreamAttnOutput got = gpu::streamAttention(q, kView, vView, c.params, into);
            ST_CHECK_MSG(got.index.data_ptr() == into.indexOut.data_ptr(), what << ": index not written in place");
            ST_CHECK_MSG(got.mass.data_ptr() == into.massOut.data_ptr(), what << ": mass not written in place");
            ST_CHECK_MSG(ints(got.index) == ints(want.index), what << ": masks differ with a cache view");
            if (c.params.score != core::ScoreRule::Bound || dtype != torch::kBFloat16 || c.headDim != 128) continue;
            // The tensor-core path is deterministic: identical bytes.
            ST_CHECK_MSG(floats(got.mass) == floats(want.mass), what << ": masses differ with a cache view");
            ST_CHECK_MSG(floats(got.output) == floats(want.output), what << ": outputs differ with a cache view");
        }
    }
}

ST_TEST(cudaRejectsMixedDevices)
{
    cudaReady();
    const Case c = cases().front();
    Inputs x = randomInputs(c, 7);
    const torch::Device cuda(torch::kCUDA, 0);
    ST_CHECK_THROWS(gpu::streamAttention(x.q.to(cuda), x.k, x.v, c.params, optionsOf(c)), ArgumentError, "one device");
    gpu::StreamAttnOptions reference = optionsOf(c);
    reference.cpuBackend = core::CpuBackend::Reference;
    ST_CHECK_THROWS(gpu::streamAttention(x.q.to(cuda), x.k.to(cuda), x.v.to(cuda), c.params, reference), ArgumentError,
                    "CPU only");
}

// The op's CPU path with the reference backend is the reference itself behind the torch boundary:
// bit-identical for f32.
ST_TEST(cpuPathIsTheReference)
{
    const auto reference = [](const Case& c, bool dense = false) {
        gpu::StreamAttnOptions o = optionsOf(c, dense);
        o.cpuBackend = core::CpuBackend::Reference;
        return o;
    };
    for (const Case& c : cases()) {
        if (c.keys > 1000) continue; // the large shapes are for the kernels; keep CI quick
        Inputs x = randomInputs(c, 99);
        const core::AttentionInputs in = coreInputs(c, x.q, x.k, x.v);
        gpu::StreamAttnOutput got = gpu::streamAttention(x.q, x.k, x.v, c.params, reference(c));
        const core::StreamAttnResult ref = core::streamAttentionReference(in, c.params);
        ST_CHECK_MSG(ints(got.index) == ref.index, c.name);
        ST_CHECK_MSG(floats(got.mass) == ref.mass, c.name);
        ST_CHECK_MSG(floats(got.output) == ref.output, c.name);
        ST_CHECK_EQ(got.index.size(0), c.heads);
        ST_CHECK_EQ(got.index.size(1), (c.queries + c.params.bq - 1) / c.params.bq);
        ST_CHECK_EQ(got.index.size(2), c.params.kPrime());
        gpu::StreamAttnFidelity fid = gpu::streamAttentionFidelity(x.q, x.k, x.v, c.params, reference(c), got.index);
        const core::FidelityResult refFid = core::measureFidelity(in, c.params, ref.index);
        ST_CHECK_MSG(floats(fid.captured) == refFid.captured, c.name);
        ST_CHECK_MSG(ints(fid.oracleIndex) == refFid.oracleIndex, c.name);
        for (float m : floats(fid.captured)) ST_CHECK(m > 0.0f && m <= 1.0f + 1e-6f);
        gpu::StreamAttnOutput dense = gpu::streamAttention(x.q, x.k, x.v, c.params, reference(c, true));
        ST_CHECK_MSG(ints(dense.index) == core::denseAttention(in, c.params).index, c.name);
    }
}

// The op's default CPU path is the Eigen backend (stream_attn/cpu; compared with the reference in
// depth by tst_stream_attn_cpu): same masks on these inputs, masses within 1e-5.
ST_TEST(cpuPathDefaultsToTheEigenBackend)
{
    for (const Case& c : cases()) {
        if (c.keys > 1000) continue;
        Inputs x = randomInputs(c, 99);
        const core::AttentionInputs in = coreInputs(c, x.q, x.k, x.v);
        gpu::StreamAttnOutput got = gpu::streamAttention(x.q, x.k, x.v, c.params, optionsOf(c));
        const core::StreamAttnResult ref = core::streamAttentionReference(in, c.params);
        ST_CHECK_MSG(ints(got.index) == ref.index, c.name);
        ST_CHECK_MSG(maxAbsDiff(floats(got.mass), ref.mass) <= 1e-5, c.name);
        ST_CHECK_MSG(worstExcess(floats(got.output), ref.output, kAtol, kRtol) <= 0, c.name);
        gpu::StreamAttnFidelity fid = gpu::streamAttentionFidelity(x.q, x.k, x.v, c.params, optionsOf(c), got.index);
        ST_CHECK_MSG(maxAbsDiff(floats(fid.captured), core::measureFidelity(in, c.params, ref.index).captured) <= 1e-5, c.name);
    }
}

ST_TEST(cpuPathKeepsBf16)
{
    const Case c = cases().front();
    Inputs x = randomInputs(c, 5);
    gpu::StreamAttnOutput got = gpu::streamAttention(x.q.to(torch::kBFloat16), x.k.to(torch::kBFloat16),
                                                     x.v.to(torch::kBFloat16), c.params, optionsOf(c));
    ST_CHECK(got.output.scalar_type() == torch::kBFloat16);
    ST_CHECK(got.index.scalar_type() == torch::kInt);
    ST_CHECK(got.mass.scalar_type() == torch::kFloat);
    // Every row's masses sum to 1 (a sparse layer's softmax lives on its kept blocks).
    torch::Tensor sums = got.mass.sum(-1);
    ST_CHECK_MSG((sums - 1).abs().max().item<float>() < 1e-5f, "row sums " << sums.min().item<float>());
}

ST_TEST(badInputsGiveOneClearMessage)
{
    const Case c = cases().front();
    Inputs x = randomInputs(c, 3);
    const gpu::StreamAttnOptions o = optionsOf(c);
    ST_CHECK_THROWS(gpu::streamAttention(x.q[0], x.k, x.v, c.params, o), ArgumentError, "q must be [H, Tq, D]");
    ST_CHECK_THROWS(gpu::streamAttention(x.q, x.k, x.v.narrow(1, 0, 10), c.params, o), ArgumentError, "shape of k");
    ST_CHECK_THROWS(gpu::streamAttention(x.q, x.k.to(torch::kBFloat16), x.v, c.params, o), ArgumentError, "one dtype");
    ST_CHECK_THROWS(gpu::streamAttention(x.q.to(torch::kDouble), x.k.to(torch::kDouble), x.v.to(torch::kDouble),
                                         c.params, o),
                    ArgumentError, "float32 or bfloat16");
    torch::Tensor q3 = torch::randn({3, c.queries, c.headDim});
    ST_CHECK_THROWS(gpu::streamAttention(q3, x.k, x.v, c.params, o), ArgumentError, "multiple of kv heads");
    gpu::StreamAttnOptions late = o;
    late.queryOffset = 5;
    ST_CHECK_THROWS(gpu::streamAttention(x.q, x.k, x.v, c.params, late), ArgumentError, "need their keys");
    gpu::StreamAttnOptions noScale = o;
    noScale.scale = 0;
    ST_CHECK_THROWS(gpu::streamAttention(x.q, x.k, x.v, c.params, noScale), ArgumentError, "scale");
    core::StreamParams bad = c.params;
    bad.sinks = 5;
    ST_CHECK_THROWS(gpu::streamAttention(x.q, x.k, x.v, bad, o), ArgumentError, "sinks");
    torch::Tensor wrongIndex = torch::zeros({1, 2, 3}, torch::kInt);
    ST_CHECK_THROWS(gpu::streamAttentionFidelity(x.q, x.k, x.v, c.params, o, wrongIndex), ArgumentError,
                    "mask index must be [H, R, K']");
}

ST_MAIN()
