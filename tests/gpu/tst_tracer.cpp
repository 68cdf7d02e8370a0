// The tracer end to end on the CPU with stories260K (a real trained model, ../shared) and, on
// the GPU machine, on CUDA: the sparse mask is really applied (logits equal a dense computation
// restricted to the recorded blocks, and differ from dense ones), masks equal the Stream-Attn CPU
// reference on the same q and k, masses at bq = bk = 1 equal the float64 attention golden, the
// k search returns a K that preserves behaviour while K - 1 does not, cancellation and bad
// input give clean outcomes. Qt-free (label gpu).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "model/model_access.h"
#include "tracer/recording_attention.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/k_search.h"
#include "sparsetrace/core/safetensors.h"
#include "sparsetrace/core/stream_attn.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/gpu/device.h"
#include "sparsetrace/gpu/model_runner.h"
#include "sparsetrace/gpu/trace_engine.h"

#include "harness_shared.h"

#include <algorithm>
#include <filesystem>

using namespace sparsetrace;
namespace fs = std::filesystem;

namespace {

fs::path storiesDir() { return test::requireShared() / "assets" / "models" / "stories260K"; }

// A 420-token story: stories260K's own greedy continuation of BOS (real model text, no
// tokenizer needed), long enough that the search really runs with 4-token blocks.
const std::vector<std::int32_t>& storyTokens()
{
    static std::vector<std::int32_t> ids;
    if (ids.empty()) {
        gpu::ModelRunner runner = gpu::ModelRunner::load(storiesDir().string());
        std::vector<std::int64_t> out = runner.generate({1}, 419, /*stopAtEos=*/false);
        ids.push_back(1);
        for (auto t : out) ids.push_back(static_cast<std::int32_t>(t));
    }
    return ids;
}

core::StreamParams smallBlocks(int k)
{
    core::StreamParams p;
    p.bq = 4;
    p.bk = 4;
    p.k = k;
    p.sinks = 4;
    p.window = 8;
    return p;
}

gpu::TraceRequest storyRequest(int k, const std::string& device = "cpu")
{
    gpu::TraceRequest r;
    r.modelDir = storiesDir().string();
    r.tokenIds = storyTokens();
    r.params = smallBlocks(k);
    r.device = device;
    r.checkTokens = 2;
    return r;
}

// Wraps the recorder and checks, for one layer, that the recorded mask equals the CPU
// reference's estimateMask on the very same q and k.
class CheckingRecorder : public gpu::AttentionBackend {
public:
    CheckingRecorder(gpu::StreamAttnRecorder& inner, const core::StreamParams& p, int checkLayer)
        : m_inner(inner), m_params(p), m_checkLayer(checkLayer)
    {
    }
    torch::Tensor attend(const gpu::AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v) override
    {
        torch::Tensor out = m_inner.attend(call, q, k, v);
        if (call.layer == m_checkLayer && call.queryOffset == 0) {
            torch::Tensor qf = q.to(torch::kCPU, torch::kFloat32).contiguous(), kf = k.to(torch::kCPU, torch::kFloat32).contiguous(),
                          vf = v.to(torch::kCPU, torch::kFloat32).contiguous();
            core::AttentionInputs in;
            in.heads = static_cast<int>(q.size(0));
            in.kvHeads = static_cast<int>(k.size(0));
            in.queries = q.size(1);
            in.keys = k.size(1);
            in.headDim = static_cast<int>(q.size(2));
            in.q = {qf.data_ptr<float>(), static_cast<std::size_t>(qf.numel())};
            in.k = {kf.data_ptr<float>(), static_cast<std::size_t>(kf.numel())};
            in.v = {vf.data_ptr<float>(), static_cast<std::size_t>(vf.numel())};
            in.scale = call.scale;
            in.slidingWindow = call.slidingWindow;
            reference = core::estimateMask(in, m_params);
        }
        return out;
    }
    std::vector<std::int32_t> reference;

private:
    gpu::StreamAttnRecorder& m_inner;
    core::StreamParams m_params;
    int m_checkLayer;
};

} // namespace

