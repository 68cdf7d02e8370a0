// `sparsetrace trace` and `sparsetrace search-k`: one-pass sparse tracing of a model from the
// command line. A progress bar on a terminal; Ctrl-C cancels between layers (interrupt.h) and
// writes nothing.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"
#include "interrupt.h"
#include "prompt_input.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/gpu/device.h"
#include "sparsetrace/gpu/trace_engine.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <limits>
#include <unistd.h>

namespace sparsetrace::cli {

namespace {

struct TraceOptions {
    std::string model;
    PromptInput prompt;
    std::string score;          // --score; empty = the default rule (core::StreamParams)
    std::string representative; // --representative, the old name of --score
    std::vector<int> denseLayers;
    core::StreamParams params;
    int checkTokens = 2;
    bool fidelity = false;
    bool chat = false;
    bool allowLong = false;
    std::string device = "cpu";
    std::string backend = "eigen"; // --backend: Stream-Attn on the CPU (eigen or reference)
    std::string dtype;
    std::optional<std::uint64_t> randomSeed;
    int kMax = 0;
    std::string output;
    std::string annotationsFile;
};

// --score and its old name --representative: either may be given, both only when they agree.
core::ScoreRule resolveScoreRule(const std::string& score, const std::string& alias, core::ScoreRule fallback)
{
    if (!score.empty() && !alias.empty() && core::scoreRuleFromName(score) != core::scoreRuleFromName(alias))
        throw ArgumentError("--score " + score + " and --representative " + alias +
                            " name different rules; give one (--representative is the old name of --score)");
    if (!score.empty()) return core::scoreRuleFromName(score);
    if (!alias.empty()) return core::scoreRuleFromName(alias);
    return fallback;
}

gpu::TraceRequest makeRequest(const TraceOptions& o, bool searchK)
{
    gpu::TraceRequest r;
    r.modelDir = o.model;
    PromptValue prompt = readPromptInput(o.prompt);
    r.prompt = std::move(prompt.text);
    r.tokenIds = std::move(prompt.tokenIds);
    r.params = o.params;
    r.params.score = resolveScoreRule(o.score, o.representative, r.params.score);
    r.params.denseLayers = o.denseLayers;
    r.params.validate();
    r.checkTokens = o.checkTokens;
    r.fidelity = o.fidelity;
    r.chat = o.chat;
    r.allowBeyondContext = o.allowLong;
    r.device = o.device;
    r.cpuBackend = core::cpuBackendFromName(o.backend);
    r.dtype = o.dtype;
    r.randomWeightsSeed = o.randomSeed;
    r.searchK = searchK;
    r.kMax = o.kMax;
    if (!o.annotationsFile.empty()) {
        r.annotations = core::readJsonFile(o.annotationsFile);
    }
    return r;
}

void drawProgress(const core::Progress& p, bool tty)
{
    if (!tty) return;
    const int width = 30;
    const int filled = p.total > 0 ? width * p.step / p.total : 0;
    std::fprintf(stderr, "\r[%.*s%*s] %d/%d %-40.40s", filled, "##############################", width - filled, "", p.step,
                 p.total, p.stage.c_str());
    std::fflush(stderr);
}

int runTrace(const TraceOptions& o, bool searchK)
{
    if (o.output.empty()) throw ArgumentError("give the output file with -o OUT.sptrace");
    gpu::TraceRequest request = makeRequest(o, searchK);
    const bool tty = ::isatty(STDERR_FILENO) != 0;

    const auto t0 = std::chrono::steady_clock::now();
    std::shared_ptr<core::OwnedTrace> result;
    {
        gpu::TraceEngine engine;
        StopOnInterrupt stop; // Ctrl-C: Cancelled after the running layer, nothing written
        try {
            // One tokenization: the engine hands over the estimate it makes before loading.
            result = engine.trace(
                request, [tty](const core::Progress& p) { drawProgress(p, tty); }, stop.token(),
                [&](const gpu::ProbeReport& p) {
                    if (tty) std::fprintf(stderr, "\r%*s\r", 80, "");
                    std::printf("probe K=%-5d %s  sparsity %.4f\n", p.k, p.preserved ? "preserved    " : "NOT preserved", p.sparsity);
                    std::fflush(stdout);
                },
                [](const gpu::TraceEstimate& e) { std::fprintf(stderr, "estimate: %s\n", e.summary.c_str()); });
        } catch (...) {
            if (tty) std::fprintf(stderr, "\r%*s\r", 110, "");
            throw;
        }
    }
    if (tty) std::fprintf(stderr, "\r%*s\r", 110, "");

    core::writeTraceFile(*result, o.output);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const core::TraceInfo& info = result->info();
    std::printf("wrote %s: %lld tokens (+%lld generated), K=%d, sparsity %.4f, %.2f s", o.output.c_str(),
                static_cast<long long>(info.promptTokens), static_cast<long long>(info.generatedTokens), info.params.k,
                core::traceSparsity(*result).sparsity(), seconds);
    if (const std::int64_t peak = gpu::peakDeviceBytes(); peak > 0)
        std::printf(", peak GPU memory %.2f GiB", static_cast<double>(peak) / (1024.0 * 1024.0 * 1024.0));
    std::printf("\n");
    if (info.behaviour) {
        const auto& b = *info.behaviour;
        std::printf("behaviour %s: dense", b.preserved ? "preserved" : "NOT preserved");
        for (auto t : b.denseTokens) std::printf(" %d", t);
        std::printf(" | sparse");
        for (auto t : b.sparseTokens) std::printf(" %d", t);
        std::printf(" | KL %.4g | top-1 %s\n", b.klFirst, b.top1Match ? "matches" : "differs");
    }
    return 0;
}

void addTraceOptions(CLI::App* cmd, const std::shared_ptr<TraceOptions>& o)
{
    cmd->add_option("--model", o->model, "Hugging Face model folder (config.json, *.safetensors, tokenizer.json)")->required();
    addPromptOptions(cmd, o->prompt);
    cmd->add_option("--bq", o->params.bq, "Query block size (tokens)")->capture_default_str();
    cmd->add_option("--bk", o->params.bk, "Key block size (tokens)")->capture_default_str();
    cmd->add_option("--k", o->params.k, "Key blocks kept per query block by the search")->capture_default_str();
    cmd->add_option("--sinks", o->params.sinks, "Sink tokens always kept (multiple of bk)")->capture_default_str();
    cmd->add_option("--window", o->params.window, "Local window tokens always kept")->capture_default_str();
    cmd->add_option("--query-stride", o->params.queryStride, "Stride of the queries that score a block")->capture_default_str();
    cmd->add_option("--score", o->score,
                    "How the search scores a node: centre, first or bound (default: " +
                        std::string(core::scoreRuleName(core::StreamParams{}.score)) + ")");
    cmd->add_option("--representative", o->representative, "Old name of --score (centre, first or bound)");
    cmd->add_option("--dense-layers", o->denseLayers, "Layers run densely (their top blocks are recorded)")->delimiter(',');
    cmd->add_option("--check-tokens", o->checkTokens, "Greedy tokens compared with the dense model (0 = no check)")
        ->capture_default_str();
    cmd->add_flag("--fidelity", o->fidelity, "Also measure captured dense mass and the oracle top blocks");
    cmd->add_flag("--chat", o->chat, "Wrap the prompt in the model's chat template");
    cmd->add_flag("--allow-beyond-context", o->allowLong, "Accept prompts longer than max_position_embeddings");
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--backend", o->backend,
                    "Stream-Attn on the CPU: eigen, or reference (the specification: slow, for checks; CPU only)")
        ->capture_default_str();
    cmd->add_option("--dtype", o->dtype, "f32 or bf16 (default: f32 on CPU, bf16 on CUDA)");
    cmd->add_option("--random-weights", o->randomSeed, "Use seeded random weights (config.json only)");
    cmd->add_option("--annotations", o->annotationsFile, "JSON object stored in the trace's annotations");
    cmd->add_option("-o,--output", o->output, "Output .sptrace file (written atomically)")->required();
}

} // namespace

void addTraceCommands(CLI::App& app, Runner& run)
{
    auto traceOpts = std::make_shared<TraceOptions>();
    auto* trace = app.add_subcommand("trace", "Trace a model with Stream-Attn in one forward pass and write a .sptrace");
    addTraceOptions(trace, traceOpts);
    trace->callback([&run, traceOpts] { run = [traceOpts] { return runTrace(*traceOpts, false); }; });

    auto searchOpts = std::make_shared<TraceOptions>();
    auto* search = app.add_subcommand("search-k", "Find the smallest K that keeps the model's greedy tokens, then trace at it");
    addTraceOptions(search, searchOpts);
    search->add_option("--k-max", searchOpts->kMax, "Largest K searched (0 = the largest searchable range)")
        ->capture_default_str();
    search->callback([&run, searchOpts] { run = [searchOpts] { return runTrace(*searchOpts, true); }; });
}

} // namespace sparsetrace::cli
