// The rule-based labeller: its features and cues on hand-written sentences, the fit on planted
// data, the model's JSON form, and its first-tag agreement with the Thought Anchors labels of
// ../shared. The built-in weights are fitted on the 10 correct solutions (checked by refitting);
// the 10 incorrect ones are the held-out set the spec's bar (>= 60%) applies to.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "qt_shared.h"
#include "thought_anchors_data.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/sentence_labeller.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <map>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {

std::vector<LabelledSentences> asLabelled(const std::vector<test::LabelledChain>& chains)
{
    std::vector<LabelledSentences> out;
    for (const auto& c : chains) out.push_back({c.chunks, c.firstTags});
    return out;
}

// Agreement of predicted labels with the first tags of a set, and the majority-tag baseline.
std::pair<double, double> agreement(const std::vector<LabelledSentences>& chains, const std::vector<std::vector<std::string>>& predicted)
{
    std::size_t same = 0, total = 0;
    std::map<std::string, std::size_t> counts;
    for (std::size_t k = 0; k < chains.size(); ++k) {
        for (std::size_t i = 0; i < chains[k].tags.size(); ++i) {
            same += predicted[k][i] == chains[k].tags[i] ? 1 : 0;
            ++counts[chains[k].tags[i]];
            ++total;
        }
    }
    std::size_t majority = 0;
    for (const auto& [tag, n] : counts) majority = std::max(majority, n);
    return {static_cast<double>(same) / static_cast<double>(total), static_cast<double>(majority) / static_cast<double>(total)};
}

std::vector<std::vector<std::string>> labelAll(const std::vector<LabelledSentences>& chains)
{
    std::vector<std::vector<std::string>> out;
    for (const auto& c : chains) out.push_back(labelSentencesRuleBased(c.sentences));
    return out;
}

bool has(const std::vector<std::string>& features, const std::string& f)
{
    return std::find(features.begin(), features.end(), f) != features.end();
}

// A planted corpus: each category has its own cue sentence, so a fit must recover every label.
std::vector<LabelledSentences> plantedChains()
{
    const std::vector<std::pair<std::string, std::string>> kinds = {
        {"Okay, so I have this problem about a triangle and its area.", "problem_setup"},
        {"Let me verify the previous step once more.", "self_checking"},
        {"12 * 11 = 132 and 132 / 2 = 66.", "active_computation"},
        {"Hmm, I am confused, maybe that is wrong?", "uncertainty_management"},
        {"The formula for the area of a circle is a known theorem.", "fact_retrieval"},
        {"I should try another approach here.", "plan_generation"},
        {"**Final Answer** The answer is \\boxed{66}.", "final_answer_emission"},
    };
    std::vector<LabelledSentences> chains;
    for (int c = 0; c < 4; ++c) {
        LabelledSentences chain;
        chain.sentences.push_back(kinds[0].first);
        chain.tags.push_back(kinds[0].second);
        for (int r = 0; r < 3; ++r)
            for (std::size_t k = 1; k + 1 < kinds.size(); ++k) {
                const std::size_t pick = 1 + (k + static_cast<std::size_t>(r + c)) % (kinds.size() - 2);
                chain.sentences.push_back(kinds[pick].first);
                chain.tags.push_back(kinds[pick].second);
            }
        chain.sentences.push_back(kinds.back().first);
        chain.tags.push_back(kinds.back().second);
        chains.push_back(std::move(chain));
    }
    return chains;
}

} // namespace