ST_TEST(maskIsReallyAppliedAndMatchesReference)
{
    const auto dir = storiesDir();
    gpu::ModelRunner runner = gpu::ModelRunner::load(dir.string());
    gpu::Transformer& model = gpu::transformerOf(runner);
    const auto& ids32 = storyTokens();
    std::vector<std::int64_t> ids64(ids32.begin(), ids32.end());
    torch::Tensor ids = torch::tensor(ids64, torch::kInt64);
    const std::int64_t T = ids.size(0);
    const core::StreamParams p = smallBlocks(2);
    const int L = model.config().layers, H = model.config().heads;

    torch::NoGradGuard noGrad;
    gpu::StreamAttnRecorder recorder(p, L, H, false, core::CpuBackend::Eigen, {}, {});
    CheckingRecorder checking(recorder, p, 2);
    torch::Tensor sparse = model.forward(ids, {T - 1}, checking, nullptr);
    std::vector<core::LayerRecord> layers = recorder.takeLayers();
    const std::int64_t rows = (T + p.bq - 1) / p.bq;

    // 1. Masks equal the CPU reference on the same q and k (layer 2).
    ST_CHECK_EQ(checking.reference.size(), layers[2].index.size());
    ST_CHECK(checking.reference == layers[2].index);

    // 2. Dense attention restricted to the recorded blocks gives the same logits...
    gpu::RecordedMaskAttention masked(p, layers, H, rows);
    torch::Tensor viaMask = model.forward(ids, {T - 1}, masked, nullptr);
    const double maskDiff = (sparse - viaMask).abs().max().item<double>();
    ST_CHECK_MSG(maskDiff < 1e-4, "sparse vs recorded-mask logits differ by " << maskDiff);
    // ... and they differ from the dense logits (the mask prunes something that matters).
    gpu::DenseAttention dense;
    torch::Tensor denseLogits = model.forward(ids, {T - 1}, dense, nullptr);
    const double denseDiff = (sparse - denseLogits).abs().max().item<double>();
    ST_CHECK_MSG(denseDiff > 1e-3, "sparse logits equal dense ones (diff " << denseDiff << ")");

    // 3. The search really ran: rows with a range longer than K, refined down to K blocks.
    core::TraceInfo info;
    info.params = p;
    info.promptTokens = T;
    info.model.layers = L;
    info.model.heads = H;
    core::OwnedTrace trace(info, layers);
    const double sparsity = core::traceSparsity(trace).sparsity();
    ST_CHECK_MSG(sparsity > 0.5, "sparsity " << sparsity);
    ST_CHECK(core::maxSearchableK(T, p) > 2 * p.k); // at least one refinement round per late row
}

ST_TEST(engineTraceRoundTripsAndReportsBehaviour)
{
    gpu::TraceEngine engine;
    gpu::TraceRequest r = storyRequest(4);
    r.fidelity = true;
    int progressCalls = 0;
    auto trace = engine.trace(r, [&](const core::Progress&) { ++progressCalls; }, {});
    const core::TraceInfo& info = trace->info();
    ST_CHECK_EQ(info.promptTokens, std::int64_t(420));
    ST_CHECK_EQ(info.generatedTokens, std::int64_t(2));
    ST_CHECK_EQ(info.rows(), std::int64_t(105 + 2));
    ST_CHECK(info.behaviour.has_value());
    ST_CHECK_EQ(info.behaviour->denseTokens.size(), std::size_t(2));
    ST_CHECK(info.behaviour->klFirst >= 0.0);
    ST_CHECK(progressCalls >= 5);
    ST_CHECK(info.headStats.count("sparsity") && info.headStats.count("entropy"));
    ST_CHECK_EQ(info.provenance.modelName, std::string("stories260K"));
    ST_CHECK_EQ(info.provenance.configSha256.size(), std::size_t(64));
    // Rows of sparse layers sum to 1, generated rows included; fidelity is present and <= 1.
    for (int l = 0; l < trace->layers(); ++l) {
        core::LayerView v = trace->layer(l);
        ST_CHECK(!v.captured.empty());
        for (int h = 0; h < v.heads; ++h)
            for (std::int64_t row = 0; row < v.rows; ++row) {
                double sum = 0;
                for (float m : v.massRow(h, row)) sum += m;
                ST_CHECK_MSG(std::abs(sum - 1.0) < 1e-4, "layer " << l << " head " << h << " row " << row << " sums to " << sum);
                const float c = v.captured[static_cast<std::size_t>(h * v.rows + row)];
                ST_CHECK(c > 0.0f && c <= 1.0001f);
            }
    }
    const fs::path out = test::scratchDir() / "tracer-roundtrip.sptrace";
    core::writeTraceFile(*trace, out.string());
    auto back = core::TraceFile::open(out.string());
    ST_CHECK_EQ(back->info().behaviour->sparseTokens, info.behaviour->sparseTokens);
    ST_CHECK(std::equal(back->layer(3).index.begin(), back->layer(3).index.end(), trace->layer(3).index.begin()));
}

