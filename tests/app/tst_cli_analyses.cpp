// The analysis subcommands end to end on synthetic traces with planted answers: `anchors`
// (planted anchor first, labels imported or rule-based, kurtosis stored), `routes` (planted
// chain, critical edge of a failed trace), `niah-merge` (shards join into the unsharded
// table byte for byte) and `label-agreement` (labeller weights fitted, reused and
// cross-validated); bad input gives one line on stderr and exit status 1.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "../core/cot_synthetic.h"
#include "../core/route_synthetic.h"
#include "cli_process.h"
#include "shared_assets.h"

#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/core/trace_file.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace sparsetrace;

namespace {
using Result = test::CliResult;
Result run(const QStringList& args) { return test::runCli(args); }
std::string readFile(const QString& p)
{
    std::ifstream in(p.toStdString(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
nlohmann::json readJson(const QString& p) { return nlohmann::json::parse(readFile(p)); }
void expectOneLineError(const Result& r)
{
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.startsWith("sparsetrace: error: "), qPrintable(r.err));
    QCOMPARE(r.err.count('\n'), 1);
}
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
} // namespace

class TstCliAnalyses : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    QString path(const char* name) const { return m_dir.filePath(name); }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        const int n = 16;
        auto spec = test::cotSpec(n, 3, 2);
        test::plantAnchor(spec, 1, 1, 2, n, 0.85f);
        test::plantAnchor(spec, 2, 0, 2, n, 0.85f);
        core::writeTraceFile(*core::makeSyntheticTrace(spec), path("cot.sptrace").toStdString());
        core::writeTraceFile(*core::makeSyntheticTrace(test::routeSpec()), path("plain.sptrace").toStdString());

        auto chain = test::routeSpec();
        chain.planted = {{0, 0, 5, 2, 0.9f}, {1, 1, 9, 5, 0.9f}, {2, 0, 15, 9, 0.9f}};
        core::writeTraceFile(*test::makeRouteTrace(chain, 16, 24), path("success.sptrace").toStdString());
        chain.planted.erase(chain.planted.begin() + 1);
        core::writeTraceFile(*test::makeRouteTrace(chain, 16, 24), path("failed.sptrace").toStdString());
    }

