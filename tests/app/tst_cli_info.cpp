// `sparsetrace info`: prints provenance, sparsity and storage ratio; a bad file gives a
// one-line message and a non-zero exit status.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_process.h"
#include "shared_assets.h"

#include <QProcess>
#include <QtTest>

#include <nlohmann/json.hpp>

class TstCliInfo : public QObject {
    Q_OBJECT

    static sparsetrace::test::CliResult run(const QStringList& args) { return sparsetrace::test::runCli(args); }
    QString fixture(const char* name)
    {
        return QString::fromStdString((sparsetrace::test::fixturesDir() / "traces" / name).string());
    }

private slots:
    void infoPrintsSummary()
    {
        auto r = run({"info", fixture("sample-small.sptrace")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("3 layers x 4 heads (2 KV heads"), qPrintable(r.out));
        QVERIFY(r.out.contains("200 prompt + 2 generated"));
        QVERIFY(r.out.contains("bq=8 bk=8 K=3"));
        QVERIFY(r.out.contains("sparsity"));
        QVERIFY(r.out.contains("smaller"));
    }
    void infoJson()
    {
        auto r = run({"info", "--json", fixture("sample-small.sptrace")});
        QCOMPARE(r.code, 0);
        auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["prompt_tokens"].get<int>(), 200);
        const double s = j["sparsity"].get<double>();
        QVERIFY(s > 0.0 && s < 1.0);
        QVERIFY(j["storage_ratio"].get<double>() > 0.0);
    }
    void badFiles_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("truncated") << "truncated.sptrace";
        QTest::newRow("bad header") << "bad-header.sptrace";
        QTest::newRow("wrong shape") << "wrong-shape.sptrace";
        QTest::newRow("wrong dtype") << "wrong-dtype.sptrace";
        QTest::newRow("foreign") << "foreign.safetensors";
        QTest::newRow("missing") << "no-such-file.sptrace";
    }
    void badFiles()
    {
        QFETCH(QString, file);
        auto r = run({"info", fixture(file.toUtf8().constData())});
        QCOMPARE(r.code, 1);
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.err.startsWith("sparsetrace: error: "), qPrintable(r.err));
        QCOMPARE(r.err.count('\n'), 1); // one line
        QVERIFY(r.err.contains(file));
    }
    void usageErrors()
    {
        QCOMPARE(run({}).code, 2);
        QCOMPARE(run({"info"}).code, 2);
        auto v = run({"--version"});
        QCOMPARE(v.code, 0);
        QVERIFY(v.out.startsWith("sparsetrace "));
    }
};

QTEST_GUILESS_MAIN(TstCliInfo)
#include "tst_cli_info.moc"
