// The tracing engine: prepare tokens, estimate, dense reference, sparse pass with recording,
// behaviour check, k search, fidelity, and assembly of the trace (spec sections 2-5).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/gpu/trace_engine.h"

#include "model/model_access.h"
#include "tracer/recording_attention.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/format.h"
#include "sparsetrace/core/k_search.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/core/trace_assembly.h"
#include "sparsetrace/gpu/device.h"
#include "sparsetrace/gpu/model_runner.h"

#ifdef SPARSETRACE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace sparsetrace::gpu {

namespace fs = std::filesystem;

namespace {

// The prompt's tokens and one sparse pass's records, assembled into traces by core.
using core::PreparedPrompt;
using SparseRun = core::SparsePassRecords;

std::int64_t hostAvailableBytes()
{
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::int64_t value = 0;
    std::string unit;
    while (in >> key >> value >> unit)
        if (key == "MemAvailable:") return value * 1024;
    return 0;
}

// Sustained FLOP/s of the time estimate. CUDA: bf16 on an H100, everything. CPU (fp32; fitted to
// `bench_tracer --device cpu` on the demo model at 4k tokens, with and without fidelity, both
// backends, on the project's 2-core box, issue 22): libtorch's matrix products on OpenBLAS
// (install-deps.sh; Debian's reference BLAS is about 5x slower) for the model; the vector
// kernels (stream_attn/cpu/simd_kernels.h) for the dense reference's exact attention, per thread
// with threads over heads; and Stream-Attn per backend: the Eigen backend's search and
// block-sparse attention, and its fidelity pass (scores and one exp per query and key, no
// values), per thread; the double-precision reference on one thread.
constexpr double kCudaRate = 2.0e14;
constexpr double kTorchCpuRate = 5.0e10;
struct CpuRates {
    double exact;    // the dense reference's attention (any backend)
    double stream;   // mask search and block-sparse attention
    double fidelity; // the dense pass of fidelity
};
CpuRates cpuRates(core::CpuBackend backend, int heads)
{
    const double threads = std::min<double>(heads, std::max(1u, std::thread::hardware_concurrency()));
    if (backend == core::CpuBackend::Reference) return {1.6e10 * threads, 1.1e9, 1.1e9};
    return {1.6e10 * threads, 1.4e10 * threads, 1.6e10 * threads};
}

bool isOutOfMemory(const std::exception& e)
{
    const std::string what = e.what();
    return what.find("out of memory") != std::string::npos || what.find("CUDA out of memory") != std::string::npos;
}

void releaseDeviceCache()
{
#ifdef SPARSETRACE_WITH_CUDA
    if (torch::cuda::is_available()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

std::vector<float> rowOf(const torch::Tensor& logits, std::int64_t r)
{
    torch::Tensor row = logits[r].to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
}

} // namespace

struct TraceEngine::Impl {
    std::optional<ModelRunner> runner;
    std::string runnerKey;
    std::optional<core::Tokenizer> tokenizer;
    std::string tokenizerDir;

    ModelRunner& model(const TraceRequest& r)
    {
        const std::string key = r.modelDir + "|" + r.device + "|" + r.dtype + "|" +
                                (r.randomWeightsSeed ? std::to_string(*r.randomWeightsSeed) : "weights");
        if (!runner || runnerKey != key) {
            runner.reset();
            releaseDeviceCache();
            ModelLoadOptions o;
            o.device = r.device;
            o.dtype = r.dtype;
            o.randomSeed = r.randomWeightsSeed;
            runner.emplace(ModelRunner::load(r.modelDir, o));
            runnerKey = key;
        }
        return *runner;
    }

    const core::Tokenizer* tokenizerFor(const std::string& dir)
    {
        if (tokenizerDir != dir) {
            tokenizer.reset();
            tokenizerDir = dir;
            if (fs::exists(fs::path(dir) / "tokenizer.json")) tokenizer.emplace(core::Tokenizer::fromModelDir(dir));
        }
        return tokenizer ? &*tokenizer : nullptr;
    }

    TraceEstimate estimateFor(const TraceRequest& r, const core::ModelConfig& config, const PreparedPrompt& prompt) const;

    PreparedPrompt prepare(const TraceRequest& r) { return core::preparePrompt(r, tokenizerFor(r.modelDir)); }
};

TraceEngine::TraceEngine() : m_impl(std::make_unique<Impl>()) {}
TraceEngine::~TraceEngine() = default;

void TraceEngine::unload()
{
    m_impl->runner.reset();
    m_impl->runnerKey.clear();
    releaseDeviceCache();
}

std::vector<core::DeviceChoice> TraceEngine::devices()
{
    std::vector<core::DeviceChoice> out;
    for (const DeviceInfo& d : availableDevices()) out.push_back({d.id, d.description});
    return out;
}

core::ModelFolderSummary TraceEngine::inspect(const std::string& modelDir) { return core::inspectModelFolder(modelDir); }

TraceEstimate TraceEngine::estimate(const TraceRequest& r)
{
    r.params.validate();
    return m_impl->estimateFor(r, core::ModelConfig::load(r.modelDir), m_impl->prepare(r));
}

TraceEstimate TraceEngine::Impl::estimateFor(const TraceRequest& r, const core::ModelConfig& config,
                                             const PreparedPrompt& prompt) const
{
    const std::int64_t T = static_cast<std::int64_t>(prompt.ids.size());
    const int n = std::max(0, r.checkTokens);
    if (!r.allowBeyondContext && config.maxPositions > 0 && T + n > config.maxPositions)
        throw ArgumentError("the prompt has " + std::to_string(T) + " tokens (+" + std::to_string(n) +
                            " to check) but the model's max_position_embeddings is " + std::to_string(config.maxPositions) +
                            " (allow it explicitly to go beyond)");
    for (std::int32_t id : prompt.ids)
        if (id < 0 || id >= config.vocab)
            throw ArgumentError("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(config.vocab));

    const bool cuda = r.device.rfind("cuda", 0) == 0;
    if (cuda && r.cpuBackend == core::CpuBackend::Reference)
        throw ArgumentError("the reference Stream-Attn backend runs on the CPU only, not on " + r.device);
    const double dtypeBytes = (r.dtype == "f32" || (r.dtype.empty() && !cuda)) ? 4.0 : 2.0;
    const double L = config.layers, H = config.heads, Hkv = config.kvHeads, D = config.headDim;
    const double params = static_cast<double>(config.parameterCount());
    const double rows = std::ceil(static_cast<double>(T) / r.params.bq) + n;
    const double kp = r.params.kPrime();
    const double weights = params * dtypeBytes;
    // The KV cache holds the prompt and the generated tokens, reserved once; without check tokens
    // there is none, only one layer's keys and values at a time.
    const double kv = 2.0 * (n > 0 ? L : 1.0) * Hkv * D * static_cast<double>(T + n) * dtypeBytes;
    const double chunk = std::min<double>(static_cast<double>(T), 4096.0);
    const double activations = chunk * (4.0 * config.hidden + 3.0 * config.intermediate) * 4.0 +
                               static_cast<double>(T) * (2.0 * config.hidden + 4.0 * H * D) * dtypeBytes;
    const double records = L * H * rows * kp * 8.0 * (r.fidelity ? 1.6 : 1.0);
    TraceEstimate e;
    e.promptTokens = T;
    e.peakBytes = static_cast<std::int64_t>(weights + kv + activations + records); // CUDA: records on the device
    // Work, split by who does it: libtorch (the model's matrix products), the exact attention of
    // the dense reference, and the Stream-Attn backend (mask search and block-sparse attention;
    // the fidelity pass, one dense attention), each at its own rate.
    const double keptKeys = kp * r.params.bk;
    const double sparseAttn = 4.0 * L * H * D * static_cast<double>(T) * keptKeys;
    // A child costs bq*bk*D multiply-adds under centre and first, bq*D under bound (its envelope).
    const double perChild = r.params.bq * (r.params.score == core::ScoreRule::Bound ? 1.0 : r.params.bk);
    const double search = 2.0 * L * H * D * rows * 2.0 * r.params.k * perChild *
                          std::max(1.0, std::log2(std::max(1.0, static_cast<double>(T) / r.params.bk / r.params.k)));
    const double denseAttn = 2.0 * L * H * D * static_cast<double>(T) * static_cast<double>(T);
    // The dense reference skips the last layer's attention rows before its logit row.
    const double referenceAttn = denseAttn * std::max(1.0, L - 1.0) / L;
    const double modelFlops = 2.0 * params * static_cast<double>(T);
    // Sparse passes: one, or one per k-search probe plus one more carrying the fidelity pass.
    const double passes = (r.searchK ? core::maxKSearchProbes(std::max(1, r.kMax > 0 ? r.kMax : core::maxSearchableK(T, r.params)))
                                     : 1.0) +
                          (r.searchK && r.fidelity ? 1.0 : 0.0);
    const double torchFlops = passes * modelFlops + (n > 0 ? modelFlops : 0.0);
    const double exactFlops = n > 0 ? referenceAttn : 0.0;
    const double streamFlops = passes * (sparseAttn + search);
    const double fidelityFlops = r.fidelity ? denseAttn : 0.0;
    if (cuda) {
        e.seconds = (torchFlops + exactFlops + streamFlops + fidelityFlops) / kCudaRate;
    } else {
        const CpuRates rates = cpuRates(r.cpuBackend, H);
        e.seconds = torchFlops / kTorchCpuRate + exactFlops / rates.exact + streamFlops / rates.stream +
                    fidelityFlops / rates.fidelity;
    }
    if (cuda) {
        for (const DeviceInfo& d : availableDevices())
            if (d.id == (r.device == "cuda" ? "cuda:0" : r.device)) e.availableBytes = d.freeBytes;
        if (e.availableBytes == 0 && !cudaAvailable())
            throw ArgumentError("no CUDA device is available (use --device cpu)");
    } else {
        e.availableBytes = hostAvailableBytes();
    }
    // A resident model of the same request already holds its weights.
    const double resident = (runner && runner->info().modelDir == r.modelDir) ? weights : 0.0;
    e.fits = e.availableBytes == 0 || e.peakBytes - resident <= 0.95 * static_cast<double>(e.availableBytes);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%lld tokens: about %.1f s and %s of memory; %s free on %s",
                  static_cast<long long>(T), e.seconds, core::formatBytes(static_cast<double>(e.peakBytes)).c_str(),
                  e.availableBytes ? core::formatBytes(static_cast<double>(e.availableBytes)).c_str() : "unknown", r.device.c_str());
    e.summary = buf;
    return e;
}

std::shared_ptr<core::OwnedTrace> TraceEngine::trace(const TraceRequest& r, const core::ProgressFn& progress,
                                                     std::stop_token stop, const core::ProbeFn& onProbe,
                                                     const core::EstimateFn& onEstimate)
{
    r.params.validate();
    // Phase timings when asked for (r.timings): the device is synchronised at each lap so that
    // its queued work counts in the phase that queued it; none of this happens otherwise.
    if (r.timings) r.timings->clear();
    torch::Device syncDevice(torch::kCPU);
    core::PhaseClock clock(r.timings, [&syncDevice] {
        if (syncDevice.is_cuda()) torch::cuda::synchronize(syncDevice.index());
    });
    // The prompt is tokenized once: the estimate and the run share it.
    const PreparedPrompt prompt = m_impl->prepare(r);
    clock.lap("prepare prompt");
    const TraceEstimate estimateNow = m_impl->estimateFor(r, core::ModelConfig::load(r.modelDir), prompt);
    if (onEstimate) onEstimate(estimateNow);
    clock.lap("estimate");
    if (!estimateNow.fits)
        throw ArgumentError("refused: the run would not fit in memory (" + estimateNow.summary + ")");
    if (r.searchK && r.checkTokens < 1) throw ArgumentError("the k search needs at least one check token");
    core::throwIfStopped(stop);
    // The provenance's hashes of the folder on another thread while the model runs (a 7 MB
    // tokenizer.json takes tens of milliseconds); assembly waits for them.
    const std::shared_future<core::ModelFolderHashes> hashes =
        std::async(std::launch::async, core::hashModelFolder, r.modelDir).share();
    auto report = [&](int step, int total, const std::string& stage) {
        if (progress) progress({step, total, stage});
    };
    report(0, 1, "loading the model");
    const std::int64_t T = static_cast<std::int64_t>(prompt.ids.size());
    const int n = std::max(0, r.checkTokens);

    // Loading is inside the try: the weights can run out of device memory too, and that must
    // come out as the same BackendError as an out-of-memory mid-run (not as a torch exception).
    try {
        ModelRunner& runner = m_impl->model(r);
        Transformer& model = transformerOf(runner);
        const core::ModelConfig& config = model.config();
        const int L = config.layers, H = config.heads;
        const torch::Device device = model.options().device;
        syncDevice = device;
        clock.lap("load model");
        torch::NoGradGuard noGrad;
        std::vector<std::int64_t> ids64(prompt.ids.begin(), prompt.ids.end());
        torch::Tensor ids = torch::tensor(ids64, torch::kInt64).to(device);
        clock.lap("prompt to device");
        auto single = [&](std::int64_t token) { return torch::tensor(std::vector<std::int64_t>{token}, torch::kInt64).to(device); };
        const std::vector<std::int64_t> lastRow = {T - 1};

        // Dense reference: the model's own greedy continuation and first distribution.
        std::vector<float> denseFirst;
        std::vector<std::int32_t> denseTokens;
        if (n > 0) {
            ObservedDenseAttention dense(stop, [&](int l) { report(l + 1, L, "dense reference"); });
            dense.setLaps({&clock, "dense prefill"});
            KvCache cache;
            cache.reserve = T + n; // the prompt and every generated token: allocated once
            torch::Tensor logits = model.forward(ids, lastRow, dense, &cache);
            denseFirst = rowOf(logits, 0);
            clock.lap("dense prefill: model");
            dense.setLaps({&clock, "dense decode"});
            std::int32_t tok = core::argmaxLogit(denseFirst);
            denseTokens.push_back(tok);
            for (int i = 1; i < n; ++i) {
                logits = model.forward(single(tok), {0}, dense, &cache);
                tok = core::argmaxLogit(rowOf(logits, 0));
                denseTokens.push_back(tok);
            }
            clock.lap("dense decode: model");
        }

        auto runSparse = [&](const core::StreamParams& params, bool fidelity, const std::string& stage) {
            // Records: the prompt's rows and one row per generated token fed back.
            const std::int64_t totalRows = (T + params.bq - 1) / params.bq + n;
            StreamAttnRecorder recorder(params, L, H, fidelity, r.cpuBackend, stop, [&](int l) { report(l + 1, L, stage); },
                                        totalRows);
            recorder.setLaps({&clock, "sparse prefill"});
            // Without check tokens nothing is decoded: no cache (each layer's keys live only
            // while the layer runs). With them, the prompt and the generated tokens, reserved once.
            KvCache cache;
            cache.reserve = T + n;
            SparseRun run;
            torch::Tensor logits =
                model.forward(ids, n > 0 ? lastRow : std::vector<std::int64_t>{}, recorder, n > 0 ? &cache : nullptr);
            if (n > 0) run.firstLogits = rowOf(logits, 0);
            clock.lap("sparse prefill: model");
            recorder.setLaps({&clock, "sparse decode"});
            if (n > 0) {
                std::int32_t tok = core::argmaxLogit(run.firstLogits);
                run.tokens.push_back(tok);
                // Every generated token is fed once more so that its own attention row is
                // recorded (spec section 3); the last feed needs no logits.
                for (int i = 1; i <= n; ++i) {
                    const bool needLogits = i < n;
                    logits = model.forward(single(tok), needLogits ? std::vector<std::int64_t>{0} : std::vector<std::int64_t>{},
                                           recorder, &cache);
                    if (needLogits) {
                        tok = core::argmaxLogit(rowOf(logits, 0));
                        run.tokens.push_back(tok);
                    }
                }
                clock.lap("sparse decode: model");
            }
            run.layers = recorder.takeLayers(&clock);
            clock.lap("record copy");
            return run;
        };

        // The trace's metadata, shared by probes and the final trace (assembled in core).
        core::TraceRunContext context;
        context.request = &r;
        context.config = &config;
        context.tokenizer = m_impl->tokenizerFor(r.modelDir);
        context.prompt = &prompt;
        context.dtype = runner.info().dtype +
                        (runner.info().randomWeights ? " (random weights, seed " + std::to_string(*r.randomWeightsSeed) + ")" : "");
        context.device = runner.info().device;
        for (const DeviceInfo& d : availableDevices())
            if (d.id == runner.info().device) context.device += " (" + d.description + ")";
        context.checkTokens = n;
        context.denseFirst = std::move(denseFirst);
        context.denseTokens = std::move(denseTokens);
        context.clock = &clock;
        context.hashes = hashes;
        clock.lap("run context");
        auto assemble = [&](const core::StreamParams& params, SparseRun run) { return core::assembleTrace(context, params, std::move(run)); };

        std::shared_ptr<core::OwnedTrace> result;
        if (!r.searchK) {
            result = assemble(r.params, runSparse(r.params, r.fidelity, "sparse pass"));
        } else {
            const int kMax = r.kMax > 0 ? r.kMax : core::maxSearchableK(T, r.params);
            std::shared_ptr<core::OwnedTrace> best;
            std::shared_ptr<core::OwnedTrace> atKMax;
            core::KSearchOutcome outcome = core::searchSmallestK(kMax, [&](int k) {
                core::StreamParams p = r.params;
                p.k = k;
                auto probeTrace = assemble(p, runSparse(p, false, "k search: K=" + std::to_string(k)));
                const bool preserved = probeTrace->info().behaviour->preserved;
                const double sparsity = core::traceSparsity(*probeTrace).sparsity();
                clock.lap("probe sparsity");
                if (onProbe) onProbe({k, preserved, sparsity});
                if (k == kMax) atKMax = probeTrace;
                if (preserved && (!best || k < best->info().params.k)) best = probeTrace;
                return core::KProbe{k, preserved, sparsity};
            });
            result = best ? best : atKMax;
            if (r.fidelity) {
                core::StreamParams p = result->info().params;
                result = assemble(p, runSparse(p, true, "fidelity pass at K=" + std::to_string(p.k)));
            }
            result->mutableInfo().kSearch = outcome.probes;
        }
        report(1, 1, "done");
        if (r.timings) r.timings->totalSeconds = clock.elapsed();
        return result;
    } catch (const Cancelled&) {
        releaseDeviceCache();
        throw;
    } catch (const std::exception& e) {
        releaseDeviceCache();
        // Out of memory reaches here raw from libtorch or a kernel, or already wrapped by the model
        // or Stream-Attn ("forward pass failed: CUDA out of memory ..."): either way one message.
        if (isOutOfMemory(e))
            throw BackendError("out of memory on " + r.device + " while tracing " + std::to_string(T) + " tokens (" +
                               estimateNow.summary + "); try a shorter prompt, fewer check tokens, or another device");
        if (dynamic_cast<const Error*>(&e)) throw;
        throw BackendError(std::string("the engine failed: ") + e.what());
    }
}

} // namespace sparsetrace::gpu