    void anchors()
    {
        auto r = run({"anchors", path("cot.sptrace"), "--top-heads", "2", "--json", path("anchors.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = readJson(path("anchors.json"));
        QCOMPARE(j["receiver_heads"].size(), std::size_t(2));
        for (const auto& h : j["receiver_heads"]) QVERIFY(h["layer"].get<int>() >= 1);
        const auto& t = j["traces"][0];
        QCOMPARE(t["anchors"][0].get<int>(), 2);
        QCOMPARE(t["categories_from"].get<std::string>(), std::string("rule-based labeller"));
        QCOMPARE(t["sentences"].size(), std::size_t(16));
        const auto& s2 = t["sentences"][2];
        QCOMPARE(s2["rank"].get<int>(), 1);
        QCOMPARE(s2["token_start"].get<int>(), 3 * test::kCotBlock);
        QCOMPARE(s2["vertical_scores"].size(), std::size_t(2));
        QVERIFY(!s2["category"].get<std::string>().empty());
        QVERIFY(t["sentences"][15]["receiver_score"].is_null()); // the last 4 sentences have no score
        QCOMPARE(t["kurtosis"].size(), std::size_t(3));
    }

    void anchorsWithLabelsAndStoredKurtosis()
    {
        const auto j = readJson(path("anchors.json"));
        nlohmann::json labels = nlohmann::json::array();
        int i = 0;
        for (const auto& s : j["traces"][0]["sentences"])
            labels.push_back({{"chunk", s["text"]}, {"chunk_idx", i++}, {"function_tags", {i % 2 ? "plan_generation" : "self_checking"}}});
        std::ofstream(path("chunks_labeled.json").toStdString()) << labels.dump();
        QFile::copy(path("cot.sptrace"), path("cot-copy.sptrace"));
        auto r = run({"anchors", path("cot-copy.sptrace"), "--labels", path("chunks_labeled.json"), "--top-heads", "2",
                      "--store-kurtosis", "--json", path("anchors-labelled.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto k = readJson(path("anchors-labelled.json"))["traces"][0];
        QCOMPARE(k["categories_from"].get<std::string>(), path("chunks_labeled.json").toStdString());
        QCOMPARE(k["sentences"][0]["category"].get<std::string>(), std::string("plan_generation"));
        QCOMPARE(k["sentences"][1]["category"].get<std::string>(), std::string("self_checking"));
        QCOMPARE(k["unlabelled_sentences"].get<int>(), 0);
        auto stored = core::TraceFile::open(path("cot-copy.sptrace").toStdString());
        QVERIFY(stored->info().headStats.count("kurtosis"));
        QCOMPARE(stored->info().headStats.at("kurtosis").size(), std::size_t(6));
    }

    void anchorsErrors()
    {
        expectOneLineError(run({"anchors", path("plain.sptrace"), "--json", path("x.json")}));
        auto r = run({"anchors", path("plain.sptrace"), "--json", path("x.json")});
        QVERIFY(r.err.contains("--whole-text"));
        expectOneLineError(run({"anchors", path("cot.sptrace"), path("cot.sptrace"), "--labels", path("chunks_labeled.json"),
                                "--json", path("x.json")}));
        expectOneLineError(run({"anchors", path("missing.sptrace"), "--json", path("x.json")}));
        QCOMPARE(run({"anchors", path("cot.sptrace")}).code, 2); // --json is required
        auto whole = run({"anchors", path("plain.sptrace"), "--whole-text", "--json", "-"});
        QVERIFY2(whole.code == 0, qPrintable(whole.err));
        QVERIFY(nlohmann::json::parse(whole.out.toStdString())["traces"][0]["sentences"].size() > 4);
    }

    void routes()
    {
        auto r = run({"routes", path("success.sptrace"), "--tau", "0.6", "--json", path("route.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = readJson(path("route.json"));
        QCOMPARE(j["attention_edges"].get<int>(), 3);
        QCOMPARE(j["source_rows"], nlohmann::json::array({2}));
        QCOMPARE(j["edges"][1]["layer"].get<int>(), 1);
        QCOMPARE(j["edges"][1]["head"].get<int>(), 1);
        QCOMPARE(j["edges"][1]["from"].get<int>(), 5);
        QCOMPARE(j["edges"][1]["to"].get<int>(), 9);
        // The strongest paths, as the explorer draws them: the planted chain, product 0.9^3.
        QCOMPARE(j["paths"].size(), std::size_t(1));
        QCOMPARE(j["paths"][0]["rows"], nlohmann::json::array({2, 5, 9, 15}));
        QCOMPARE(j["paths"][0]["layers"], nlohmann::json::array({0, 1, 2}));
        QCOMPARE(j["paths"][0]["heads"], nlohmann::json::array({0, 1, 0}));
        QCOMPARE(j["paths"][0]["masses"].size(), std::size_t(3));
        QVERIFY(std::abs(j["paths"][0]["product"].get<double>() - 0.729) < 1e-5);
        r = run({"routes", path("success.sptrace"), "--tau", "0.6", "--paths", "0", "--json", "-"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(nlohmann::json::parse(r.out.toStdString())["paths"].empty());

        r = run({"routes", path("success.sptrace"), "--compare", path("failed.sptrace"), "--tau", "0.6", "--json", path("diff.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto d = readJson(path("diff.json"));
        QCOMPARE(d["critical"].size(), std::size_t(1));
        QCOMPARE(d["critical"][0]["layer"].get<int>(), 1);
        QCOMPARE(d["critical"][0]["to"].get<int>(), 9);
        QCOMPARE(d["failure"]["connected"].get<bool>(), false);
        QCOMPARE(d["critical_on_paths"].size(), std::size_t(1)); // the lost edge lies on the strongest path

        expectOneLineError(run({"routes", path("plain.sptrace"), "--json", path("x.json")})); // no needle annotation
        expectOneLineError(run({"routes", path("success.sptrace"), "--compare", path("cot.sptrace"), "--json", path("x.json")}));
        QCOMPARE(run({"routes", path("success.sptrace"), "--tau", "2", "--json", path("x.json")}).code, 2);
    }

    void niahMerge()
    {
        core::NiahSweepSpec spec;
        spec.model = "stand-in";
        spec.haystack = "noise";
        spec.lengths = {150, 300};
        spec.depths = {0, 100};
        spec.ks = {2, 4};
        spec.seed = 5;
        // Deterministic stand-in for the tracer: retrieves at K = 4 only.
        auto runner = [](const core::NiahCellKey& c, const core::NiahPrompt& p, std::stop_token) {
            return core::NiahRunOutput{c.k == 4 ? " " + p.needle.value : " no idea", 0.5, "", std::nullopt};
        };
        const auto dir = [&](const char* n) { return std::filesystem::path(path(n).toStdString()); };
        core::runNiahSweep(spec, {}, dir("whole"), core::Haystack::noise(), countWords, runner);
        core::runNiahSweep(spec, {0, 2}, dir("shard0"), core::Haystack::noise(), countWords, runner);
        core::runNiahSweep(spec, {1, 2}, dir("shard1"), core::Haystack::noise(), countWords, runner);
        auto r = run({"niah-merge", path("shard0"), path("shard1") + "/niah.json", "--out", path("merged")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("8 of 8 cells, 4 retrieved"));
        QCOMPARE(readFile(path("merged/niah.json")), readFile(path("whole/niah.json")));
        QCOMPARE(readFile(path("merged/niah.csv")), readFile(path("whole/niah.csv")));

        spec.seed = 6;
        core::runNiahSweep(spec, {0, 2}, dir("other"), core::Haystack::noise(), countWords, runner);
        expectOneLineError(run({"niah-merge", path("shard0"), path("other"), "--out", path("bad")}));
        expectOneLineError(run({"niah-merge", path("nothing-here"), "--out", path("bad")}));
    }

    void labelAgreement()
    {
        // Three labelled folders in the Thought Anchors layout, each sentence kind with its tag.
        const std::vector<std::pair<std::string, std::string>> kinds = {
            {"Let me verify the previous step once more.", "self_checking"},
            {"12 * 11 = 132 and 132 / 2 = 66.", "active_computation"},
            {"Hmm, I am confused, maybe that is wrong?", "uncertainty_management"},
            {"The formula for the area of a circle is a known theorem.", "fact_retrieval"},
        };
        QStringList folders;
        for (int f = 0; f < 3; ++f) {
            const QString dir = m_dir.filePath(QString("labelled%1").arg(f));
            std::filesystem::create_directories(dir.toStdString());
            std::string cot = "Solve this. <think>\n";
            nlohmann::json chunks = nlohmann::json::array();
            for (int i = 0; i < 12; ++i) {
                const auto& [text, tag] = kinds[static_cast<std::size_t>(i + f) % kinds.size()];
                cot += text + " ";
                chunks.push_back({{"chunk", text}, {"chunk_idx", i}, {"function_tags", {tag}}});
            }
            cot += "</think>";
            std::ofstream(dir.toStdString() + "/base_solution.json") << nlohmann::json{{"full_cot", cot}}.dump();
            std::ofstream(dir.toStdString() + "/chunks_labeled.json") << chunks.dump();
            folders << dir;
        }
        auto r = run(QStringList{"label-agreement"} + folders + QStringList{"--fit-model", path("labeller.json"), "--l2", "1",
                                                                            "--iterations", "300", "--json", path("fit.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("rule-based labeller"));
        QVERIFY(r.out.contains("36 of 36 labelled chunks reproduced exactly"));
        const auto fit = readJson(path("fit.json"));
        QCOMPARE(fit["compared"].get<int>(), 36);
        QCOMPARE(fit["agreement"].get<double>(), 1.0); // four cue-distinct kinds: the fit learns them all
        QCOMPARE(fit["per_category"]["self_checking"]["recall"].get<double>(), 1.0);
        QCOMPARE(readJson(path("labeller.json"))["format"].get<std::string>(), std::string("sparsetrace-sentence-labeller"));

        r = run(QStringList{"label-agreement"} + folders + QStringList{"--model", path("labeller.json"), "--json", path("use.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(readJson(path("use.json"))["agreement"].get<double>(), 1.0);
        r = run(QStringList{"label-agreement"} + folders + QStringList{"--cross-validate", "--l2", "1", "--iterations", "300",
                                                                      "--json", path("loo.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(readJson(path("loo.json"))["cross_validated"].get<bool>());

        std::ofstream(path("not-a-model.json").toStdString()) << "{\"weights\": {}}";
        expectOneLineError(run({"label-agreement", folders[0], "--model", path("not-a-model.json")}));
        expectOneLineError(run({"label-agreement", folders[0], "--cross-validate"}));
    }
};

QTEST_GUILESS_MAIN(TstCliAnalyses)
#include "tst_cli_analyses.moc"
