// Sentence-level attention, vertical scores, kurtosis and receiver heads from block masks
// (spec section 6), the chunks_labeled.json import, and the pipeline over them.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/thought_anchors.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"
#include "sparsetrace/core/sentence_labeller.h"
#include "sparsetrace/core/utf8.h"

#include "format/json_checked.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace sparsetrace::core {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Query row of token position q (a prompt query block, or a generated token's own row); -1 past
// the recorded rows.
std::int64_t rowOfToken(const TraceInfo& info, std::int64_t q)
{
    if (q < info.promptTokens) return q / info.params.bq;
    const std::int64_t g = q - info.promptTokens;
    return g < info.generatedTokens ? info.queryBlocks() + g : -1;
}

void checkSentences(const TraceInfo& info, const std::vector<Sentence>& sentences)
{
    const std::int64_t total = info.promptTokens + info.generatedTokens;
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        const TokenSpan s = sentences[i].tokens;
        if (s.start < 0 || s.end > total || s.start > s.end)
            throw ArgumentError("sentence " + std::to_string(i) + ": token span [" + std::to_string(s.start) + ", " +
                                std::to_string(s.end) + ") lies outside the trace's " + std::to_string(total) + " tokens");
    }
}
} // namespace

std::vector<double> sentenceAttention(const Trace& trace, int layer, int head, const std::vector<Sentence>& sentences)
{
    const TraceInfo& info = trace.info();
    if (layer < 0 || layer >= trace.layers()) throw ArgumentError("layer " + std::to_string(layer) + " out of range");
    if (head < 0 || head >= trace.heads()) throw ArgumentError("head " + std::to_string(head) + " out of range");
    checkSentences(info, sentences);
    const std::size_t n = sentences.size();
    std::vector<double> a(n * n, 0.0); // [N, N] float64
    if (n == 0) return a;
    const std::int64_t total = info.promptTokens + info.generatedTokens;
    const LayerView view = trace.layer(layer);
    const int bk = info.params.bk;

    // Key side: the sentence owning each token (-1 outside every sentence). [T+G] int32
    std::vector<std::int32_t> owner(static_cast<std::size_t>(total), -1);
    for (std::size_t i = 0; i < n; ++i)
        for (std::int64_t t = sentences[i].tokens.start; t < sentences[i].tokens.end; ++t)
            if (owner[static_cast<std::size_t>(t)] < 0) owner[static_cast<std::size_t>(t)] = static_cast<std::int32_t>(i);

    // Query side: for every row, how many query tokens of each sentence it holds.
    std::vector<std::vector<std::pair<std::int32_t, std::int32_t>>> rowSentences(static_cast<std::size_t>(info.rows()));
    for (std::size_t i = 0; i < n; ++i) {
        for (std::int64_t q = sentences[i].tokens.start; q < sentences[i].tokens.end; ++q) {
            const std::int64_t r = rowOfToken(info, q);
            if (r < 0) continue;
            auto& list = rowSentences[static_cast<std::size_t>(r)];
            if (!list.empty() && list.back().first == static_cast<std::int32_t>(i)) ++list.back().second;
            else list.push_back({static_cast<std::int32_t>(i), 1});
        }
    }

    std::vector<double> dist(n, 0.0); // [N] attention of one row per key sentence
    std::vector<std::int32_t> touched;
    for (std::int64_t r = 0; r < info.rows(); ++r) {
        const auto& queries = rowSentences[static_cast<std::size_t>(r)];
        if (queries.empty()) continue;
        const std::int64_t lastQuery = info.rowQueries(r)[1];
        const auto idx = view.indexRow(head, r);
        const auto mass = view.massRow(head, r);
        for (std::size_t k = 0; k < idx.size(); ++k) {
            if (idx[k] < 0 || mass[k] == 0.0f) continue;
            const std::int64_t ks = static_cast<std::int64_t>(idx[k]) * bk;
            const std::int64_t ke = std::min({ks + bk, lastQuery + 1, total});
            if (ke <= ks) continue;
            const double perKey = static_cast<double>(mass[k]) / static_cast<double>(ke - ks);
            for (std::int64_t t = ks; t < ke; ++t) {
                const std::int32_t j = owner[static_cast<std::size_t>(t)];
                if (j < 0) continue;
                if (dist[static_cast<std::size_t>(j)] == 0.0) touched.push_back(j);
                dist[static_cast<std::size_t>(j)] += perKey;
            }
        }
        for (auto [i, count] : queries) {
            const double w = static_cast<double>(count) /
                             static_cast<double>(sentences[static_cast<std::size_t>(i)].tokens.end -
                                                 sentences[static_cast<std::size_t>(i)].tokens.start);
            for (std::int32_t j : touched)
                a[static_cast<std::size_t>(i) * n + static_cast<std::size_t>(j)] += w * dist[static_cast<std::size_t>(j)];
        }
        for (std::int32_t j : touched) dist[static_cast<std::size_t>(j)] = 0.0;
        touched.clear();
    }
    return a;
}

