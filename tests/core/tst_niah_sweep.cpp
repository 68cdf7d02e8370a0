// NIAH sweep tables: grid order, shards, JSON/CSV round trips, resume after an interruption
// (finished cells are not rerun), and two shards merging into exactly the unsharded table.
// The cell runner here is a deterministic stand-in for the tracer: it answers with the value
// when K >= 8 or the needle is in the first half, so every table has known content.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/niah_sweep.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {
std::size_t countWords(std::string_view s)
{
    std::size_t n = 0;
    bool in = false;
    for (char c : s) {
        const bool ws = c == ' ' || c == '\n';
        if (!ws && !in) ++n;
        in = !ws;
    }
    return n;
}

NiahSweepSpec smallSpec()
{
    NiahSweepSpec s;
    s.model = "test-model";
    s.haystack = "noise";
    s.lengths = {200, 400};
    s.depths = {0, 50, 100};
    s.ks = {4, 8};
    s.seed = 11;
    s.tokensToGenerate = 8;
    return s;
}

struct CountingRunner {
    int calls = 0;
    NiahRunOutput operator()(const NiahCellKey& cell, const NiahPrompt& prompt, std::stop_token)
    {
        ++calls;
        const bool finds = cell.k >= 8 || cell.depth < 50;
        // The dense model finds every needle except at depth 100.
        const std::string dense = cell.depth < 100 ? " " + prompt.needle.value + "." : " no idea.";
        return {finds ? " " + prompt.needle.value + "." : " I do not know.", 1.0 - cell.k / 64.0, "", dense};
    }
};

std::string readFile(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
} // namespace

class TstNiahSweep : public QObject {
    Q_OBJECT

