// The bundled demo retriever (resources/demo-model) end to end on the CPU through our CLI: 20
// fresh needle prompts (War and Peace haystack, needles at 40-59% depth, keys from the evaluation
// word lists that training never used) are traced with Stream-Attn at a K that keeps retrieval and
// at a harder K that breaks it; the dense model retrieves, the sparse one at the stated K does,
// and for a prompt that only the easier K retrieves, the route from the needle to the answer runs
// through a searched key block (not a sink, not the window) that the failing trace does not keep.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_process.h"
#include "qt_shared.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

using sparsetrace::test::runCli;

namespace {
nlohmann::json readJson(const QString& path)
{
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}

// The configuration stated in resources/demo-model/README.md.
constexpr int kRetrieves = 16; // K (blocks of 16 tokens) at which the demo retrieves
constexpr int kBreaks = 4;     // a harder K at which retrieval breaks
} // namespace

class TstDemoModel : public QObject {
    Q_OBJECT
private slots:
    void retrievesAndRoutesThroughASearchedBlock()
    {
        ST_QREQUIRE_SHARED(shared);
        QTemporaryDir tmp;
        const std::filesystem::path book =
            sparsetrace::test::unpackZstd(shared / "assets" / "text" / "war-and-peace.txt.zst", "demo-war-and-peace.txt");
        QVERIFY2(!book.empty(), "zstd could not unpack War and Peace");
        const QString model = QStringLiteral(SPARSETRACE_SOURCE_DIR "/resources/demo-model");
        auto sweep = runCli({"niah", "--model", model, "--haystack", QString::fromStdString(book.string()), "--lengths", "1k",
                             "--depths", "40:59:1", "--k", QString("%1,%2").arg(kBreaks).arg(kRetrieves), "--bq", "16",
                             "--bk", "16", "--sinks", "16", "--window", "16", "--tokens-to-generate", "10", "--seed",
                             "424242", "--keep-traces", "--out", tmp.filePath("sweep")},
                            1800000);
        QVERIFY2(sweep.code == 0, qPrintable(sweep.err));
        const nlohmann::json table = readJson(tmp.filePath("sweep/niah.json"));
        QCOMPARE(table["cells"].size(), std::size_t(40));

        int dense = 0, easy = 0, hard = 0;
        double easySparsity = 0, hardSparsity = 0;
        const nlohmann::json* contrast = nullptr; // retrieved at kRetrieves, not at kBreaks
        const nlohmann::json* contrastFailed = nullptr;
        const auto& cells = table["cells"];
        for (std::size_t i = 0; i + 1 < cells.size(); i += 2) {
            const auto& h = cells[i];     // cells run K inner: kBreaks then kRetrieves
            const auto& e = cells[i + 1];
            QCOMPARE(h["k"].get<int>(), kBreaks);
            QCOMPARE(e["k"].get<int>(), kRetrieves);
            QCOMPARE(h["value"], e["value"]);
            dense += e["dense_retrieved"].get<bool>() ? 1 : 0;
            easy += e["retrieved"].get<bool>() ? 1 : 0;
            hard += h["retrieved"].get<bool>() ? 1 : 0;
            easySparsity += e["sparsity"].get<double>() / 20;
            hardSparsity += h["sparsity"].get<double>() / 20;
            if (!contrast && e["retrieved"].get<bool>() && !h["retrieved"].get<bool>()) {
                contrast = &e;
                contrastFailed = &h;
            }
        }
        qInfo("demo model, 20 prompts of 1k tokens: dense %d/20; K=%d: %d/20 at sparsity %.3f; K=%d: %d/20 at sparsity %.3f",
              dense, kRetrieves, easy, easySparsity, kBreaks, hard, hardSparsity);
        QVERIFY2(dense >= 19, "the dense demo model must retrieve (model card: 100% at 1k)");
        // Measured on these 20 prompts: 10 of 20 at K = 16 (sparsity 0.51), 0 of 20 at K = 4
        // (0.83). Below the 85% at 90% sparsity that the demo issue (#11) asks for: the
        // hierarchical search rarely reaches this small model's needle blocks (model card).
        QVERIFY2(easy >= 8, "at the stated K the sparse model keeps retrieving on a good share of prompts");
        QVERIFY(easySparsity > 0.45);
        QVERIFY(hardSparsity > 0.8);
        QVERIFY2(hard < easy, "the harder K must break retrieval on some prompts");
        QVERIFY2(contrast, "a prompt retrieved at the stated K and lost at the harder K");

        const QString good = tmp.filePath("sweep/" + QString::fromStdString((*contrast)["trace"].get<std::string>()));
        const QString bad = tmp.filePath("sweep/" + QString::fromStdString((*contrastFailed)["trace"].get<std::string>()));
        auto routes = runCli({"routes", good, "--compare", bad, "--tau", "0.05", "--json", tmp.filePath("routes.json")});
        QVERIFY2(routes.code == 0, qPrintable(routes.err));
        const nlohmann::json r = readJson(tmp.filePath("routes.json"));
        QVERIFY(r["success"]["connected"].get<bool>());
        const auto& needleRows = r["success"]["source_rows"];
        bool searchedOutOfNeedle = false;
        for (const auto& e : r["critical"]) {
            const bool fromNeedle = std::find(needleRows.begin(), needleRows.end(), e["from"]) != needleRows.end();
            if (fromNeedle && e["kind"] == "searched") searchedOutOfNeedle = true;
        }
        QVERIFY2(searchedOutOfNeedle,
                 "the successful route leaves the needle's block through a searched block the failed trace lacks");
    }
};

QTEST_GUILESS_MAIN(TstDemoModel)
#include "tst_demo_model.moc"