std::vector<double> verticalScores(const std::vector<double>& attention, std::size_t n)
{
    if (attention.size() != n * n)
        throw ArgumentError("vertical scores: the attention matrix holds " + std::to_string(attention.size()) +
                            " values, expected " + std::to_string(n * n));
    std::vector<double> v(n, kNaN);
    for (std::size_t j = 0; j + kVerticalMinDistance < n; ++j) {
        double sum = 0;
        for (std::size_t i = j + kVerticalMinDistance; i < n; ++i) sum += attention[i * n + j];
        v[j] = sum / static_cast<double>(n - j - kVerticalMinDistance);
    }
    return v;
}

double excessKurtosis(const std::vector<double>& values)
{
    double sum = 0;
    std::size_t count = 0;
    for (double x : values)
        if (std::isfinite(x)) {
            sum += x;
            ++count;
        }
    if (count < 2) return kNaN;
    const double mean = sum / static_cast<double>(count);
    double m2 = 0, m4 = 0;
    for (double x : values) {
        if (!std::isfinite(x)) continue;
        const double d = (x - mean) * (x - mean);
        m2 += d;
        m4 += d * d;
    }
    m2 /= static_cast<double>(count);
    m4 /= static_cast<double>(count);
    // A spread of rounding size only is no distribution to measure.
    if (!(m2 > 1e-300) || m2 <= 1e-24 * mean * mean) return kNaN;
    return m4 / (m2 * m2) - 3.0;
}

TraceVerticals computeVerticals(const Trace& trace, std::vector<Sentence> sentences)
{
    TraceVerticals out;
    out.layers = trace.layers();
    out.heads = trace.heads();
    out.sentences = std::move(sentences);
    const std::size_t n = out.sentences.size();
    out.vertical.assign(static_cast<std::size_t>(out.layers) * out.heads * n, kNaN);
    out.kurtosis.assign(static_cast<std::size_t>(out.layers) * out.heads, kNaN);
    for (int l = 0; l < out.layers; ++l) {
        for (int h = 0; h < out.heads; ++h) {
            const std::vector<double> v = verticalScores(sentenceAttention(trace, l, h, out.sentences), n);
            std::copy(v.begin(), v.end(), out.vertical.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(l) * out.heads + h) * n));
            out.kurtosis[static_cast<std::size_t>(l) * out.heads + h] = excessKurtosis(v);
        }
    }
    return out;
}

std::vector<ReceiverHead> selectReceiverHeads(const std::vector<TraceVerticals>& traces, int top)
{
    if (traces.empty()) throw ArgumentError("receiver heads: no trace given");
    if (top < 1) throw ArgumentError("receiver heads: the number of heads must be at least 1, got " + std::to_string(top));
    const int L = traces.front().layers, H = traces.front().heads;
    for (const auto& t : traces)
        if (t.layers != L || t.heads != H)
            throw ArgumentError("receiver heads: traces of different models (" + std::to_string(L) + "x" + std::to_string(H) +
                                " vs " + std::to_string(t.layers) + "x" + std::to_string(t.heads) + " layers x heads)");
    std::vector<ReceiverHead> heads;
    for (int l = 1; l < L; ++l) {
        for (int h = 0; h < H; ++h) {
            double sum = 0;
            int count = 0;
            for (const auto& t : traces) {
                const double k = t.kurtosis[static_cast<std::size_t>(l) * H + h];
                if (std::isfinite(k)) {
                    sum += k;
                    ++count;
                }
            }
            if (count > 0) heads.push_back({l, h, sum / count});
        }
    }
    std::stable_sort(heads.begin(), heads.end(),
                     [](const ReceiverHead& a, const ReceiverHead& b) { return a.meanKurtosis > b.meanKurtosis; });
    if (static_cast<int>(heads.size()) > top) heads.resize(static_cast<std::size_t>(top));
    return heads;
}

