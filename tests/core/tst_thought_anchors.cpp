// Thought anchors from block masks (spec 6.4-6.8): exact sentence attention on block-aligned
// sentences, vertical scores, Fisher kurtosis, receiver heads (layer 0 excluded) and a planted
// anchor that every later sentence attends to coming out first; labels import; kurtosis stored
// back into a trace file.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cot_synthetic.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/sentence_labeller.h"
#include "sparsetrace/core/thought_anchors.h"
#include "sparsetrace/core/trace_file.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <optional>

using namespace sparsetrace;
using namespace sparsetrace::core;

class TstThoughtAnchors : public QObject {
    Q_OBJECT

    static std::vector<Sentence> sentencesOf(const Trace& t)
    {
        auto s = segmentChainOfThought(t.info().text);
        mapSentencesToTokens(s, t.info().tokens);
        return s;
    }

private slots:
    void syntheticSentencesAlignWithBlocks()
    {
        auto trace = makeSyntheticTrace(test::cotSpec(12, 2, 2));
        const auto s = sentencesOf(*trace);
        QCOMPARE(s.size(), std::size_t(12));
        for (std::size_t i = 0; i < s.size(); ++i) {
            QCOMPARE(s[i].tokens.start, static_cast<std::int64_t>(i + 1) * test::kCotBlock);
            QCOMPARE(s[i].tokens.end, static_cast<std::int64_t>(i + 2) * test::kCotBlock);
        }
    }

    // With one sentence per block, A[i][j] is the mass row i+1 keeps on block j+1.
    void sentenceAttentionIsExactOnAlignedBlocks()
    {
        auto trace = makeSyntheticTrace(test::cotSpec(12, 2, 3));
        const auto s = sentencesOf(*trace);
        const std::size_t n = s.size();
        for (int l = 0; l < 2; ++l) {
            for (int h = 0; h < 3; ++h) {
                const auto a = sentenceAttention(*trace, l, h, s);
                const LayerView v = trace->layer(l);
                for (std::size_t i = 0; i < n; ++i) {
                    std::vector<double> expected(n, 0.0);
                    const auto idx = v.indexRow(h, static_cast<std::int64_t>(i + 1));
                    const auto mass = v.massRow(h, static_cast<std::int64_t>(i + 1));
                    for (std::size_t k = 0; k < idx.size(); ++k)
                        if (idx[k] >= 1) expected[static_cast<std::size_t>(idx[k] - 1)] += mass[k];
                    for (std::size_t j = 0; j < n; ++j) QVERIFY(std::abs(a[i * n + j] - expected[j]) <= 1e-6);
                }
            }
        }
    }

