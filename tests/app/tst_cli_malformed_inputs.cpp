// Malformed inputs that need the model runtime, through `sparsetrace trace` on the committed
// tiny Llama: empty prompt, prompt longer than the context, unknown architecture, missing
// tokenizer, token ids out of range, and a truncated trace given to `info`. Each row states the
// whole stderr expected (one line) and exit code 1. (File-level cases: tests/core/tst_malformed_inputs.cpp.)
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_process.h"
#include "shared_assets.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

class TstCliMalformedInputs : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_llama; // tests/fixtures/models/tiny-llama (no tokenizer.json; max_position_embeddings 256)

    QString write(const QString& name, const QByteArray& bytes)
    {
        const QString path = m_tmp.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size()) qFatal("cannot write %s", qPrintable(path));
        return path;
    }

    QString idsFile(const QString& name, int count, int first = 1)
    {
        nlohmann::json ids = nlohmann::json::array();
        for (int i = 0; i < count; ++i) ids.push_back(first + i % 300);
        return write(name, QByteArray::fromStdString(ids.dump()));
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_llama = QString::fromStdString((sparsetrace::test::fixturesDir() / "models" / "tiny-llama").string());
    }

    void traceRefuses_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected"); // stderr without the "sparsetrace: error: " prefix
        const QString out = m_tmp.filePath("out.sptrace");
        const QStringList common = {"--check-tokens", "0", "--device", "cpu", "-o", out};

        QTest::newRow("empty prompt file") << (QStringList{"trace", "--model", m_llama, "--prompt-file", write("empty.txt", {})} + common)
                                           << "the prompt is empty: give a prompt text or token ids";
        QTest::newRow("empty token list") << (QStringList{"trace", "--model", m_llama, "--token-ids", write("none.json", "[]")} + common)
                                          << "the prompt is empty: give a prompt text or token ids";
        QTest::newRow("prompt longer than the context")
            << (QStringList{"trace", "--model", m_llama, "--token-ids", idsFile("long.json", 300)} + common)
            << "the prompt has 300 tokens (+0 to check) but the model's max_position_embeddings is 256 (allow it explicitly to go beyond)";
        QTest::newRow("missing tokenizer") << (QStringList{"trace", "--model", m_llama, "--prompt", "Once upon a time"} + common)
                                           << m_llama + ": tokenizer.json is missing (needed to tokenize the prompt; pass token ids instead)";
        QTest::newRow("token id outside the vocabulary")
            << (QStringList{"trace", "--model", m_llama, "--token-ids", write("big.json", "[1, 384]")} + common)
            << "token id 384 is outside the vocabulary of 384";
        const QString huge = write("huge.json", "[1, 1e300]");
        QTest::newRow("token id as a huge float") << (QStringList{"trace", "--model", m_llama, "--token-ids", huge} + common)
                                                  << huge + ": expected a JSON list of integer token ids";
        const QString wide = write("wide.json", "[1, 4294967297]");
        QTest::newRow("token id beyond int32") << (QStringList{"trace", "--model", m_llama, "--token-ids", wide} + common)
                                               << wide + ": token id 4294967297 is out of range";

        // The score rule: --representative is the old name of --score; both only when they agree.
        const QString ids = idsFile("rule.json", 8);
        QTest::newRow("unknown score rule") << (QStringList{"trace", "--model", m_llama, "--token-ids", ids, "--score", "middle"} + common)
                                            << "score rule must be \"centre\", \"first\" or \"bound\", not \"middle\"";
        QTest::newRow("score and representative disagree")
            << (QStringList{"search-k", "--model", m_llama, "--token-ids", ids, "--score", "bound", "--representative", "centre"} + common)
            << "--score bound and --representative centre name different rules; give one (--representative is the old name of --score)";
        QTest::newRow("unknown score rule in a sweep")
            << QStringList{"niah", "--model", m_llama, "--lengths", "100", "--depths", "50", "--k", "4", "--score", "first-ish",
                           "--out", m_tmp.filePath("sweep")}
            << "score rule must be \"centre\", \"first\" or \"bound\", not \"first-ish\"";
        const QStringList eightTokens = {"trace", "--model", m_llama, "--token-ids", idsFile("eight.json", 8), "--check-tokens", "0"};
        QTest::newRow("reference backend on CUDA")
            << (eightTokens + QStringList{"--device", "cuda", "--backend", "reference", "-o", out})
            << "the reference Stream-Attn backend runs on the CPU only, not on cuda";
        QTest::newRow("unknown backend") << (eightTokens + QStringList{"--device", "cpu", "--backend", "fast", "-o", out})
                                         << "the CPU backend must be \"eigen\" or \"reference\", not \"fast\"";

        // A model folder whose config.json names an architecture we do not run.
        const QString mamba = m_tmp.filePath("mamba");
        QDir().mkpath(mamba);
        {
            std::ifstream in((sparsetrace::test::fixturesDir() / "models" / "tiny-llama" / "config.json").string());
            nlohmann::json config = nlohmann::json::parse(in);
            config["architectures"] = {"MambaForCausalLM"};
            std::ofstream((mamba + "/config.json").toStdString()) << config.dump(1);
        }
        QTest::newRow("unknown architecture")
            << (QStringList{"trace", "--model", mamba, "--token-ids", idsFile("ids.json", 8)} + common)
            << mamba + "/config.json: key \"architectures\" names MambaForCausalLM; supported are LlamaForCausalLM, "
                       "Qwen2ForCausalLM and Gemma3ForCausalLM (text)";
    }
    void traceRefuses()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        const auto r = sparsetrace::test::runCli(args);
        QCOMPARE(r.err, "sparsetrace: error: " + expected + "\n");
        QCOMPARE(r.code, 1);
        QVERIFY(!QFile::exists(m_tmp.filePath("out.sptrace"))); // nothing half-written
    }

    void infoRefusesATruncatedTrace()
    {
        QFile sample(QString::fromStdString((sparsetrace::test::fixturesDir() / "traces" / "sample-small.sptrace").string()));
        QVERIFY(sample.open(QIODevice::ReadOnly));
        const QByteArray bytes = sample.readAll();
        // The 8-byte little-endian header length, then the JSON header: keep 4096 data bytes.
        qint64 header = 0;
        for (int i = 7; i >= 0; --i) header = header * 256 + static_cast<unsigned char>(bytes[i]);
        const QString cut = write("cut.sptrace", bytes.left(8 + header + 4096));
        const auto r = sparsetrace::test::runCli({"info", cut});
        QCOMPARE(r.err, "sparsetrace: error: " + cut +
                            ": tensor layer_dense: data ends at byte 35096 but the file holds 4096 data bytes (truncated?)\n");
        QCOMPARE(r.code, 1);
    }
};

QTEST_GUILESS_MAIN(TstCliMalformedInputs)
#include "tst_cli_malformed_inputs.moc"