std::vector<double> receiverScores(const TraceVerticals& trace, const std::vector<ReceiverHead>& heads)
{
    const std::size_t n = trace.sentences.size();
    std::vector<double> score(n, kNaN);
    for (std::size_t j = 0; j < n; ++j) {
        double sum = 0;
        int count = 0;
        for (const auto& rh : heads) {
            if (rh.layer < 0 || rh.layer >= trace.layers || rh.head < 0 || rh.head >= trace.heads)
                throw ArgumentError("receiver head (" + std::to_string(rh.layer) + ", " + std::to_string(rh.head) +
                                    ") does not exist in this trace");
            const double v = trace.verticalOf(rh.layer, rh.head)[j];
            if (std::isfinite(v)) {
                sum += v;
                ++count;
            }
        }
        if (count > 0) score[j] = sum / count;
    }
    return score;
}

std::vector<float> kurtosisHeadStat(const TraceVerticals& trace)
{
    std::vector<float> out(trace.kurtosis.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(trace.kurtosis[i]);
    return out;
}

namespace {
// A trace that reads its layers from another and carries its own (edited) info.
class HeadStatTrace final : public Trace {
public:
    HeadStatTrace(std::shared_ptr<const Trace> base, const std::string& name, std::vector<float> values)
        : m_base(std::move(base))
    {
        m_info = m_base->info();
        m_info.headStats[name] = std::move(values);
    }
    LayerView layer(int l) const override { return m_base->layer(l); }

private:
    std::shared_ptr<const Trace> m_base;
};
} // namespace

std::shared_ptr<const Trace> withHeadStat(std::shared_ptr<const Trace> base, const std::string& name, std::vector<float> values)
{
    if (!base) throw ArgumentError("head statistic: no trace");
    const std::size_t expected = static_cast<std::size_t>(base->layers()) * base->heads();
    if (values.size() != expected)
        throw ArgumentError("head statistic \"" + name + "\" holds " + std::to_string(values.size()) + " values, expected " +
                            std::to_string(expected) + " (layers x heads)");
    if (name.empty()) throw ArgumentError("head statistic: empty name");
    return std::make_shared<HeadStatTrace>(std::move(base), name, std::move(values));
}

std::vector<ChunkLabel> parseChunkLabels(const nlohmann::json& j, const std::string& what)
{
    if (!j.is_array()) throw FormatError(what + ": expected a list of chunks");
    std::vector<ChunkLabel> out;
    out.reserve(j.size());
    for (std::size_t k = 0; k < j.size(); ++k) {
        const auto& e = j[k];
        const std::string where = what + ": chunk " + std::to_string(k);
        if (!e.is_object()) throw FormatError(where + " is not an object");
        ChunkLabel c;
        if (!e.contains("chunk") || !e["chunk"].is_string()) throw FormatError(where + ": \"chunk\" must be a string");
        c.chunk = e["chunk"].get<std::string>();
        c.index = static_cast<int>(k);
        if (e.contains("chunk_idx")) {
            const auto index = jsonAs<int>(e["chunk_idx"]);
            if (!index) throw FormatError(where + ": \"chunk_idx\" must be an integer");
            c.index = *index;
        }
        if (e.contains("function_tags") && !e["function_tags"].is_null()) {
            if (!e["function_tags"].is_array()) throw FormatError(where + ": \"function_tags\" must be a list");
            for (const auto& t : e["function_tags"]) {
                if (!t.is_string()) throw FormatError(where + ": \"function_tags\" must hold strings");
                c.tags.push_back(t.get<std::string>());
            }
        }
        out.push_back(std::move(c));
    }
    std::stable_sort(out.begin(), out.end(), [](const ChunkLabel& a, const ChunkLabel& b) { return a.index < b.index; });
    return out;
}

std::vector<ChunkLabel> readChunkLabels(const std::string& path)
{
    return parseChunkLabels(readJsonFile(path, "the labels file"), path);
}

const std::vector<std::string>& sentenceCategories()
{
    static const std::vector<std::string> names = {"problem_setup",        "plan_generation",        "fact_retrieval",
                                                   "active_computation",   "result_consolidation",   "uncertainty_management",
                                                   "final_answer_emission", "self_checking",         "unknown"};
    return names;
}

std::vector<std::string> assignLabels(const std::vector<Sentence>& sentences, const std::vector<ChunkLabel>& labels,
                                      std::size_t& unmatched)
{
    std::vector<std::string> out(sentences.size(), "unknown");
    unmatched = 0;
    std::size_t cursor = 0;
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        std::size_t found = labels.size();
        if (i < labels.size() && i >= cursor && labels[i].chunk == sentences[i].text) found = i;
        for (std::size_t k = cursor; found == labels.size() && k < labels.size(); ++k)
            if (labels[k].chunk == sentences[i].text) found = k;
        if (found == labels.size()) {
            ++unmatched;
            continue;
        }
        cursor = found + 1;
        if (!labels[found].tags.empty()) out[i] = labels[found].tags.front();
    }
    return out;
}

