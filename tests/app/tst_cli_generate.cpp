// `sparsetrace generate`: greedy ids and prompt logits of a fixture model match transformers'
// reference; text prompts go through the folder's tokenizer; bad input gives one line and exit 1.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "qt_shared.h"
#include "cli_process.h"
#include "shared_assets.h"

#include "sparsetrace/core/safetensors.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

class TstCliGenerate : public QObject {
    Q_OBJECT

    static sparsetrace::test::CliResult run(const QStringList& args) { return sparsetrace::test::runCli(args); }
    QString model(const char* name)
    {
        return QString::fromStdString((sparsetrace::test::fixturesDir() / "models" / name).string());
    }
    QTemporaryDir m_tmp;

private slots:
    void greedyIdsAndLogitsMatchTransformers()
    {
        auto ref = sparsetrace::core::SafetensorsFile::open((sparsetrace::test::fixturesDir() / "models/tiny-gemma3/reference.safetensors").string());
        const auto ids = ref.copy<std::int64_t>("input_ids");
        const auto greedy = ref.copy<std::int64_t>("greedy_ids");
        const auto logits = ref.copy<float>("logits");
        const QString idsFile = m_tmp.filePath("ids.json");
        std::ofstream(idsFile.toStdString()) << nlohmann::json(ids).dump();
        const QString logitsFile = m_tmp.filePath("logits.safetensors");
        auto r = run({"generate", "--model", model("tiny-gemma3"), "--token-ids", idsFile, "--max-new-tokens",
                      QString::number(greedy.size()), "--no-stop", "--logits-out", logitsFile});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(nlohmann::json::parse(r.out.split('\n').first().toStdString()).get<std::vector<std::int64_t>>(), greedy);
        auto out = sparsetrace::core::SafetensorsFile::open(logitsFile.toStdString());
        const auto got = out.copy<float>("logits");
        QCOMPARE(got.size(), logits.size());
        double err = 0;
        for (std::size_t i = 0; i < got.size(); ++i) err = std::max(err, std::abs(double(got[i]) - logits[i]));
        QVERIFY2(err <= 1e-4, qPrintable(QString::number(err)));
    }
    void textPromptUsesTheTokenizer()
    {
        ST_QREQUIRE_SHARED(shared);
        const QString dir = QString::fromStdString((shared / "assets/models/stories260K").string());
        auto r = run({"generate", "--model", dir, "--prompt", "Once upon a time", "--max-new-tokens", "12"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("there was a little girl"), qPrintable(r.out));
    }
    void badInputIsOneLine()
    {
        auto r = run({"generate", "--model", m_tmp.filePath("nowhere"), "--token-ids", m_tmp.filePath("ids.json"),
                      "--max-new-tokens", "2"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("config.json: cannot open"), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count('\n'), 0);
        const QString bad = m_tmp.filePath("bad.json");
        std::ofstream(bad.toStdString()) << "[1, \"x\"]";
        r = run({"generate", "--model", model("tiny-llama"), "--token-ids", bad, "--max-new-tokens", "2"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("expected a JSON list of integer token ids"), qPrintable(r.err));
        const QString big = m_tmp.filePath("big.json");
        std::ofstream(big.toStdString()) << "[1, 100000]";
        r = run({"generate", "--model", model("tiny-llama"), "--token-ids", big, "--max-new-tokens", "2"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("outside the vocabulary"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TstCliGenerate)
#include "tst_cli_generate.moc"
