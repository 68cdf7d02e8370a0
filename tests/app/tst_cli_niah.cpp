// `sparsetrace niah` end to end on the CPU with stories260K (small blocks so the search runs):
// a sweep writes its table and traces, a second run resumes without rerunning cells, two shards
// merge into the unsharded table, and a routes file is produced from one of its traces.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_process.h"
#include "qt_shared.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

using sparsetrace::test::runCli;

namespace {
nlohmann::json readJson(const QString& path)
{
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}
} // namespace

class TstCliNiah : public QObject {
    Q_OBJECT
private slots:
    void sweepResumeShardsRoutes()
    {
        ST_QREQUIRE_SHARED(shared);
        QTemporaryDir tmp;
        const QString model = QString::fromStdString((shared / "assets" / "models" / "stories260K").string());
        const QStringList common = {"niah", "--model", model, "--lengths", "300,480", "--depths", "0,50,100", "--k", "2,16",
                                    "--bq", "4", "--bk", "4", "--sinks", "4", "--window", "8", "--tokens-to-generate", "6"};
        auto full = runCli(common + QStringList{"--out", tmp.filePath("full"), "--keep-traces"}, 600000);
        QVERIFY2(full.code == 0, qPrintable(full.err));
        QVERIFY(full.err.contains("12/12 cells done (0 resumed)"));
        const nlohmann::json table = readJson(tmp.filePath("full/niah.json"));
        QCOMPARE(table["cells"].size(), std::size_t(12));
        for (const auto& c : table["cells"]) {
            QVERIFY(c["sparsity"].get<double>() > 0.0);
            QVERIFY(QFile::exists(tmp.filePath("full/" + QString::fromStdString(c["trace"].get<std::string>()))));
        }
        // Resume: nothing is rerun, the table is unchanged.
        auto again = runCli(common + QStringList{"--out", tmp.filePath("full")}, 600000);
        QCOMPARE(again.code, 0);
        QVERIFY(again.err.contains("(12 resumed)"));
        QCOMPARE(readJson(tmp.filePath("full/niah.json")), table);
        // Two shards merge into the unsharded table (without the kept-trace paths).
        auto plain = runCli(common + QStringList{"--out", tmp.filePath("plain")}, 600000);
        QCOMPARE(plain.code, 0);
        for (const char* s : {"0/2", "1/2"}) {
            auto r = runCli(common + QStringList{"--out", tmp.filePath(QString("shard%1").arg(s[0])), "--shard", s}, 600000);
            QVERIFY2(r.code == 0, qPrintable(r.err));
        }
        auto merged = runCli({"niah-merge", tmp.filePath("shard0"), tmp.filePath("shard1"), "--out", tmp.filePath("merged")});
        QVERIFY2(merged.code == 0, qPrintable(merged.err));
        QCOMPARE(readJson(tmp.filePath("merged/niah.json")), readJson(tmp.filePath("plain/niah.json")));
        // Routes from a sweep trace (the needle span is in its annotations).
        auto routes = runCli({"routes", tmp.filePath("full/traces/cell-5.sptrace"), "--tau", "0.05", "--json", tmp.filePath("route.json")});
        QVERIFY2(routes.code == 0, qPrintable(routes.err));
        QVERIFY(readJson(tmp.filePath("route.json")).is_object());
    }
};

QTEST_GUILESS_MAIN(TstCliNiah)
#include "tst_cli_niah.moc"
