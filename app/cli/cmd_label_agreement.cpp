// `sparsetrace label-agreement DIR...`: how often the rule-based labeller's category equals the
// first tag of labelled chains of thought (Thought Anchors folders with base_solution.json and
// chunks_labeled.json), next to the always-the-most-common-tag baseline, per category too; it
// also refits the labeller's weights on such folders and estimates the fit by leave-one-out.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_json.h"
#include "commands.h"

#include "sparsetrace/core/sentence_labeller.h"
#include "sparsetrace/core/sentences.h"
#include "sparsetrace/core/thought_anchors.h"

#include <cstdio>
#include <filesystem>
#include <map>

namespace sparsetrace::cli {

namespace {

struct LabelAgreementOptions {
    std::vector<std::string> dirs;
    std::string jsonOut;
    std::string modelIn;     // use this fitted model instead of the built-in one
    std::string modelOut;    // fit on the folders and write the model here
    bool crossValidate = false;
    core::LabellerFitOptions fit;
};

struct LabelledFolder {
    std::string dir;
    core::LabelledSentences chain; // our sentence split and the reference first tag of each
    std::size_t labelledChunks = 0;
    std::size_t splitMatches = 0;  // chunks whose text our split reproduces at the same index
};

LabelledFolder readFolder(const std::string& dir)
{
    const std::filesystem::path d(dir);
    const nlohmann::json base = readJsonFile(d / "base_solution.json", "the base solution");
    if (!base.is_object() || !base.contains("full_cot") || !base["full_cot"].is_string())
        throw FormatError((d / "base_solution.json").string() + ": no \"full_cot\" text");
    const auto chunks = core::readChunkLabels((d / "chunks_labeled.json").string());
    const auto split = core::segmentChainOfThought(base["full_cot"].get<std::string>());
    std::size_t unmatched = 0;
    LabelledFolder f{dir, {{}, core::assignLabels(split, chunks, unmatched)}, chunks.size(), 0};
    for (const auto& s : split) f.chain.sentences.push_back(s.text);
    for (std::size_t i = 0; i < split.size() && i < chunks.size(); ++i) f.splitMatches += split[i].text == chunks[i].chunk ? 1 : 0;
    return f;
}

int runLabelAgreement(const LabelAgreementOptions& o)
{
    std::vector<LabelledFolder> folders;
    std::vector<core::LabelledSentences> chains;
    for (const std::string& dir : o.dirs) {
        folders.push_back(readFolder(dir));
        chains.push_back(folders.back().chain);
    }

    core::SentenceLabellerModel model = core::builtInSentenceLabeller();
    std::string modelName = "built-in weights";
    if (!o.modelIn.empty()) {
        model = core::sentenceLabellerFromJson(readJsonFile(o.modelIn, "the labeller model"), o.modelIn);
        modelName = o.modelIn;
    }
    if (!o.modelOut.empty()) {
        model = core::fitSentenceLabeller(chains, o.fit);
        writeJsonOutput(core::sentenceLabellerToJson(model), o.modelOut);
        modelName = "weights fitted on these folders (written to " + o.modelOut + ")";
    }
    std::vector<std::vector<std::string>> predicted;
    if (o.crossValidate) {
        predicted = core::leaveOneChainOutLabels(chains, o.fit);
        modelName = "leave-one-folder-out: each folder labelled by weights fitted on the others";
    } else {
        for (const auto& c : chains) predicted.push_back(core::labelSentences(model, c.sentences));
    }

    nlohmann::json perDir = nlohmann::json::array();
    std::map<std::string, std::size_t> referenceCounts, predictedCounts, agreeing;
    std::size_t agree = 0, compared = 0, splitMatches = 0, labels = 0;
    for (std::size_t k = 0; k < folders.size(); ++k) {
        const auto& f = folders[k];
        std::size_t dirAgree = 0, dirCompared = 0;
        for (std::size_t i = 0; i < f.chain.tags.size(); ++i) {
            const std::string& ref = f.chain.tags[i];
            if (ref == "unknown") continue; // no label to compare with
            ++dirCompared;
            ++referenceCounts[ref];
            ++predictedCounts[predicted[k][i]];
            if (predicted[k][i] == ref) ++dirAgree, ++agreeing[ref];
        }
        agree += dirAgree;
        compared += dirCompared;
        labels += f.labelledChunks;
        splitMatches += f.splitMatches;
        const double a = dirCompared ? static_cast<double>(dirAgree) / static_cast<double>(dirCompared) : 0.0;
        perDir.push_back({{"folder", f.dir}, {"sentences", f.chain.sentences.size()}, {"labelled_chunks", f.labelledChunks},
                          {"split_matches", f.splitMatches}, {"compared", dirCompared}, {"agreement", a}});
        std::printf("%-60s %4zu sentences, %4zu/%zu split identical, agreement %.1f%%\n", f.dir.c_str(),
                    f.chain.sentences.size(), f.splitMatches, f.labelledChunks, 100.0 * a);
    }
    std::string majority;
    std::size_t majorityCount = 0;
    for (const auto& [tag, n] : referenceCounts)
        if (n > majorityCount) majority = tag, majorityCount = n;
    const double agreement = compared ? static_cast<double>(agree) / static_cast<double>(compared) : 0.0;
    const double baseline = compared ? static_cast<double>(majorityCount) / static_cast<double>(compared) : 0.0;

    // Per category: recall (of the reference's sentences, the share labelled alike) and precision.
    nlohmann::json perCategory = nlohmann::json::object();
    std::printf("%-24s %9s %9s %7s %9s\n", "category", "reference", "predicted", "recall", "precision");
    for (const auto& c : core::sentenceCategories()) {
        const std::size_t ref = referenceCounts[c], pred = predictedCounts[c], same = agreeing[c];
        if (ref == 0 && pred == 0) continue;
        const double recall = ref ? static_cast<double>(same) / static_cast<double>(ref) : 0.0;
        const double precision = pred ? static_cast<double>(same) / static_cast<double>(pred) : 0.0;
        std::printf("%-24s %9zu %9zu %6.1f%% %8.1f%%\n", c.c_str(), ref, pred, 100.0 * recall, 100.0 * precision);
        perCategory[c] = {{"reference", ref}, {"predicted", pred}, {"agreeing", same}, {"recall", recall}, {"precision", precision}};
    }
    std::printf("%s (%s): first-tag agreement %.1f%% (%zu of %zu sentences); always \"%s\" would give %.1f%%\n",
                core::kRuleBasedLabellerName, modelName.c_str(), 100.0 * agreement, agree, compared, majority.c_str(),
                100.0 * baseline);
    std::printf("sentence split: %zu of %zu labelled chunks reproduced exactly\n", splitMatches, labels);
    if (!o.jsonOut.empty())
        writeJsonOutput({{"labeller", core::kRuleBasedLabellerName}, {"model", modelName},
                         {"cross_validated", o.crossValidate}, {"agreement", agreement}, {"agreeing", agree},
                         {"compared", compared}, {"majority_tag", majority}, {"majority_baseline", baseline},
                         {"per_category", perCategory}, {"split_matches", splitMatches}, {"labelled_chunks", labels},
                         {"folders", perDir}},
                        o.jsonOut);
    return 0;
}

} // namespace

void addLabelAgreementCommand(CLI::App& app, Runner& run)
{
    auto* cmd = app.add_subcommand("label-agreement",
                                   "Measure the rule-based labeller against labelled chains of thought "
                                   "(folders with base_solution.json and chunks_labeled.json), or refit its weights on them");
    auto o = std::make_shared<LabelAgreementOptions>();
    cmd->add_option("folders", o->dirs, "Thought Anchors problem folders")->required();
    cmd->add_option("--json", o->jsonOut, "Also write the numbers as JSON (\"-\": stdout)");
    cmd->add_option("--model", o->modelIn, "Labeller weights (JSON from --fit-model) instead of the built-in ones")
        ->check(CLI::ExistingFile);
    cmd->add_option("--fit-model", o->modelOut, "Fit the labeller's weights on these folders and write them as JSON");
    cmd->add_flag("--cross-validate", o->crossValidate,
                  "Leave-one-folder-out: label each folder with weights fitted on the other folders");
    cmd->add_option("--l2", o->fit.l2, "Fit: L2 penalty")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--iterations", o->fit.iterations, "Fit: AdaGrad iterations")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--transition-scale", o->fit.transitionScale, "Fit: weight of the category transitions")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->callback([&run, o] {
        if (!o->modelIn.empty() && !o->modelOut.empty()) throw CLI::ValidationError("--model and --fit-model exclude each other");
        run = [o] { return runLabelAgreement(*o); };
    });
}

} // namespace sparsetrace::cli