    void verticalScoresUseDistantSentencesOnly()
    {
        const std::size_t n = 6;
        std::vector<double> a(n * n, 0.0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j <= i; ++j) a[i * n + j] = static_cast<double>(10 * i + j);
        const auto v = verticalScores(a, n);
        QCOMPARE(v[0], (40.0 + 50.0) / 2.0);
        QCOMPARE(v[1], 51.0);
        for (std::size_t j = 2; j < n; ++j) QVERIFY(std::isnan(v[j]));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, verticalScores(a, 5));
    }

    void kurtosisIsFisherBiased()
    {
        QCOMPARE(excessKurtosis({1, 2, 3, 4, 5}), -1.3);
        const double nan = std::nan("");
        QCOMPARE(excessKurtosis({1, nan, 2, 3, 4, 5, nan}), -1.3);
        // One spike among n = 10 zeros: kurtosis (1 - 3p + 3p^2) / (p(1-p)) with p = 1/n, i.e. 73/9.
        std::vector<double> spike(10, 0.0);
        spike[3] = 1.0;
        QVERIFY(std::abs(excessKurtosis(spike) - (10.0 * 10.0 - 3.0 * 10.0 + 3.0) / 9.0 + 3.0) < 1e-12);
        QVERIFY(std::isnan(excessKurtosis({2, 2, 2})));
        QVERIFY(std::isnan(excessKurtosis({1})));
    }

    // The spec's planted answer: a sentence every later sentence attends to comes out first,
    // on heads chosen by kurtosis, and a layer-0 head is never chosen.
    void plantedAnchorComesOutFirst()
    {
        const int n = 20;
        auto spec = test::cotSpec(n, 3, 3);
        test::plantAnchor(spec, 1, 0, 3, n, 0.8f);
        test::plantAnchor(spec, 2, 1, 3, n, 0.8f);
        test::plantAnchor(spec, 0, 2, 7, n, 0.95f); // a decoy in layer 0
        auto trace = makeSyntheticTrace(spec);
        const TraceVerticals v = computeVerticals(*trace, sentencesOf(*trace));
        const auto heads = selectReceiverHeads({v}, 2);
        QCOMPARE(heads.size(), std::size_t(2));
        QCOMPARE(heads[0].layer + heads[1].layer, 3); // (1, 0) and (2, 1) in some order
        for (const auto& h : heads) QVERIFY((h.layer == 1 && h.head == 0) || (h.layer == 2 && h.head == 1));
        QVERIFY(v.kurtosis[2] > heads[1].meanKurtosis); // the decoy is sharper, yet layer 0 is excluded
        const auto scores = receiverScores(v, heads);
        std::size_t best = 0;
        for (std::size_t j = 0; j < scores.size(); ++j)
            if (std::isfinite(scores[j]) && scores[j] > scores[best]) best = j;
        QCOMPARE(best, std::size_t(3));
        QVERIFY(scores[3] > 0.7);
        for (std::size_t j = n - 4; j < static_cast<std::size_t>(n); ++j) QVERIFY(std::isnan(scores[j]));
    }

    void pipelineRanksThePlantedAnchorInEveryTrace()
    {
        // The pipeline the CLI and the explorer share: two traces, the heads chosen over both,
        // the rule-based labeller for one and imported labels for the other.
        const int n = 16;
        auto spec = test::cotSpec(n, 3, 2);
        test::plantAnchor(spec, 1, 0, 2, n, 0.8f);
        std::shared_ptr<const Trace> first = makeSyntheticTrace(spec);
        spec.seed = 7;
        std::shared_ptr<const Trace> second = makeSyntheticTrace(spec);
        std::vector<ChunkLabel> labels;
        for (int s = 0; s < n; ++s) labels.push_back({"S" + std::to_string(s) + " w1 w2 w3 w4 w5 end.", s, {"fact_retrieval"}});
        AnchorOptions options;
        options.topHeads = 2;
        const AnchorsAnalysis a = analyseThoughtAnchors({{first, std::nullopt, "", "one"}, {second, labels, "labels.json", "two"}}, options);
        QCOMPARE(a.heads.size(), std::size_t(2));
        QCOMPARE(a.traces.size(), std::size_t(2));
        for (const TraceAnchors& t : a.traces) {
            QCOMPARE(t.sentences().size(), std::size_t(n));
            QVERIFY(!t.ranking.empty());
            QCOMPARE(t.ranking.front(), std::size_t(2));
            for (std::size_t r = 1; r < t.ranking.size(); ++r) QVERIFY(t.receiver[t.ranking[r - 1]] >= t.receiver[t.ranking[r]]);
            QCOMPARE(t.ranking.size(), std::size_t(n - kVerticalMinDistance));
        }
        QCOMPARE(a.traces[0].categorySource, std::string(kRuleBasedLabellerName));
        QCOMPARE(a.traces[1].categorySource, std::string("labels.json"));
        QCOMPARE(a.traces[1].unlabelled, std::size_t(0));
        QCOMPARE(a.traces[1].categories.front(), std::string("fact_retrieval"));
        // A text without <think>: the caller's hint, prefixed by the source's name; labels locate
        // the sentences instead.
        auto plain = test::cotSpec(n, 3, 2);
        plain.tokenTexts[7] = " ";
        std::shared_ptr<const Trace> noThink = makeSyntheticTrace(plain);
        options.noChainHint = "use --whole-text";
        try {
            analyseThoughtAnchors({{noThink, std::nullopt, "", "plain.sptrace"}}, options);
            QFAIL("no error for a text without <think>");
        } catch (const ArgumentError& e) {
            QVERIFY2(std::string(e.what()).rfind("plain.sptrace: ", 0) == 0, e.what());
            QVERIFY2(std::string(e.what()).find("use --whole-text") != std::string::npos, e.what());
        }
        const AnchorsAnalysis located = analyseThoughtAnchors({{noThink, labels, "labels.json", {}}}, options);
        QVERIFY(located.traces[0].sentencesFromLabels);
        QCOMPARE(located.traces[0].sentences().size(), std::size_t(n));
        options.topHeads = 0;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, analyseThoughtAnchors({{first, std::nullopt, "", {}}}, options));
    }

    void receiverHeadsAverageKurtosisOverTraces()
    {
        TraceVerticals a, b;
        a.layers = b.layers = 3;
        a.heads = b.heads = 2;
        a.kurtosis = {100, 100, 1, 5, 2, std::nan("")};
        b.kurtosis = {100, 100, 9, 1, 2, 4};
        const auto heads = selectReceiverHeads({a, b}, 3);
        QCOMPARE(heads.size(), std::size_t(3));
        QCOMPARE(heads[0].layer, 1);
        QCOMPARE(heads[0].head, 0);
        QCOMPARE(heads[0].meanKurtosis, 5.0);
        QCOMPARE(heads[1].layer, 2); // (2,1): only b defines it (a has NaN), so its mean is 4
        QCOMPARE(heads[1].head, 1);
        QCOMPARE(heads[2].layer, 1);
        QCOMPARE(heads[2].head, 1);
        TraceVerticals c = a;
        c.heads = 3;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, selectReceiverHeads({a, c}, 3));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, selectReceiverHeads({}, 3));
    }

    void kurtosisStoredInTheTraceFile()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("cot.sptrace").toStdString();
        auto trace = makeSyntheticTrace(test::cotSpec(10, 2, 2));
        writeTraceFile(*trace, path);
        auto file = TraceFile::open(path);
        const TraceVerticals v = computeVerticals(*file, sentencesOf(*file));
        writeTraceFile(*withHeadStat(file, "kurtosis", kurtosisHeadStat(v)), path);
        auto again = TraceFile::open(path);
        const auto& stats = again->info().headStats;
        QVERIFY(stats.count("kurtosis"));
        QVERIFY(stats.count("sparsity")); // earlier statistics survive
        const auto& k = stats.at("kurtosis");
        QCOMPARE(k.size(), std::size_t(4));
        for (std::size_t i = 0; i < k.size(); ++i) {
            if (std::isnan(v.kurtosis[i])) QVERIFY(std::isnan(k[i]));
            else QCOMPARE(k[i], static_cast<float>(v.kurtosis[i]));
        }
        const auto a = trace->layer(1), b = again->layer(1);
        QVERIFY(std::equal(a.mass.begin(), a.mass.end(), b.mass.begin(), b.mass.end()));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, withHeadStat(file, "kurtosis", {1.0f}));
    }

    void labelsImport()
    {
        const auto labels = parseChunkLabels(nlohmann::json::parse(R"([
            {"chunk": "Second one here.", "chunk_idx": 1, "function_tags": ["active_computation"], "accuracy": 0.5},
            {"chunk": "First sentence here.", "chunk_idx": 0, "function_tags": ["problem_setup", "plan_generation"]},
            {"chunk": "Third, not in the text.", "chunk_idx": 2, "function_tags": []}])"), "test");
        QCOMPARE(labels.size(), std::size_t(3));
        QCOMPARE(labels[0].chunk, std::string("First sentence here."));
        QCOMPARE(labels[0].tags.size(), std::size_t(2));
        const auto s = splitSentences("First sentence here. Second one here. Something else entirely.");
        std::size_t unmatched = 99;
        const auto tags = assignLabels(s, labels, unmatched);
        QCOMPARE(tags, (std::vector<std::string>{"problem_setup", "active_computation", "unknown"}));
        QCOMPARE(unmatched, std::size_t(1));

        QVERIFY_THROWS_EXCEPTION(FormatError, parseChunkLabels(nlohmann::json::object(), "x"));
        QVERIFY_THROWS_EXCEPTION(FormatError, parseChunkLabels(nlohmann::json::parse(R"([{"chunk_idx": 0}])"), "x"));
        QVERIFY_THROWS_EXCEPTION(FormatError, parseChunkLabels(nlohmann::json::parse(R"([{"chunk": "a", "function_tags": [1]}])"), "x"));
        QVERIFY_THROWS_EXCEPTION(IoError, readChunkLabels("/nonexistent/chunks_labeled.json"));
    }
};

QTEST_GUILESS_MAIN(TstThoughtAnchors)
#include "tst_thought_anchors.moc"
