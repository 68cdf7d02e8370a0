// The rule-based labeller: assigns each chain-of-thought sentence one of the Thought Anchors
// categories (spec 6.8). Cue-phrase groups, the share of mathematical characters, the place in
// the chain and the cues of the neighbouring sentences are named features; a linear scoring
// model (per-category weights of those features) and category-to-category transition scores,
// decoded with Viterbi, pick the labels. It is a heuristic, named "rule-based labeller"
// wherever its output appears, and stands in for labels from a language model or a
// chunks_labeled.json file. The built-in weights were fitted on the 10 correct solutions of the
// Thought Anchors data only; `sparsetrace label-agreement` measures agreement and refits.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

inline constexpr const char* kRuleBasedLabellerName = "rule-based labeller";

// Fraction of a sentence's code points that are digits or mathematical symbols.
double mathCharacterShare(std::string_view sentence);

// The named features of each sentence of one chain of thought, in order (cue groups of the
// sentence and of its neighbours, math-share and length bins, position in the chain).
std::vector<std::vector<std::string>> labellerFeatures(const std::vector<std::string>& sentences);

// A linear scoring model over labeller features. score(sentence, c) = sum of weights[f][c] over
// its features f; a chain is decoded with Viterbi over log-softmax scores plus transition[a][c]
// from the previous sentence's category a.
struct SentenceLabellerModel {
    std::vector<std::string> categories;                // [C] the eight categories of spec 6.8 (no "unknown")
    std::map<std::string, std::vector<double>> weights; // feature -> [C] float64
    std::vector<double> transition;                     // [C, C] float64, row = previous category
};

// How a model is fitted: multinomial logistic regression (full-batch AdaGrad, L2 penalty) on the
// features that occur at least `minCount` times; transitions are `transitionScale` times the
// log-ratio of the smoothed bigram probability to the category's prior.
struct LabellerFitOptions {
    double l2 = 10.0;
    int iterations = 100;
    double learningRate = 0.5;
    int minCount = 2;
    double transitionScale = 0.3;
    double transitionSmoothing = 1.0; // add-alpha counts for transitions and priors
};

// One labelled chain of thought: its sentences and their first tags ("unknown" or any tag
// outside the categories is left out of the fit but keeps the chain's order).
struct LabelledSentences {
    std::vector<std::string> sentences;
    std::vector<std::string> tags;
};

SentenceLabellerModel fitSentenceLabeller(const std::vector<LabelledSentences>& chains,
                                          const LabellerFitOptions& options = {});

// The model shipped with SparseTrace (fitted with the default options on the 10 correct
// Thought Anchors solutions).
const SentenceLabellerModel& builtInSentenceLabeller();

nlohmann::json sentenceLabellerToJson(const SentenceLabellerModel& model);
// Throws FormatError naming `what` when the JSON is not a model.
SentenceLabellerModel sentenceLabellerFromJson(const nlohmann::json& j, const std::string& what);

// Category of each sentence of one chain of thought, in order.
std::vector<std::string> labelSentences(const SentenceLabellerModel& model, const std::vector<std::string>& sentences);
// The same with the built-in model.
std::vector<std::string> labelSentencesRuleBased(const std::vector<std::string>& sentences);

// Leave-one-chain-out: each chain labelled by a model fitted on all the others (estimates how
// the fit generalises to a chain it has not seen). Needs at least two chains.
std::vector<std::vector<std::string>> leaveOneChainOutLabels(const std::vector<LabelledSentences>& chains,
                                                             const LabellerFitOptions& options = {});

// Agreement of two first-tag sequences of the same length: matches / size (0 for empty).
double firstTagAgreement(const std::vector<std::string>& predicted, const std::vector<std::string>& reference);

} // namespace sparsetrace::core
