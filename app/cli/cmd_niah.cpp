// `sparsetrace niah`: a needle-in-a-haystack sweep (lengths x depths x K), every cell traced
// with Stream-Attn and scored by substring match (spec section 7). Resumable (finished cells are
// not rerun), shardable with --shard I/N; `sparsetrace niah-merge` joins shard tables.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"
#include "interrupt.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/gpu/trace_engine.h"

#include <cstdio>
#include <filesystem>

namespace sparsetrace::cli {

namespace {

struct NiahOptions {
    std::string model, haystack = "noise", lengths, depths, ks, out, shard = "0/1", device = "cpu", dtype, score;
    std::uint64_t seed = 0;
    std::int64_t tokensToGenerate = 16;
    core::StreamParams params;
    bool keepTraces = false;
    std::optional<std::uint64_t> randomSeed;
};

int runNiah(const NiahOptions& o)
{
    core::NiahTracedSweep sweep;
    sweep.spec.lengths = core::parseNiahLengths(o.lengths);
    sweep.spec.depths = core::parseNiahDepths(o.depths);
    for (const auto& k : core::parseNiahLengths(o.ks)) sweep.spec.ks.push_back(static_cast<int>(k));
    sweep.spec.seed = o.seed;
    sweep.spec.tokensToGenerate = o.tokensToGenerate;
    sweep.base.modelDir = o.model;
    sweep.base.params = o.params;
    if (!o.score.empty()) sweep.base.params.score = core::scoreRuleFromName(o.score);
    sweep.base.device = o.device;
    sweep.base.dtype = o.dtype;
    sweep.base.randomWeightsSeed = o.randomSeed;
    sweep.haystack = o.haystack;
    sweep.shard = core::NiahShard::parse(o.shard);
    sweep.outDir = o.out;
    sweep.keepTraces = o.keepTraces;
    const core::NiahShard shard = sweep.shard;
    const std::filesystem::path outDir = sweep.outDir;
    gpu::TraceEngine engine;
    const core::NiahTraceFn trace = [&](const core::TraceRequest& r, std::stop_token stop) { return engine.trace(r, {}, stop); };

    core::NiahTable table;
    {
        StopOnInterrupt stop; // Ctrl-C stops the sweep after the running layer; finished cells stay
        table = core::runTracedNiahSweep(std::move(sweep), trace,
                                         [](const core::NiahSweepProgress& p) {
                                             std::fprintf(stderr, "niah: %zu/%zu cells done (%zu resumed)\n", p.done, p.total, p.skipped);
                                         },
                                         stop.token());
    }
    std::size_t retrieved = 0, denseRetrieved = 0;
    for (const auto& c : table.cells()) {
        retrieved += c.retrieved ? 1 : 0;
        denseRetrieved += c.denseRetrieved.value_or(false) ? 1 : 0;
    }
    std::printf("niah: shard %s: %zu cells, %zu retrieved with Stream-Attn, %zu densely; table in %s\n",
                shard.toString().c_str(), table.cells().size(), retrieved, denseRetrieved,
                (outDir / core::kNiahTableJson).string().c_str());
    return 0;
}

} // namespace

void addNiahCommand(CLI::App& app, Runner& run)
{
    auto o = std::make_shared<NiahOptions>();
    auto* cmd = app.add_subcommand("niah", "Needle-in-a-haystack sweep: lengths x depths x K, each cell traced and scored");
    cmd->add_option("--model", o->model, "Hugging Face model folder")->required();
    cmd->add_option("--haystack", o->haystack, "Haystack text file, or \"noise\"")->capture_default_str();
    cmd->add_option("--lengths", o->lengths, "Context lengths in tokens, e.g. 2k,4k,8k")->required();
    cmd->add_option("--depths", o->depths, "Needle depths in percent, e.g. 0:100:10 or 0,50,100")->required();
    cmd->add_option("--k", o->ks, "K values (searched key blocks), e.g. 4,8,16")->required();
    cmd->add_option("--out", o->out, "Output folder (niah.json, niah.csv, traces/)")->required();
    cmd->add_option("--shard", o->shard, "Run slice I of N (I counts from 0), e.g. 0/4")->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed of keys and values")->capture_default_str();
    cmd->add_option("--tokens-to-generate", o->tokensToGenerate, "Greedy tokens generated and scored")->capture_default_str();
    cmd->add_option("--bq", o->params.bq, "Query block size")->capture_default_str();
    cmd->add_option("--bk", o->params.bk, "Key block size")->capture_default_str();
    cmd->add_option("--sinks", o->params.sinks, "Sink tokens")->capture_default_str();
    cmd->add_option("--window", o->params.window, "Local window tokens")->capture_default_str();
    cmd->add_option("--score", o->score,
                    "How the search scores a node: centre, first or bound (default: " +
                        std::string(core::scoreRuleName(core::StreamParams{}.score)) + ")");
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--dtype", o->dtype, "f32 or bf16");
    cmd->add_option("--random-weights", o->randomSeed, "Seeded random weights (config.json only)");
    cmd->add_flag("--keep-traces", o->keepTraces, "Write every cell's trace under OUT/traces/");
    cmd->callback([&run, o] { run = [o] { return runNiah(*o); }; });
}

} // namespace sparsetrace::cli