class TstSentenceLabeller : public QObject {
    Q_OBJECT

private slots:
    void labelsOfAChain()
    {
        // A short chain of thought in the models' style; the checked sentences are the ones the
        // categories' definitions decide (setup, plan, recalled formula, arithmetic, summary,
        // doubt, a check and its recomputation, backtracking, the answer).
        const std::vector<std::string> chain = {
            "Okay, so I have this problem where two squares share a side and I need to find the total area.",
            "The problem says the squares share a side.",
            "Let me think about how to approach this.",
            "First, I need to find the side length of each square.",
            "The formula for the area of a square is the side length squared.",
            "The side of the first square is 5 cm.",
            "So, the area is 5 * 5 = 25.",
            "12 * 11 = 132, and 132 / 2 = 66.",
            "So, both parts give the same total in the end.",
            "Wait, but is that right?",
            "Let me verify the subtraction.",
            "66 - 25 = 41, which matches.",
            "Wait, let me verify that step.",
            "Alternatively, I can use the binomial theorem here.",
            "Hmm, I think I made a mistake with the second square.",
            "Each side is an integer.",
            "So, the total area is 41.",
            "**Final Answer** The total area is \\boxed{41}.",
        };
        const std::map<std::size_t, std::string> expected = {
            {0, "problem_setup"},           {2, "plan_generation"},         {4, "fact_retrieval"},
            {7, "active_computation"},      {8, "result_consolidation"},    {9, "uncertainty_management"},
            {10, "self_checking"},          {11, "self_checking"},          {14, "uncertainty_management"},
            {16, "result_consolidation"},   {17, "final_answer_emission"},
        };
        const auto labels = labelSentencesRuleBased(chain);
        QCOMPARE(labels.size(), chain.size());
        for (const auto& [i, category] : expected) QVERIFY2(labels[i] == category, (chain[i] + " -> " + labels[i]).c_str());
        // The place in the chain counts: the same words restate the problem at the start only.
        auto moved = chain;
        std::swap(moved[0], moved[8]);
        QCOMPARE_NE(labelSentencesRuleBased(moved)[8], std::string("problem_setup"));
        QVERIFY(labelSentencesRuleBased({}).empty());
    }

    void mathShare()
    {
        QCOMPARE(mathCharacterShare("1+1=2"), 1.0);
        QCOMPARE(mathCharacterShare("abcd"), 0.0);
        QCOMPARE(mathCharacterShare("π ≈ 3"), 0.6); // code points, not bytes
    }

    void features()
    {
        const auto f = labellerFeatures({"Okay, so I have this problem.", "Wait, let me check 2 + 2 = 4 again.", "So the total is 4.",
                                         "Each side is an integer.", "The sides differ.", "The answer is 4."});
        QCOMPARE(f.size(), std::size_t(6));
        QVERIFY(has(f[0], "bias") && has(f[0], "g:setup_start") && has(f[0], "pos:first2") && has(f[0], "m0"));
        QVERIFY(has(f[1], "g:wait") && has(f[1], "r:letme_check") && has(f[1], "r:check") && has(f[1], "eq"));
        QVERIFY(has(f[1], "arith") && has(f[1], "p:g:setup_start") && has(f[1], "n:g:so"));
        QVERIFY(!has(f[1], "r:wait")); // what follows the marker is matched without it
        QVERIFY(has(f[2], "ctx:check3") && has(f[2], "rel2") && has(f[2], "g:result") && has(f[2], "pos:first5"));
        QVERIFY(has(f[5], "pos:last") && has(f[5], "rel4") && has(f[5], "g:final") && !has(f[5], "ctx:check3"));
        QVERIFY(has(f[3], "pos:last3") && !has(f[3], "pos:last"));
        QVERIFY(!has(f[0], "ctx:check3") && !has(f[0], "pos:last3"));
    }

