// .sptrace: bit-exact round trip, the committed sample and broken fixtures, lazy layer
// validation, atomic writes, sparsity and storage definitions.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/trace_file.h"

#include "shared_assets.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {
std::string readFile(const std::string& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

SyntheticTraceSpec smallSpec()
{
    SyntheticTraceSpec spec;
    spec.layers = 2;
    spec.heads = 3;
    spec.kvHeads = 1;
    spec.promptTokens = 77;
    spec.generatedTokens = 2;
    spec.params.bq = 4;
    spec.params.bk = 4;
    spec.params.k = 2;
    spec.params.sinks = 4;
    spec.params.window = 8;
    spec.withFidelity = true;
    spec.planted = {{1, 1, 10, 3, 0.75f}};
    return spec;
}

void compareTraces(const Trace& a, const Trace& b)
{
    const TraceInfo& x = a.info();
    const TraceInfo& y = b.info();
    QCOMPARE(x.provenance.toJson(), y.provenance.toJson());
    QCOMPARE(x.model.toJson(), y.model.toJson());
    QCOMPARE(x.params.toJson(), y.params.toJson());
    QCOMPARE(x.text, y.text);
    QCOMPARE(x.tokens.ids, y.tokens.ids);
    QCOMPARE(x.tokens.offsets, y.tokens.offsets);
    QCOMPARE(x.tokens.strings, y.tokens.strings);
    QCOMPARE(x.promptTokens, y.promptTokens);
    QCOMPARE(x.generatedTokens, y.generatedTokens);
    QCOMPARE(x.headStats, y.headStats);
    QCOMPARE(x.annotations, y.annotations);
    QCOMPARE(x.behaviour.has_value(), y.behaviour.has_value());
    if (x.behaviour) QCOMPARE(x.behaviour->toJson(), y.behaviour->toJson());
    for (int l = 0; l < a.layers(); ++l) {
        LayerView u = a.layer(l), v = b.layer(l);
        QCOMPARE(u.dense, v.dense);
        QVERIFY(std::equal(u.index.begin(), u.index.end(), v.index.begin(), v.index.end()));
        QVERIFY(std::memcmp(u.mass.data(), v.mass.data(), u.mass.size_bytes()) == 0); // bit-exact
        QCOMPARE(u.mass.size(), v.mass.size());
        QVERIFY(std::equal(u.captured.begin(), u.captured.end(), v.captured.begin(), v.captured.end()));
        QVERIFY(std::equal(u.oracleIndex.begin(), u.oracleIndex.end(), v.oracleIndex.begin(), v.oracleIndex.end()));
    }
}
} // namespace

class TstTraceFile : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string path(const char* name) const { return (m_dir.path() + "/" + name).toStdString(); }