// Phase timings (issue 19): filled only when asked for, covering the run, and changing nothing
// the trace records.
ST_TEST(phaseTimingsCoverTheRunAndChangeNothing)
{
    core::TraceTimings none;
    core::PhaseClock inert(nullptr);
    inert.lap("nothing");
    ST_CHECK_EQ(inert.elapsed(), 0.0);
    none.add("a", 1.0);
    none.add("b", 0.5);
    none.add("a", 0.25);
    ST_CHECK_EQ(none.phases.size(), std::size_t(2));
    ST_CHECK_EQ(none.phases[0].seconds, 1.25);
    ST_CHECK_EQ(none.sum(), 1.75);

    gpu::TraceEngine engine;
    gpu::TraceRequest plain = storyRequest(4);
    auto untimed = engine.trace(plain, {}, {});
    core::TraceTimings timings;
    timings.add("stale", 9.0); // cleared by the run
    gpu::TraceRequest timed = plain;
    timed.timings = &timings;
    auto trace = engine.trace(timed, {}, {});
    std::vector<std::string> names;
    for (const auto& p : timings.phases) {
        names.push_back(p.name);
        ST_CHECK(p.seconds >= 0.0);
    }
    for (const char* expected : {"prepare prompt", "estimate", "load model", "dense prefill: model", "dense prefill: attention",
                                 "dense decode: model", "dense decode: attention", "sparse prefill: model",
                                 "sparse prefill: Stream-Attn", "sparse prefill: records to host", "sparse decode: model",
                                 "sparse decode: Stream-Attn", "record copy", "trace metadata", "trace validation",
                                 "head statistics"})
        ST_CHECK_MSG(std::find(names.begin(), names.end(), expected) != names.end(), "no phase " << expected);
    ST_CHECK(std::find(names.begin(), names.end(), "stale") == names.end());
    ST_CHECK(timings.totalSeconds > 0.0);
    ST_CHECK(timings.sum() <= timings.totalSeconds + 1e-6);
    ST_CHECK(timings.sum() >= 0.9 * timings.totalSeconds);
    ST_CHECK(timings.table().find("sparse prefill") != std::string::npos);
    for (int l = 0; l < trace->layers(); ++l) {
        ST_CHECK(std::ranges::equal(trace->layer(l).index, untimed->layer(l).index));
        ST_CHECK(std::ranges::equal(trace->layer(l).mass, untimed->layer(l).mass));
    }
    ST_CHECK(trace->info().headStats == untimed->info().headStats);
    ST_CHECK(trace->info().text == untimed->info().text);
}

ST_TEST(massesEqualGoldenAttentionAtBlockSizeOne)
{
    const auto dir = storiesDir();
    core::SafetensorsFile golden = core::SafetensorsFile::open((dir / "golden_greedy32.safetensors").string());
    std::vector<std::int64_t> input = golden.copy<std::int64_t>("input_ids");
    std::vector<float> probs = golden.copy<float>("attn_probs"); // [5, 8, 32, 32]
    gpu::TraceEngine engine;
    gpu::TraceRequest r;
    r.modelDir = dir.string();
    r.tokenIds.assign(input.begin(), input.end());
    r.params.bq = 1;
    r.params.bk = 1;
    r.params.k = 32; // covers every block
    r.params.sinks = 0;
    r.params.window = 1;
    r.checkTokens = 0;
    auto trace = engine.trace(r, {}, {});
    const int L = 5, H = 8, T = 32;
    double worst = 0;
    for (int l = 0; l < L; ++l) {
        core::LayerView v = trace->layer(l);
        for (int h = 0; h < H; ++h)
            for (int q = 0; q < T; ++q) {
                auto idx = v.indexRow(h, q);
                auto mass = v.massRow(h, q);
                int kept = 0;
                for (std::size_t i = 0; i < idx.size(); ++i) {
                    if (idx[i] < 0) continue;
                    ++kept;
                    const float ref = probs[static_cast<std::size_t>(((l * H + h) * T + q) * T + idx[i])];
                    worst = std::max(worst, std::abs(static_cast<double>(mass[i]) - ref));
                }
                ST_CHECK_EQ(kept, q + 1); // every causal key kept
            }
    }
    ST_CHECK_MSG(worst < 1e-4, "largest |mass - golden attn_probs| = " << worst);
}