    void fitRecoversPlantedLabels()
    {
        const auto chains = plantedChains();
        // A light penalty: the planted set is 68 sentences, the default suits about 1,400.
        LabellerFitOptions options;
        options.l2 = 1.0;
        options.iterations = 300;
        const auto model = fitSentenceLabeller(chains, options);
        QCOMPARE(model.categories.size(), std::size_t(8));
        QCOMPARE(model.transition.size(), std::size_t(64));
        for (const auto& c : chains) QCOMPARE(labelSentences(model, c.sentences), c.tags);
        // Each chain labelled by a fit on the other three.
        const auto loo = leaveOneChainOutLabels(chains, options);
        for (std::size_t k = 0; k < chains.size(); ++k) QCOMPARE(loo[k], chains[k].tags);
        // Tags outside the categories are left out of the fit, not fitted as a category.
        auto withUnknown = chains;
        withUnknown[0].tags[1] = "unknown";
        const auto m2 = fitSentenceLabeller(withUnknown, options);
        QCOMPARE(labelSentences(m2, chains[1].sentences), chains[1].tags);
        QCOMPARE(m2.categories, model.categories);
        QVERIFY_THROWS_EXCEPTION(ArgumentError, fitSentenceLabeller({}));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, fitSentenceLabeller({{{"One sentence."}, {}}}));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, leaveOneChainOutLabels({chains[0]}));
    }

    void json()
    {
        const auto model = fitSentenceLabeller(plantedChains());
        const auto back = sentenceLabellerFromJson(nlohmann::json::parse(sentenceLabellerToJson(model).dump()), "model");
        QCOMPARE(back.categories, model.categories);
        QCOMPARE(back.transition, model.transition); // doubles round-trip exactly through JSON
        QCOMPARE(back.weights, model.weights);
        QVERIFY_THROWS_EXCEPTION(FormatError, sentenceLabellerFromJson(nlohmann::json::array(), "m"));
        auto bad = sentenceLabellerToJson(model);
        bad["transition"].erase(0);
        QVERIFY_THROWS_EXCEPTION(FormatError, sentenceLabellerFromJson(bad, "m"));
        bad = sentenceLabellerToJson(model);
        bad["weights"]["bias"] = "heavy";
        QVERIFY_THROWS_EXCEPTION(FormatError, sentenceLabellerFromJson(bad, "m"));
        SentenceLabellerModel broken = model;
        broken.transition.pop_back();
        QVERIFY_THROWS_EXCEPTION(ArgumentError, labelSentences(broken, {"A sentence."}));
    }

    void builtInWeightsAreTheTuningFit()
    {
        ST_QREQUIRE_SHARED(shared);
        const auto root = test::unpackThoughtAnchors(shared);
        QVERIFY2(!root.empty(), "tar --zstd could not unpack the Thought Anchors archive");
        // Refitting on the 10 correct solutions with the default options gives the shipped
        // weights: they were fitted on the tuning set and on nothing else.
        const auto refit = fitSentenceLabeller(asLabelled(test::loadChains(root, "correct")));
        const auto& builtIn = builtInSentenceLabeller();
        QCOMPARE(builtIn.categories, refit.categories);
        QCOMPARE(builtIn.weights.size(), refit.weights.size());
        // Same code, same data: only the order of floating-point sums may differ between builds.
        constexpr double kTolerance = 1e-9;
        for (std::size_t i = 0; i < refit.transition.size(); ++i)
            QVERIFY(std::abs(builtIn.transition[i] - refit.transition[i]) <= kTolerance);
        for (const auto& [name, w] : refit.weights) {
            const auto it = builtIn.weights.find(name);
            QVERIFY2(it != builtIn.weights.end(), name.c_str());
            for (std::size_t c = 0; c < w.size(); ++c) QVERIFY2(std::abs(it->second[c] - w[c]) <= kTolerance, name.c_str());
        }
    }

    void agreementWithThePapersLabels()
    {
        ST_QREQUIRE_SHARED(shared);
        const auto root = test::unpackThoughtAnchors(shared);
        QVERIFY2(!root.empty(), "tar --zstd could not unpack the Thought Anchors archive");
        const auto tuning = asLabelled(test::loadChains(root, "correct"));
        const auto heldOutSet = asLabelled(test::loadChains(root, "incorrect"));
        const auto [tuned, tunedBaseline] = agreement(tuning, labelAll(tuning));
        const auto [looEstimate, unused] = agreement(tuning, leaveOneChainOutLabels(tuning));
        const auto [heldOut, heldOutBaseline] = agreement(heldOutSet, labelAll(heldOutSet));
        qInfo("rule-based labeller: %.1f%% on the 10 correct solutions (tuning set, majority %.1f%%; "
              "leave-one-solution-out estimate %.1f%%), %.1f%% on the 10 incorrect ones (held out, majority %.1f%%)",
              100 * tuned, 100 * tunedBaseline, 100 * looEstimate, 100 * heldOut, 100 * heldOutBaseline);
        QVERIFY(heldOut > heldOutBaseline);
        // Measured when the built-in weights were fitted: 70.8% tuning, 61.2% leave-one-out,
        // 60.4% held out (majority 33.6%). The held-out set was measured once, after the design.
        // The tuning set's numbers, so that a regression of the features shows.
        QVERIFY(tuned >= 0.65);
        QVERIFY(looEstimate >= 0.60);
        QVERIFY2(heldOut >= 0.60, qPrintable(QString("held-out agreement %1% is below the 60% bar").arg(100 * heldOut, 0, 'f', 1)));
    }
};

QTEST_GUILESS_MAIN(TstSentenceLabeller)
#include "tst_sentence_labeller.moc"
