// Resource limits of the tracing engine: a request that cannot fit is refused by the estimate
// (on the CPU here, and on the GPU) with the estimate in the message; on the GPU an
// out-of-memory forced mid-run comes out as a BackendError saying so, and the same engine then
// completes a smaller request. Models are config.json files with seeded random weights, so the
// sizes are chosen here, not by an asset. Qt-free (label gpu); the GPU parts skip without CUDA.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/format.h"
#include "sparsetrace/gpu/device.h"
#include "sparsetrace/gpu/trace_engine.h"

#include "harness_shared.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#ifdef SPARSETRACE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unistd.h>

using namespace sparsetrace;
namespace fs = std::filesystem;

namespace {

// A Llama-shaped config.json in a fresh folder under the system temp dir.
fs::path modelFolder(const std::string& name, int layers, int hidden, int intermediate, int heads, int kvHeads, int vocab)
{
    const fs::path dir = fs::temp_directory_path() / ("sparsetrace-tst-tracer-memory-" + std::to_string(::getpid())) / name;
    fs::create_directories(dir);
    const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}},
                                   {"model_type", "llama"},
                                   {"num_hidden_layers", layers},
                                   {"hidden_size", hidden},
                                   {"intermediate_size", intermediate},
                                   {"num_attention_heads", heads},
                                   {"num_key_value_heads", kvHeads},
                                   {"vocab_size", vocab},
                                   {"max_position_embeddings", 131072},
                                   {"rms_norm_eps", 1e-5},
                                   {"bos_token_id", 1},
                                   {"eos_token_id", 2}};
    std::ofstream(dir / "config.json") << config.dump(1);
    return dir;
}

gpu::TraceRequest request(const fs::path& dir, const std::string& device, std::int64_t tokens)
{
    gpu::TraceRequest r;
    r.modelDir = dir.string();
    r.device = device;
    r.randomWeightsSeed = 7;
    r.checkTokens = 0;
    r.params.bq = 64;
    r.params.bk = 64;
    r.params.k = 8;
    r.params.sinks = 64;
    r.params.window = 128;
    for (std::int64_t i = 0; i < tokens; ++i) r.tokenIds.push_back(static_cast<std::int32_t>(3 + (i * 7919) % 1000));
    return r;
}

// About 400 billion parameters (Llama 3.1 405B's shape): 0.8 TB of bf16 weights fit no device
// and no host this test runs on.
fs::path hugeModel() { return modelFolder("huge", 126, 16384, 53248, 128, 8, 128256); }

// The refusal names the estimate: "refused: the run would not fit in memory (SUMMARY)".
void checkRefused(const std::string& device)
{
    gpu::TraceEngine engine;
    const gpu::TraceRequest r = request(hugeModel(), device, 16);
    const core::TraceEstimate e = engine.estimate(r);
    ST_CHECK(!e.fits);
    ST_CHECK_MSG(e.peakBytes > 500'000'000'000LL, "estimated peak " << e.peakBytes);
    ST_CHECK(e.availableBytes > 0);
    const std::string expected = "refused: the run would not fit in memory (" + e.summary + ")";
    ST_CHECK(e.summary.find(core::formatBytes(static_cast<double>(e.peakBytes))) != std::string::npos);
    bool refused = false;
    try {
        (void)engine.trace(r, {}, {});
    } catch (const ArgumentError& err) {
        refused = true;
        ST_CHECK_EQ(std::string(err.what()), expected);
    }
    ST_CHECK_MSG(refused, "a 0.8 TB request was not refused on " << device);
}

#ifdef SPARSETRACE_WITH_CUDA
std::int64_t freeBytes(const std::string& device)
{
    for (const gpu::DeviceInfo& d : gpu::availableDevices())
        if (d.id == device) return d.freeBytes;
    return 0;
}
#endif

} // namespace

ST_TEST(requestBeyondHostMemoryIsRefusedByTheEstimate) { checkRefused("cpu"); }

ST_TEST(requestBeyondGpuMemoryIsRefusedByTheEstimate)
{
    if (!gpu::cudaAvailable()) test::noGpu("no CUDA device");
    checkRefused("cuda:0");
}

ST_TEST(outOfMemoryMidRunIsReportedAndTheEngineRecovers)
{
    if (!gpu::cudaAvailable()) test::noGpu("no CUDA device");
#ifndef SPARSETRACE_WITH_CUDA
    test::noGpu("this build's libtorch has no CUDA");
#else
    // ~180 M parameters (360 MB of bf16): a 4096-token prefill needs hundreds of MB of
    // activations (the MLP's [4096, 8192] intermediates alone are 64 MB each).
    const fs::path dir = modelFolder("medium", 4, 1024, 8192, 16, 4, 32000);
    gpu::TraceEngine engine;
    const gpu::TraceRequest small = request(dir, "cuda:0", 256);
    const gpu::TraceRequest large = request(dir, "cuda:0", 4096);

    // Warm-up: the small request runs and leaves the weights resident.
    ST_CHECK_EQ(engine.trace(small, {}, {})->info().promptTokens, std::int64_t(256));
    ST_CHECK(engine.estimate(large).fits); // the estimate lets the large one start...

    // ... and once its first layer is done, a ballast tensor takes all but 32 MB of the device
    // (the caching allocator's reserve is emptied first, so the next layers must allocate anew).
    std::optional<torch::Tensor> ballast; // [free - 32 MB] uint8 on cuda:0
    auto progress = [&](const core::Progress& p) {
        if (ballast || p.step < 1) return;
        c10::cuda::CUDACachingAllocator::emptyCache();
        for (std::int64_t headroom = 32LL << 20; !ballast && headroom < (4LL << 30); headroom *= 2) {
            try {
                ballast = torch::empty({freeBytes("cuda:0") - headroom}, torch::dtype(torch::kUInt8).device(torch::kCUDA, 0));
            } catch (const c10::Error&) {
                // fragmentation: leave more room
            }
        }
    };
    bool reported = false;
    try {
        (void)engine.trace(large, progress, {});
    } catch (const BackendError& e) {
        reported = true;
        const std::string what = e.what();
        ST_CHECK_MSG(what.rfind("out of memory on cuda:0 while tracing 4096 tokens (", 0) == 0, what);
        ST_CHECK_MSG(what.find("); try a shorter prompt, fewer check tokens, or another device") != std::string::npos, what);
    }
    ST_CHECK_MSG(ballast.has_value(), "the ballast could not be allocated");
    ST_CHECK_MSG(reported, "the run did not run out of memory with the device full");

    // The same engine, with the memory back, completes a smaller request.
    ballast.reset();
    c10::cuda::CUDACachingAllocator::emptyCache();
    const auto trace = engine.trace(small, {}, {});
    ST_CHECK_EQ(trace->info().promptTokens, std::int64_t(256));
    ST_CHECK_EQ(trace->layers(), 4);
#endif
}

int main(int argc, char** argv)
{
    const int rc = test::runAll(argc, argv);
    test::removeTree(fs::temp_directory_path() / ("sparsetrace-tst-tracer-memory-" + std::to_string(::getpid())));
    return rc;
}
