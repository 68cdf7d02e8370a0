// `sparsetrace info FILE`: provenance, sizes, sparsity and storage ratio of a trace.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"

#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/core/format.h"

#include <cstdio>
#include <iostream>

namespace sparsetrace::cli {

namespace {
int runInfo(const std::string& path, bool asJson)
{
    auto trace = core::TraceFile::open(path);
    const core::TraceInfo& info = trace->info();
    const core::SparsitySummary sparsity = core::traceSparsity(*trace);
    const double dense = core::denseCausalBytes(info);
    const double stored = static_cast<double>(trace->fileBytes());
    int denseLayers = 0;
    for (int l = 0; l < trace->layers(); ++l) denseLayers += trace->layer(l).dense ? 1 : 0;

    if (asJson) {
        nlohmann::json j = {{"file", path},
                            {"format_version", core::TraceInfo::kFormatVersion},
                            {"provenance", info.provenance.toJson()},
                            {"model", info.model.toJson()},
                            {"params", info.params.toJson()},
                            {"prompt_tokens", info.promptTokens},
                            {"generated_tokens", info.generatedTokens},
                            {"query_blocks", info.queryBlocks()},
                            {"dense_layers", denseLayers},
                            {"sparsity", sparsity.sparsity()},
                            {"file_bytes", stored},
                            {"dense_causal_bytes", dense},
                            {"storage_ratio", dense / stored}};
        if (info.behaviour) j["behaviour"] = info.behaviour->toJson();
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    const auto& p = info.provenance;
    std::printf("trace          %s\n", path.c_str());
    std::printf("model          %s (%s)\n", p.modelName.c_str(), p.architecture.c_str());
    std::printf("shape          %d layers x %d heads (%d KV heads, head dim %d)\n", info.model.layers, info.model.heads,
                info.model.kvHeads, info.model.headDim);
    std::printf("created        %s by SparseTrace %s\n", p.created.c_str(), p.toolVersion.c_str());
    std::printf("compute        %s on %s\n", p.dtype.c_str(), p.device.c_str());
    std::printf("config sha256  %s\n", p.configSha256.c_str());
    std::printf("tokenizer      %s\n", p.tokenizerSha256.c_str());
    std::printf("tokens         %lld prompt + %lld generated\n", static_cast<long long>(info.promptTokens),
                static_cast<long long>(info.generatedTokens));
    const auto& s = info.params;
    std::printf("stream-attn    bq=%d bk=%d K=%d sinks=%d window=%d stride=%d score=%s K'=%d dense layers=%d\n", s.bq, s.bk,
                s.k, s.sinks, s.window, s.queryStride, std::string(core::scoreRuleName(s.score)).c_str(),
                s.kPrime(), denseLayers);
    std::printf("sparsity       %.4f (%.4g of %.4g causal pairs kept)\n", sparsity.sparsity(), sparsity.keptPairs,
                sparsity.causalPairs);
    std::printf("storage        %s on disk vs %s dense fp32 causal patterns: %.0fx smaller\n", core::formatBytes(stored).c_str(),
                core::formatBytes(dense).c_str(), dense / stored);
    if (info.behaviour) {
        const auto& b = *info.behaviour;
        std::printf("behaviour      %s over %d tokens, top-1 %s, KL(dense||sparse) %.4g\n",
                    b.preserved ? "preserved" : "NOT preserved", b.checkTokens, b.top1Match ? "matches" : "differs", b.klFirst);
    }
    if (!info.kSearch.empty()) {
        std::printf("k search      ");
        for (const auto& pr : info.kSearch) std::printf(" K=%d:%s(%.3f)", pr.k, pr.preserved ? "ok" : "fail", pr.sparsity);
        std::printf("\n");
    }
    if (!info.headStats.empty()) {
        std::printf("head stats    ");
        for (const auto& [name, v] : info.headStats) std::printf(" %s", name.c_str());
        std::printf("\n");
    }
    return 0;
}
} // namespace

void addInfoCommand(CLI::App& app, Runner& run)
{
    auto* cmd = app.add_subcommand("info", "Print provenance, sizes, sparsity and storage ratio of a trace");
    auto path = std::make_shared<std::string>();
    auto asJson = std::make_shared<bool>(false);
    cmd->add_option("trace", *path, "A .sptrace file")->required();
    cmd->add_flag("--json", *asJson, "Print as JSON");
    cmd->callback([&run, path, asJson] { run = [path, asJson] { return runInfo(*path, *asJson); }; });
}

} // namespace sparsetrace::cli
