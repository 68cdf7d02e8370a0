// Dense prefill of a full-size model with random weights (config.json alone): wall time and peak
// GPU memory per sequence length, the last position's logits only, no KV cache kept -- the same
// work as Hugging Face transformers' forward with logits_to_keep=1 and use_cache=False
// (scripts/bench/bench-hf-prefill.py times that side by side).
//   bench_model_prefill --model DIR [--lengths 8192,32768,131072] [--device cuda] [--repeats 3]
//                       [--row-chunk N] (rows per norm/projection/MLP chunk; default the model's)
// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/model_access.h"
#include "sparsetrace/gpu/model_runner.h"

#include <torch/torch.h>
#ifdef SPARSETRACE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace sparsetrace;
using namespace sparsetrace::gpu;

namespace {

void synchronize(const torch::Device& d)
{
#if TORCH_VERSION_MAJOR >= 2
    if (d.is_cuda()) torch::cuda::synchronize(d.index());
#else
    (void)d;
#endif
}

void resetPeak(const torch::Device& d)
{
#ifdef SPARSETRACE_WITH_CUDA
    if (d.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(d.index() < 0 ? 0 : d.index());
#else
    (void)d;
#endif
}

double peakBytes(const torch::Device& d)
{
#ifdef SPARSETRACE_WITH_CUDA
    if (d.is_cuda()) {
        auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.index() < 0 ? 0 : d.index());
        return static_cast<double>(stats.allocated_bytes[0].peak); // [0] = aggregate, as torch.cuda.max_memory_allocated
    }
#endif
    (void)d;
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::string model, device = "cuda", dtype, lengths = "8192,32768,131072";
    int repeats = 3;
    std::int64_t rowChunk = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--model") model = argv[i + 1];
        else if (a == "--device") device = argv[i + 1];
        else if (a == "--dtype") dtype = argv[i + 1];
        else if (a == "--lengths") lengths = argv[i + 1];
        else if (a == "--repeats") repeats = std::max(1, std::atoi(argv[i + 1]));
        else if (a == "--row-chunk") rowChunk = std::max<std::int64_t>(1, std::atoll(argv[i + 1]));
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (model.empty()) {
        std::fprintf(stderr, "usage: bench_model_prefill --model DIR [--lengths 8192,32768] [--device cuda] [--repeats 3]\n");
        return 2;
    }
    std::vector<std::int64_t> ts;
    for (std::size_t p = 0; p < lengths.size();) {
        std::size_t q = lengths.find(',', p);
        ts.push_back(std::stoll(lengths.substr(p, q == std::string::npos ? std::string::npos : q - p)));
        p = q == std::string::npos ? lengths.size() : q + 1;
    }
    try {
        ModelLoadOptions o;
        o.device = device;
        o.dtype = dtype;
        o.randomSeed = 1234;
        ModelRunner runner = ModelRunner::load(model, o);
        Transformer& m = transformerOf(runner);
        if (rowChunk > 0) m.rowChunk = rowChunk;
        const torch::Device dev = m.options().device;
        const auto& c = m.config();
        std::printf("model %s (%s, %d layers, random weights) on %s, %s; dense prefill, last-position logits, no cache kept, "
                    "row chunk %lld\n",
                    model.c_str(), core::architectureName(c.architecture).c_str(), c.layers, runner.info().device.c_str(),
                    runner.info().dtype.c_str(), static_cast<long long>(m.rowChunk));
        std::printf("%-10s %-12s %-12s %-14s\n", "T", "time_s", "min_s", "peak_GiB");
        DenseAttention dense;
        torch::manual_seed(99);
        {   // warm-up: kernels, cuBLAS handles, allocator pools
            torch::Tensor ids = torch::randint(0, c.vocab, {1024}, torch::kInt64);
            m.forward(ids, {1023}, dense);
            synchronize(dev);
        }
        for (std::int64_t t : ts) {
            torch::Tensor ids = torch::randint(0, c.vocab, {t}, torch::kInt64).to(dev);
            std::vector<double> times;
            double peak = 0;
            for (int r = 0; r < repeats; ++r) {
                synchronize(dev);
                resetPeak(dev);
                const auto t0 = std::chrono::steady_clock::now();
                torch::Tensor logits = m.forward(ids, {t - 1}, dense);
                synchronize(dev);
                times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                peak = std::max(peak, peakBytes(dev));
            }
            std::sort(times.begin(), times.end());
            std::printf("%-10lld %-12.4f %-12.4f %-14.3f\n", static_cast<long long>(t), times[times.size() / 2], times.front(),
                        peak / (1024.0 * 1024.0 * 1024.0));
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_model_prefill: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
