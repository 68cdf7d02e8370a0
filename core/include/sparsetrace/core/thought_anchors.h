// Thought anchors from a sparse trace (spec section 6, steps 4-8): sentence-by-sentence
// attention per (layer, head) from the kept blocks, vertical scores, per-head kurtosis, receiver
// heads chosen on the mean kurtosis over several traces, receiver scores; the import of
// sentence labels in the Thought Anchors `chunks_labeled.json` format; and the whole pipeline
// (segment -> verticals -> receiver heads -> labels -> scores -> ranking) that the CLI's
// `anchors` and the explorer's thought-anchors view both run (analyseThoughtAnchors).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/sentences.h"
#include "sparsetrace/core/trace.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

// Sentences at least this far apart count for the vertical score (i >= j + 4).
inline constexpr int kVerticalMinDistance = 4;

// A[i][j] for one (layer, head): mean over the query tokens of sentence i of the attention they
// pay to the tokens of sentence j. A row's mass on a kept block is spread uniformly over the
// block's keys that some query of the row may see (keys after the row's last query carry none).
// Sentences need token spans (mapSentencesToTokens); a key token shared by two sentences counts
// for the first. Result [N, N] float64 row-major. Entries above the diagonal are 0 except where a
// block straddles neighbouring sentences (the block approximation of spec 6.4).
std::vector<double> sentenceAttention(const Trace& trace, int layer, int head, const std::vector<Sentence>& sentences);

// Vertical score of sentence j: mean of A[i][j] over i >= j + 4; NaN for the last 4 sentences.
// `attention` [N, N] float64.
std::vector<double> verticalScores(const std::vector<double>& attention, std::size_t sentences);

// Fisher excess kurtosis, biased (m4 / m2^2 - 3), of the finite values; NaN when fewer than two
// finite values or zero variance.
double excessKurtosis(const std::vector<double>& values);

// Everything of one trace: vertical scores [L, H, N] and kurtosis [L, H].
struct TraceVerticals {
    int layers = 0;
    int heads = 0;
    std::vector<Sentence> sentences;
    std::vector<double> vertical; // [L, H, N] float64, NaN where undefined
    std::vector<double> kurtosis; // [L, H] float64, NaN where undefined
    const double* verticalOf(int l, int h) const { return vertical.data() + (static_cast<std::size_t>(l) * heads + h) * sentences.size(); }
};
TraceVerticals computeVerticals(const Trace& trace, std::vector<Sentence> sentences);

struct ReceiverHead {
    int layer = 0;
    int head = 0;
    double meanKurtosis = 0.0;
};
// The `top` heads with the highest kurtosis averaged over the traces (NaN values left out of the
// mean; a head with no finite value is never chosen); layer 0 excluded. Ties: lower layer, then
// lower head first. All traces must share L and H (ArgumentError otherwise).
std::vector<ReceiverHead> selectReceiverHeads(const std::vector<TraceVerticals>& traces, int top = 20);

// Receiver score of each sentence: mean vertical score over the receiver heads (NaN when none
// of them defines one, i.e. the last 4 sentences).
std::vector<double> receiverScores(const TraceVerticals& trace, const std::vector<ReceiverHead>& heads);

// Per-head kurtosis [L, H] as float32 for TraceInfo::headStats["kurtosis"].
std::vector<float> kurtosisHeadStat(const TraceVerticals& trace);

// A trace with the layers of `base` and a copy of its info where headStats[name] = values [L, H];
// write it with writeTraceFile (also over base's own path: the writer renames a temporary).
std::shared_ptr<const Trace> withHeadStat(std::shared_ptr<const Trace> base, const std::string& name, std::vector<float> values);

// One entry of Thought Anchors' chunks_labeled.json.
struct ChunkLabel {
    std::string chunk;
    int index = 0;
    std::vector<std::string> tags; // function_tags, first tag first
};
// Reads a chunks_labeled.json list; throws FormatError naming the path and the entry.
std::vector<ChunkLabel> readChunkLabels(const std::string& path);
std::vector<ChunkLabel> parseChunkLabels(const nlohmann::json& j, const std::string& what);

// The category names of spec 6.8.
const std::vector<std::string>& sentenceCategories();

// Assigns label tags to sentences: by chunk_idx when the chunk text equals the sentence text,
// else by the next label with the same text, in order. Returns the first tag per sentence
// ("unknown" when none matched) and fills `unmatched` with the number of sentences left unknown.
std::vector<std::string> assignLabels(const std::vector<Sentence>& sentences, const std::vector<ChunkLabel>& labels,
                                      std::size_t& unmatched);

// Sentences of a text located from imported label chunks, in chunk_idx order (for a text
// without <think>): each chunk is searched from the end of the previous one; chunks not found
// are left out. Character spans in code points; token spans are not filled.
std::vector<Sentence> sentencesFromChunks(std::string_view text, const std::vector<ChunkLabel>& labels);

// --- The pipeline ---------------------------------------------------------------------------

// One trace to analyse, with its labels (none: the rule-based labeller names the categories).
struct AnchorSource {
    std::shared_ptr<const Trace> trace;
    std::optional<std::vector<ChunkLabel>> labels;
    std::string labelSource; // shown as where the categories come from (e.g. the labels' path)
    std::string name;        // prefixes error messages about this trace ("" = none)
};

struct AnchorOptions {
    int topHeads = 20;
    bool wholeText = false; // split the whole text, not only the chain of thought
    // Appended to the error for a text without <think> (when no labels locate its sentences).
    std::string noChainHint = "load its sentence labels (chunks_labeled.json) to locate the sentences";
};

// Everything about one trace's thought anchors.
struct TraceAnchors {
    std::shared_ptr<const Trace> trace;
    TraceVerticals verticals;            // sentences with spans, vertical [L, H, N], kurtosis [L, H]
    std::vector<std::string> categories; // [N] first tag per sentence
    std::string categorySource;          // kRuleBasedLabellerName or AnchorSource::labelSource
    std::size_t unlabelled = 0;          // sentences no imported label matched
    bool sentencesFromLabels = false;    // no <think>: sentences located from the labels' chunks
    std::vector<double> receiver;        // [N] float64, NaN for the last 4 sentences
    std::vector<std::size_t> ranking;    // sentences with a finite score, best first (stable)
    const std::vector<Sentence>& sentences() const { return verticals.sentences; }
};

struct AnchorsAnalysis {
    std::vector<ReceiverHead> heads; // chosen over all traces, highest mean kurtosis first
    std::vector<TraceAnchors> traces;
};

// Sentences: the chain of thought's (options.wholeText: the whole text's); a text without
// <think> takes its sentences from the labels' chunks when labels are given. Throws
// ArgumentError (prefixed by the source's name) for no chain of thought, no located sentence,
// or too few sentences for a vertical score; and for traces of different shapes.
AnchorsAnalysis analyseThoughtAnchors(const std::vector<AnchorSource>& sources, const AnchorOptions& options = {});

} // namespace sparsetrace::core