ST_TEST(kSearchReturnsSmallestPreservingK)
{
    gpu::TraceEngine engine;
    gpu::TraceRequest r = storyRequest(1);
    r.searchK = true; // kMax = the whole searchable range, where sparse equals dense
    std::vector<gpu::ProbeReport> probes;
    auto trace = engine.trace(r, {}, {}, [&](const gpu::ProbeReport& p) { probes.push_back(p); });
    const core::TraceInfo& info = trace->info();
    ST_CHECK(static_cast<int>(info.kSearch.size()) <= core::maxKSearchProbes(core::maxSearchableK(420, smallBlocks(1))));
    ST_CHECK_EQ(info.kSearch.size(), probes.size());
    const int k = info.params.k;
    ST_CHECK(info.behaviour->preserved);
    bool kMinus1Failed = k == 1;
    for (const auto& p : info.kSearch) {
        if (p.k == k) ST_CHECK(p.preserved);
        if (p.k == k - 1) kMinus1Failed = !p.preserved;
        if (p.k < k && p.k != k - 1) ST_CHECK(!p.preserved); // monotone outcome seen
    }
    ST_CHECK_MSG(kMinus1Failed, "K - 1 = " << k - 1 << " was not shown to fail");
    std::cout << "k search: K=" << k << " after " << info.kSearch.size() << " probes\n";
}

ST_TEST(cancellationAndBadInput)
{
    gpu::TraceEngine engine;
    std::stop_source stop;
    gpu::TraceRequest r = storyRequest(2);
    bool threw = false;
    try {
        engine.trace(r, [&](const core::Progress& p) {
            if (p.stage == "sparse pass" && p.step >= 2) stop.request_stop();
        }, stop.get_token());
    } catch (const Cancelled&) {
        threw = true;
    }
    ST_CHECK(threw);
    // The engine is usable after a cancel.
    auto trace = engine.trace(storyRequest(2), {}, {});
    ST_CHECK(trace->info().promptTokens == 420);

    gpu::TraceRequest longPrompt = storyRequest(2);
    longPrompt.tokenIds.resize(600, 5); // stories260K: max_position_embeddings 512
    ST_CHECK_THROWS(engine.trace(longPrompt, {}, {}), ArgumentError, "max_position_embeddings is 512");
    gpu::TraceRequest badFolder = storyRequest(2);
    badFolder.modelDir = (test::scratchDir() / "no-such-model").string();
    ST_CHECK_THROWS(engine.trace(badFolder, {}, {}), Error, "config.json");
}

ST_TEST(cudaTraceMatchesCpu)
{
    if (!gpu::cudaAvailable()) test::noGpu("no CUDA device");
    gpu::TraceEngine engine;
    gpu::TraceRequest cpu = storyRequest(4);
    gpu::TraceRequest cuda = storyRequest(4, "cuda");
    cuda.dtype = "f32";
    // With fidelity: on CUDA every record (prefill rows, the decode steps' rows, captured mass,
    // oracle) goes through the device record buffer and one copy to the host at the end.
    cpu.fidelity = cuda.fidelity = true;
    auto a = engine.trace(cpu, {}, {});
    auto b = engine.trace(cuda, {}, {});
    ST_CHECK_EQ(b->info().rows(), a->info().rows());
    // fp32 on both: identical masks on nearly every row (ties may differ), same greedy tokens;
    // where the masks agree, the masses and the captured mass agree too.
    std::size_t rowsSame = 0, rowsAll = 0;
    double massDiff = 0, capturedDiff = 0;
    for (int l = 0; l < a->layers(); ++l) {
        core::LayerView u = a->layer(l), v = b->layer(l);
        ST_CHECK_EQ(v.rows, u.rows);
        ST_CHECK_EQ(v.captured.size(), u.captured.size());
        for (int h = 0; h < u.heads; ++h)
            for (std::int64_t row = 0; row < u.rows; ++row) {
                auto x = u.indexRow(h, row), y = v.indexRow(h, row);
                const bool same = std::equal(x.begin(), x.end(), y.begin());
                rowsSame += same ? 1 : 0;
                ++rowsAll;
                if (!same) continue;
                auto mu = u.massRow(h, row), mv = v.massRow(h, row);
                for (std::size_t i = 0; i < mu.size(); ++i) massDiff = std::max(massDiff, double(std::abs(mu[i] - mv[i])));
                const auto at = static_cast<std::size_t>(h * u.rows + row);
                capturedDiff = std::max(capturedDiff, double(std::abs(u.captured[at] - v.captured[at])));
            }
    }
    ST_CHECK_MSG(rowsSame >= rowsAll * 99 / 100, rowsSame << " of " << rowsAll << " rows identical");
    ST_CHECK_MSG(massDiff < 1e-3, "masses differ by " << massDiff);
    ST_CHECK_MSG(capturedDiff < 1e-3, "captured mass differs by " << capturedDiff);
    ST_CHECK(a->info().behaviour->sparseTokens == b->info().behaviour->sparseTokens);
}

ST_MAIN()