private slots:
    void roundTripIsBitExact()
    {
        auto trace = makeSyntheticTrace(smallSpec());
        trace->mutableInfo().text += ""; // text with multi-byte characters below
        BehaviourCheck b;
        b.checkTokens = 2;
        b.denseTokens = {5, 6};
        b.sparseTokens = {5, 7};
        b.klFirst = 0.125;
        b.top1Match = true;
        b.preserved = false;
        trace->mutableInfo().behaviour = b;
        trace->mutableInfo().kSearch = {{4, true, 0.5}, {2, false, 0.75}};
        trace->mutableInfo().annotations = {{"needle", {{"token_start", 10}, {"token_end", 20}}}};
        const std::string p = path("rt.sptrace");
        writeTraceFile(*trace, p);
        auto back = TraceFile::open(p);
        compareTraces(*trace, *back);
        QCOMPARE(back->info().kSearch.size(), std::size_t(2));
        QCOMPARE(back->info().kSearch[1].k, 2);
        // Writing what was read gives the same bytes.
        const std::string p2 = path("rt2.sptrace");
        writeTraceFile(*back, p2);
        QCOMPARE(readFile(p2), readFile(p));
    }

    void unicodeTextAndOffsets()
    {
        auto trace = makeSyntheticTrace(smallSpec());
        TraceInfo& info = trace->mutableInfo();
        // Replace the text by one with multi-byte characters; offsets count code points.
        info.text.clear();
        std::int32_t cp = 0;
        for (std::size_t t = 0; t < info.tokens.size(); ++t) {
            std::string w = t % 2 ? "\xC3\xA9t\xC3\xA9" : "\xF0\x9F\x99\x82"; // "été", "🙂"
            std::int32_t n = t % 2 ? 3 : 1;
            info.text += w;
            info.tokens.offsets[t] = {cp, cp + n};
            cp += n;
        }
        const std::string p = path("unicode.sptrace");
        writeTraceFile(*trace, p);
        auto back = TraceFile::open(p);
        QCOMPARE(back->info().text, info.text);
        QCOMPARE(back->info().tokens.offsets.back()[1], cp);
    }

    void committedSampleOpens()
    {
        const auto file = sparsetrace::test::fixturesDir() / "traces" / "sample-small.sptrace";
        auto trace = TraceFile::open(file.string());
        const TraceInfo& info = trace->info();
        QCOMPARE(info.model.layers, 3);
        QCOMPARE(info.model.heads, 4);
        QCOMPARE(info.promptTokens, std::int64_t(200));
        QCOMPARE(info.generatedTokens, std::int64_t(2));
        QCOMPARE(info.queryBlocks(), std::int64_t(25));
        QCOMPARE(info.rows(), std::int64_t(27));
        // The planted block: layer 1, head 2, row 20 holds key block 5 with mass 0.9.
        LayerView v = trace->layer(1);
        auto idx = v.indexRow(2, 20);
        auto mass = v.massRow(2, 20);
        auto it = std::find(idx.begin(), idx.end(), 5);
        QVERIFY(it != idx.end());
        QCOMPARE(mass[static_cast<std::size_t>(it - idx.begin())], 0.9f);
        // Rows of sparse layers sum to 1; indices ascend, -1 padding last.
        for (int h = 0; h < info.model.heads; ++h)
            for (std::int64_t r = 0; r < info.rows(); ++r) {
                double sum = 0;
                auto row = v.indexRow(h, r);
                for (std::size_t i = 0; i < row.size(); ++i) {
                    sum += v.massRow(h, r)[i];
                    if (i > 0 && row[i] >= 0) QVERIFY(row[i] > row[i - 1] && row[i - 1] >= 0);
                }
                QVERIFY(std::abs(sum - 1.0) < 1e-5);
            }
        // The committed file equals what the generator writes today (format stability).
        const std::string regenerated = path("sample-regenerated.sptrace");
        // (the generator is tests/tools/make_fixture_traces; this checks the same content)
        writeTraceFile(*trace, regenerated);
        QCOMPARE(readFile(regenerated), readFile(file.string()));
    }

    // Format version 2 records the score rule as params.score; a version-1 file (the sample as
    // committed before version 2) names it "representative" and opens with that rule.
    void version1FileOpensWithItsRepresentativeAsTheRule()
    {
        const auto v1 = sparsetrace::test::fixturesDir() / "traces" / "sample-small-v1.sptrace";
        QVERIFY(readFile(v1.string()).find("representative") != std::string::npos);
        auto trace = TraceFile::open(v1.string());
        QCOMPARE(trace->info().params.score, ScoreRule::Centre);
        QCOMPARE(trace->info().params.toJson().at("score"), nlohmann::json("centre"));
        QVERIFY(!trace->info().params.toJson().contains("representative"));
        // Its masks are the version-2 sample's.
        auto v2 = TraceFile::open((sparsetrace::test::fixturesDir() / "traces" / "sample-small.sptrace").string());
        LayerView a = trace->layer(1), b = v2->layer(1);
        QVERIFY(std::equal(a.index.begin(), a.index.end(), b.index.begin(), b.index.end()));
    }

    void scoreRuleRoundTrips()
    {
        for (ScoreRule rule : {ScoreRule::Centre, ScoreRule::First, ScoreRule::Bound}) {
            SyntheticTraceSpec spec = smallSpec();
            spec.params.score = rule;
            const std::string p = path("rule.sptrace");
            writeTraceFile(*makeSyntheticTrace(spec), p);
            QVERIFY(readFile(p).find("\"format_version\":\"2\"") != std::string::npos);
            QCOMPARE(TraceFile::open(p)->info().params.score, rule);
        }
        QCOMPARE(scoreRuleFromName("bound"), ScoreRule::Bound);
        QCOMPARE(scoreRuleFromName("center"), ScoreRule::Centre);
        try {
            scoreRuleFromName("middle");
            QFAIL("accepted an unknown rule");
        } catch (const ArgumentError& e) {
            QVERIFY(std::string(e.what()).find("\"centre\", \"first\" or \"bound\", not \"middle\"") != std::string::npos);
        }
        nlohmann::json params = smallSpec().params.toJson();
        params["score"] = "middle";
        QVERIFY_THROWS_EXCEPTION(FormatError, StreamParams::fromJson(params));
    }

    void brokenFixtures_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("fragment");
        QTest::newRow("truncated") << "truncated.sptrace" << "truncated";
        QTest::newRow("bad header") << "bad-header.sptrace" << "not a safetensors file (header is not a JSON object)";
        QTest::newRow("wrong shape") << "wrong-shape.sptrace" << "tensor layers.0.index has shape [27, 4, 7], expected [4, 27, 7]";
        QTest::newRow("wrong dtype") << "wrong-dtype.sptrace" << "tensor layers.1.mass has dtype I32, expected F32";
        QTest::newRow("foreign") << "foreign.safetensors" << "not a SparseTrace trace (format \"pt\")";
    }
    void brokenFixtures()
    {
        QFETCH(QString, file);
        QFETCH(QString, fragment);
        const auto p = (sparsetrace::test::fixturesDir() / "traces" / file.toStdString()).string();
        try {
            TraceFile::open(p);
            QFAIL("opened a broken file");
        } catch (const FormatError& e) {
            const std::string msg = e.what();
            QVERIFY2(msg.rfind(p + ": ", 0) == 0, msg.c_str()); // names the file first
            QVERIFY2(msg.find(fragment.toStdString()) != std::string::npos, msg.c_str());
            QVERIFY2(msg.find('\n') == std::string::npos, "one line");
        }
    }

    void badIndexValuesRejectedOnView()
    {
        auto trace = makeSyntheticTrace(smallSpec());
        trace->mutableLayers()[1].index[5] = 100000;
        const std::string p = path("badindex.sptrace");
        writeTraceFile(*trace, p);
        auto back = TraceFile::open(p);
        back->layer(0);
        QVERIFY_THROWS_EXCEPTION(FormatError, back->layer(1));
    }

    void failedWriteKeepsEarlierFile()
    {
        auto trace = makeSyntheticTrace(smallSpec());
        const std::string p = path("keep.sptrace");
        writeTraceFile(*trace, p);
        const std::string before = readFile(p);
        auto broken = makeSyntheticTrace(smallSpec());
        broken->mutableInfo().tokens.ids.pop_back(); // inconsistent token table
        QVERIFY_THROWS_EXCEPTION(ArgumentError, writeTraceFile(*broken, p));
        QCOMPARE(readFile(p), before);
        // No temporary file is left behind.
        QCOMPARE(QDir(m_dir.path()).entryList({"keep.sptrace.tmp*"}, QDir::Files).size(), 0);
        // Writing into a folder that does not exist fails cleanly.
        QVERIFY_THROWS_EXCEPTION(IoError, writeTraceFile(*trace, path("no/such/dir/x.sptrace")));
    }

    void sparsityDefinitions()
    {
        // One layer, one head, T = 8, bq = bk = 2, K = 1, no sinks, window 2 (one block):
        // keep everything -> sparsity 0; keep only the diagonal blocks -> known count.
        SyntheticTraceSpec spec;
        spec.layers = 1;
        spec.heads = 1;
        spec.promptTokens = 8;
        spec.params.bq = 2;
        spec.params.bk = 2;
        spec.params.k = 1;
        spec.params.sinks = 0;
        spec.params.window = 2;
        auto trace = makeSyntheticTrace(spec);
        auto& idx = trace->mutableLayers()[0].index;
        const int kp = trace->info().kPrime();
        std::fill(idx.begin(), idx.end(), -1);
        for (int r = 0; r < 4; ++r) idx[static_cast<std::size_t>(r * kp)] = r; // diagonal only
        SparsitySummary s = traceSparsity(*trace);
        QCOMPARE(s.causalPairs, 36.0);                // 8*9/2
        QCOMPARE(s.keptPairs, 12.0);                  // 4 blocks * 3 pairs each
        QCOMPARE(s.sparsity(), 1.0 - 12.0 / 36.0);
        QCOMPARE(denseCausalBytes(trace->info()), 36.0 * 4.0);
    }

    void paramsValidation()
    {
        StreamParams p;
        QCOMPARE(p.kPrime(), 16 + 1 + 2 + 1);
        p.sinks = 33;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, p.validate());
        p.sinks = 32;
        p.bq = 0;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, p.validate());
    }
};

QTEST_GUILESS_MAIN(TstTraceFile)
#include "tst_trace_file.moc"