    NiahTable runAll(const std::filesystem::path& dir, const NiahShard& shard, CountingRunner& runner)
    {
        return runNiahSweep(smallSpec(), shard, dir, Haystack::noise(), countWords,
                            [&runner](const NiahCellKey& c, const NiahPrompt& p, std::stop_token s) { return runner(c, p, s); });
    }

private slots:
    void gridOrderAndSeeds()
    {
        const NiahSweepSpec s = smallSpec();
        QCOMPARE(s.cellCount(), std::size_t(12));
        const NiahCellKey c = niahCell(s, 7); // length 400 (second), depth 0 (first), K 8 (second)
        QCOMPARE(c.length, std::int64_t(400));
        QCOMPARE(c.depth, 0.0);
        QCOMPARE(c.k, 8);
        QCOMPARE(niahCellSeed(s, niahCell(s, 6)), niahCellSeed(s, niahCell(s, 7))); // same needle for every K
        QVERIFY(niahCellSeed(s, niahCell(s, 0)) != niahCellSeed(s, niahCell(s, 2)));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, niahCell(s, 12));
    }

    void shardParsing()
    {
        const NiahShard s = NiahShard::parse("1/3");
        QCOMPARE(s.index, 1);
        QCOMPARE(s.count, 3);
        QVERIFY(s.holds(4) && !s.holds(3));
        for (const char* bad : {"3/3", "-1/2", "1", "a/b", "1/0", "1/2x", ""})
            QVERIFY_THROWS_EXCEPTION(ArgumentError, NiahShard::parse(bad));
    }

    void unshardedRunWritesTheTable()
    {
        QTemporaryDir dir;
        CountingRunner runner;
        const NiahTable t = runAll(dir.path().toStdString(), NiahShard{}, runner);
        QCOMPARE(runner.calls, 12);
        QVERIFY(t.complete());
        for (const auto& c : t.cells()) {
            QCOMPARE(c.retrieved, c.cell.k >= 8 || c.cell.depth < 50);
            QCOMPARE(c.denseRetrieved, std::optional<bool>(c.cell.depth < 100));
            QCOMPARE(c.value.size(), std::size_t(7));
            QVERIFY(c.promptTokens + 8 <= c.cell.length);
        }
        const auto onDisk = NiahTable::readJson(std::filesystem::path(dir.path().toStdString()) / kNiahTableJson);
        QCOMPARE(onDisk.toJson(), t.toJson());
        QVERIFY(std::filesystem::exists(std::filesystem::path(dir.path().toStdString()) / kNiahTableCsv));
        // The CSV carries the dense column too (read back cell for cell).
        const auto fromCsv = NiahTable::cellsFromCsv(readFile(std::filesystem::path(dir.path().toStdString()) / kNiahTableCsv), "csv");
        QCOMPARE(fromCsv.size(), t.cells().size());
        for (std::size_t i = 0; i < fromCsv.size(); ++i) QCOMPARE(fromCsv[i].denseRetrieved, t.cells()[i].denseRetrieved);
        QCOMPARE(t.toJson()["dense_retrieved"].get<int>(), 8);
        // A second run finds every cell done and reruns none.
        CountingRunner again;
        runAll(dir.path().toStdString(), NiahShard{}, again);
        QCOMPARE(again.calls, 0);
    }

    void shardsMergeIntoTheUnshardedTable()
    {
        QTemporaryDir whole, a, b, merged;
        CountingRunner r0, r1, r2;
        const NiahTable full = runAll(whole.path().toStdString(), NiahShard{}, r0);
        const NiahTable s0 = runAll(a.path().toStdString(), NiahShard{0, 2}, r1);
        const NiahTable s1 = runAll(b.path().toStdString(), NiahShard{1, 2}, r2);
        QCOMPARE(r1.calls + r2.calls, 12);
        QCOMPARE(s0.cells().size(), std::size_t(6));
        QVERIFY(!s0.complete());
        const NiahTable m = mergeNiahTables({s1, s0});
        QCOMPARE(m.toJson(), full.toJson());
        const std::filesystem::path out = merged.path().toStdString();
        m.writeJson(out / kNiahTableJson);
        m.writeCsv(out / kNiahTableCsv);
        const std::filesystem::path ref = whole.path().toStdString();
        QCOMPARE(readFile(out / kNiahTableJson), readFile(ref / kNiahTableJson));
        QCOMPARE(readFile(out / kNiahTableCsv), readFile(ref / kNiahTableCsv));
        // Overlapping shards agree; conflicting results and foreign sweeps are refused.
        QCOMPARE(mergeNiahTables({full, s0}).toJson(), full.toJson());
        NiahTable conflict = s0;
        NiahCellResult c = conflict.cells().front();
        c.retrieved = !c.retrieved;
        conflict.put(c);
        QVERIFY_THROWS_EXCEPTION(ArgumentError, mergeNiahTables({full, conflict}));
        NiahSweepSpec other = smallSpec();
        other.seed = 12;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, mergeNiahTables({full, NiahTable(other)}));
    }

    void resumeSkipsFinishedCells()
    {
        QTemporaryDir dir, ref;
        const std::filesystem::path out = dir.path().toStdString();
        // Interrupted after 5 cells: the stop request arrives while the fifth one runs.
        std::stop_source stop;
        CountingRunner first;
        auto interrupted = [&](const NiahCellKey& c, const NiahPrompt& p, std::stop_token s) {
            auto r = first(c, p, s);
            if (first.calls == 5) stop.request_stop();
            return r;
        };
        QVERIFY_THROWS_EXCEPTION(Cancelled, runNiahSweep(smallSpec(), NiahShard{}, out, Haystack::noise(), countWords,
                                                         interrupted, {}, stop.get_token()));
        QCOMPARE(NiahTable::readJson(out / kNiahTableJson).cells().size(), std::size_t(5));
        CountingRunner second;
        std::vector<NiahSweepProgress> progress;
        const NiahTable t = runNiahSweep(
            smallSpec(), NiahShard{}, out, Haystack::noise(), countWords,
            [&second](const NiahCellKey& c, const NiahPrompt& p, std::stop_token s) { return second(c, p, s); },
            [&progress](const NiahSweepProgress& p) { progress.push_back(p); });
        QCOMPARE(second.calls, 7);
        QCOMPARE(progress.front().skipped, std::size_t(5));
        QCOMPARE(progress.back().done, std::size_t(12));
        CountingRunner third;
        QCOMPARE(t.toJson(), runAll(ref.path().toStdString(), NiahShard{}, third).toJson());
        // Another sweep in the same folder is refused rather than mixed in.
        NiahSweepSpec other = smallSpec();
        other.ks = {4, 8, 16};
        QVERIFY_THROWS_EXCEPTION(ArgumentError, runNiahSweep(other, NiahShard{}, out, Haystack::noise(), countWords,
                                                             [&second](const NiahCellKey& c, const NiahPrompt& p, std::stop_token s) {
                                                                 return second(c, p, s);
                                                             }));
    }

    // Cells traced with one score rule never join a table of another: resume and merge refuse
    // with a message naming both rules. A table written before trace format 2 (params
    // "representative") reads as the same rule under its new name, and resumes.
    void anotherScoreRuleIsRefusedNamingBoth()
    {
        QTemporaryDir dir;
        const std::filesystem::path out = dir.path().toStdString();
        NiahSweepSpec centre = smallSpec();
        centre.extra = {{"params", {{"bq", 16}, {"score", "centre"}}}};
        NiahSweepSpec bound = centre;
        bound.extra["params"]["score"] = "bound";
        CountingRunner runner;
        const auto run = [&](const NiahSweepSpec& spec) {
            return runNiahSweep(spec, NiahShard{}, out, Haystack::noise(), countWords,
                                [&runner](const NiahCellKey& c, const NiahPrompt& p, std::stop_token s) { return runner(c, p, s); });
        };
        const NiahTable first = run(centre);
        QCOMPARE(niahScoreRule(first.spec()), std::string("centre"));
        const auto refusal = [](const auto& f) {
            try {
                f();
            } catch (const ArgumentError& e) {
                return std::string(e.what());
            }
            return std::string();
        };
        const std::string resumed = refusal([&] { run(bound); });
        QVERIFY2(resumed.find("\"centre\" against \"bound\"") != std::string::npos, resumed.c_str());
        const std::string merged = refusal([&] { mergeNiahTables({first, NiahTable(bound)}); });
        QVERIFY2(merged.find("\"centre\" against \"bound\"") != std::string::npos, merged.c_str());
        // The same table as an older version wrote it: params.representative.
        nlohmann::json old = first.toJson();
        old["spec"]["extra"]["params"].erase("score");
        old["spec"]["extra"]["params"]["representative"] = "centre";
        {
            std::ofstream f(out / kNiahTableJson);
            f << old.dump();
        }
        QCOMPARE(niahScoreRule(NiahTable::readJson(out / kNiahTableJson).spec()), std::string("centre"));
        const int before = runner.calls;
        QCOMPARE(run(centre).cells().size(), std::size_t(12));
        QCOMPARE(runner.calls, before); // every cell was already there
    }

    void csvRoundTrip()
    {
        NiahTable t(smallSpec());
        NiahCellResult r;
        r.cell = niahCell(smallSpec(), 3);
        r.key = "odd-pebble";
        r.value = "1234567";
        r.generated = " It is \"1234567\",\nI think.";
        r.retrieved = true;
        r.sparsity = 0.9375;
        r.tracePath = "traces/cell 3.sptrace";
        t.put(r);
        const auto cells = NiahTable::cellsFromCsv(t.toCsv(), "test");
        QCOMPARE(cells.size(), std::size_t(1));
        QCOMPARE(cells[0].toJson(), r.toJson());
        QVERIFY_THROWS_EXCEPTION(FormatError, NiahTable::cellsFromCsv("a,b\n1,2\n", "test"));
        QVERIFY_THROWS_EXCEPTION(FormatError, NiahTable::cellsFromCsv(t.toCsv() + "1,2\n", "test"));
        QVERIFY_THROWS_EXCEPTION(FormatError, NiahTable::fromJson(nlohmann::json::object(), "test"));
    }

    void parsing()
    {
        QCOMPARE(parseNiahLengths("2k,4k,100"), (std::vector<std::int64_t>{2048, 4096, 100}));
        const auto d = parseNiahDepths("0:100:10");
        QCOMPARE(d.size(), std::size_t(11));
        QCOMPARE(d.back(), 100.0);
        QCOMPARE(parseNiahDepths("0,33.5,100"), (std::vector<double>{0, 33.5, 100}));
        for (const char* bad : {"", "k", "2x", "-5"}) QVERIFY_THROWS_EXCEPTION(ArgumentError, parseNiahLengths(bad));
        for (const char* bad : {"0:100", "0:100:0", "0,150", "a"}) QVERIFY_THROWS_EXCEPTION(ArgumentError, parseNiahDepths(bad));
    }
};

QTEST_GUILESS_MAIN(TstNiahSweep)
#include "tst_niah_sweep.moc"