std::vector<Sentence> sentencesFromChunks(std::string_view text, const std::vector<ChunkLabel>& labels)
{
    std::vector<const ChunkLabel*> ordered;
    for (const auto& l : labels) ordered.push_back(&l);
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) { return a->index < b->index; });
    std::vector<Sentence> out;
    std::size_t byte = 0, counted = 0;
    std::int64_t points = 0; // code points of text[0, counted)
    for (const auto* l : ordered) {
        if (l->chunk.empty()) continue;
        const std::size_t at = text.find(l->chunk, byte);
        if (at == std::string_view::npos) continue;
        points += static_cast<std::int64_t>(codePointCount(text.substr(counted, at - counted)));
        const auto length = static_cast<std::int64_t>(codePointCount(l->chunk));
        Sentence s;
        s.text = l->chunk;
        s.chars = {points, points + length};
        out.push_back(std::move(s));
        counted = at;
        byte = at + l->chunk.size();
    }
    return out;
}

AnchorsAnalysis analyseThoughtAnchors(const std::vector<AnchorSource>& sources, const AnchorOptions& o)
{
    if (o.topHeads < 1) throw ArgumentError("the number of receiver heads (--top-heads) must be at least 1");
    AnchorsAnalysis out;
    std::vector<TraceVerticals> verticals;
    for (const AnchorSource& src : sources) {
        const std::string prefix = src.name.empty() ? std::string() : src.name + ": ";
        if (!src.trace) throw ArgumentError(prefix + "no trace is open");
        const TraceInfo& info = src.trace->info();
        TraceAnchors a;
        a.trace = src.trace;
        std::vector<Sentence> sentences;
        if (o.wholeText) {
            sentences = splitSentences(info.text);
        } else {
            try {
                sentences = segmentChainOfThought(info.text);
            } catch (const ArgumentError&) {
                if (!src.labels)
                    throw ArgumentError(prefix + "the trace's text holds no <think>, so there is no chain of thought to split; " +
                                        o.noChainHint);
                sentences = sentencesFromChunks(info.text, *src.labels);
                a.sentencesFromLabels = true;
                if (sentences.empty()) throw ArgumentError(prefix + "none of the labelled sentences occurs in the trace's text");
            }
        }
        mapSentencesToTokens(sentences, info.tokens);
        if (sentences.size() <= static_cast<std::size_t>(kVerticalMinDistance))
            throw ArgumentError(prefix + (o.wholeText ? "the text has " : "the chain of thought has ") + std::to_string(sentences.size()) +
                                " sentences; vertical scores need at least " + std::to_string(kVerticalMinDistance + 1));
        verticals.push_back(computeVerticals(*src.trace, std::move(sentences)));
        out.traces.push_back(std::move(a));
    }
    out.heads = selectReceiverHeads(verticals, o.topHeads);
    for (std::size_t t = 0; t < sources.size(); ++t) {
        TraceAnchors& a = out.traces[t];
        a.verticals = std::move(verticals[t]);
        if (sources[t].labels) {
            a.categories = assignLabels(a.sentences(), *sources[t].labels, a.unlabelled);
            a.categorySource = sources[t].labelSource;
        } else {
            std::vector<std::string> texts;
            for (const auto& s : a.sentences()) texts.push_back(s.text);
            a.categories = labelSentencesRuleBased(texts);
            a.categorySource = kRuleBasedLabellerName;
        }
        a.receiver = receiverScores(a.verticals, out.heads);
        for (std::size_t i = 0; i < a.receiver.size(); ++i)
            if (std::isfinite(a.receiver[i])) a.ranking.push_back(i);
        std::stable_sort(a.ranking.begin(), a.ranking.end(), [&](std::size_t x, std::size_t y) { return a.receiver[x] > a.receiver[y]; });
    }
    return out;
}

} // namespace sparsetrace::core
