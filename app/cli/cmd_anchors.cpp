// `sparsetrace anchors TRACE... [--labels F]... [--top-heads 20] --json OUT`: thought anchors
// (spec section 6) from one or more traces: sentences with character and token spans,
// categories (imported labels or the rule-based labeller), vertical scores on the receiver heads,
// receiver scores, and the receiver heads chosen on the kurtosis averaged over the traces.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_json.h"
#include "commands.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/thought_anchors.h"
#include "sparsetrace/core/trace_file.h"

#include <cmath>
#include <cstdio>

namespace sparsetrace::cli {

namespace {

struct AnchorsOptions {
    std::vector<std::string> traces;
    std::vector<std::string> labels;
    int topHeads = 20;
    bool wholeText = false;
    bool storeKurtosis = false;
    std::string json;
};

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

int runAnchors(const AnchorsOptions& o)
{
    if (!o.labels.empty() && o.labels.size() != o.traces.size())
        throw ArgumentError("--labels must be given once per trace (" + std::to_string(o.traces.size()) + " traces, " +
                            std::to_string(o.labels.size()) + " label files)");
    std::vector<core::AnchorSource> sources;
    for (std::size_t t = 0; t < o.traces.size(); ++t) {
        core::AnchorSource src;
        src.trace = core::TraceFile::open(o.traces[t]);
        src.name = o.traces[t];
        if (!o.labels.empty()) {
            src.labels = core::readChunkLabels(o.labels[t]);
            src.labelSource = o.labels[t];
        }
        sources.push_back(std::move(src));
    }
    core::AnchorOptions options;
    options.topHeads = o.topHeads;
    options.wholeText = o.wholeText;
    options.noChainHint = "use --whole-text to split all of it";
    const core::AnchorsAnalysis analysis = core::analyseThoughtAnchors(sources, options);
    const auto& heads = analysis.heads;

    nlohmann::json headsJson = nlohmann::json::array();
    for (const auto& h : heads) headsJson.push_back({{"layer", h.layer}, {"head", h.head}, {"mean_kurtosis", number(h.meanKurtosis)}});
    nlohmann::json tracesJson = nlohmann::json::array();
    for (std::size_t t = 0; t < analysis.traces.size(); ++t) {
        const core::TraceAnchors& a = analysis.traces[t];
        const auto& v = a.verticals;
        std::vector<int> rank(a.receiver.size(), 0);
        for (std::size_t r = 0; r < a.ranking.size(); ++r) rank[a.ranking[r]] = static_cast<int>(r + 1);

        nlohmann::json sentences = nlohmann::json::array();
        for (std::size_t i = 0; i < v.sentences.size(); ++i) {
            const auto& s = v.sentences[i];
            nlohmann::json vert = nlohmann::json::array();
            for (const auto& h : heads) vert.push_back(number(v.verticalOf(h.layer, h.head)[i]));
            sentences.push_back({{"index", i},
                                 {"text", s.text},
                                 {"char_start", s.chars.start},
                                 {"char_end", s.chars.end},
                                 {"token_start", s.tokens.start},
                                 {"token_end", s.tokens.end},
                                 {"category", a.categories[i]},
                                 {"receiver_score", number(a.receiver[i])},
                                 {"rank", rank[i] > 0 ? nlohmann::json(rank[i]) : nlohmann::json(nullptr)},
                                 {"vertical_scores", vert}});
        }
        nlohmann::json kurtosis = nlohmann::json::array();
        for (int l = 0; l < v.layers; ++l) {
            nlohmann::json row = nlohmann::json::array();
            for (int h = 0; h < v.heads; ++h) row.push_back(number(v.kurtosis[static_cast<std::size_t>(l) * v.heads + h]));
            kurtosis.push_back(row);
        }
        nlohmann::json anchors = a.ranking;
        tracesJson.push_back({{"file", o.traces[t]},
                              {"categories_from", a.categorySource},
                              {"unlabelled_sentences", a.unlabelled},
                              {"sentences", sentences},
                              {"anchors", anchors},
                              {"kurtosis", kurtosis}});
        if (o.json != "-")
            std::printf("%s: %zu sentences, top anchor: sentence %s\n", o.traces[t].c_str(), v.sentences.size(),
                        a.ranking.empty() ? "none" : std::to_string(a.ranking.front()).c_str());
    }
    writeJsonOutput({{"top_heads", o.topHeads},
                     {"vertical_min_distance", core::kVerticalMinDistance},
                     {"receiver_heads", headsJson},
                     {"traces", tracesJson}},
                    o.json);
    if (o.storeKurtosis) {
        for (std::size_t t = 0; t < analysis.traces.size(); ++t) {
            // Each trace keeps its own per-head kurtosis; the receiver heads are in the JSON output.
            const core::TraceAnchors& a = analysis.traces[t];
            auto edited = core::withHeadStat(a.trace, "kurtosis", core::kurtosisHeadStat(a.verticals));
            core::writeTraceFile(*edited, o.traces[t]);
        }
    }
    return 0;
}

} // namespace

void addAnchorsCommand(CLI::App& app, Runner& run)
{
    auto* cmd = app.add_subcommand("anchors", "Thought anchors: receiver heads and sentence receiver scores of traces");
    auto o = std::make_shared<AnchorsOptions>();
    cmd->add_option("traces", o->traces, ".sptrace files of chains of thought")->required();
    cmd->add_option("--labels", o->labels, "chunks_labeled.json per trace (else the rule-based labeller)");
    cmd->add_option("--top-heads", o->topHeads, "Receiver heads to keep (layer 0 excluded)")->capture_default_str();
    cmd->add_flag("--whole-text", o->wholeText, "Split the whole text, not only the part between <think> and </think>");
    cmd->add_flag("--store-kurtosis", o->storeKurtosis, "Write the per-head kurtosis into each trace (stats.kurtosis)");
    cmd->add_option("--json", o->json, "Output JSON file (\"-\": stdout)")->required();
    cmd->callback([&run, o] { run = [o] { return runAnchors(*o); }; });
}

} // namespace sparsetrace::cli
