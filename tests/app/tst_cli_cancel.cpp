// Ctrl-C in the CLI (app/cli/interrupt.h): SIGINT during `sparsetrace trace` stops the run after
// the running layer, exits with 130 and "cancelled", and writes no trace.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "shared_assets.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <fstream>

class TstCliCancel : public QObject {
    Q_OBJECT
private slots:
    void ctrlCCancelsAndWritesNothing()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        // A prompt long enough that the run is still going when the signal comes: 4096 tokens
        // beyond the tiny model's context, through the slow reference backend, with fidelity.
        const QString ids = tmp.filePath("ids.json");
        {
            std::ofstream out(ids.toStdString());
            out << "[";
            for (int i = 0; i < 4096; ++i) out << (i ? "," : "") << 1 + i % 300;
            out << "]";
        }
        const QString model = QString::fromStdString((sparsetrace::test::fixturesDir() / "models" / "tiny-llama").string());
        const QString output = tmp.filePath("out.sptrace");
        QProcess p;
        p.start(qEnvironmentVariable("SPARSETRACE_CLI"),
                {"trace", "--model", model, "--token-ids", ids, "--allow-beyond-context", "--backend", "reference", "--fidelity",
                 "--check-tokens", "1", "-o", output});
        QVERIFY(p.waitForStarted(30000));
        // The estimate is printed before the model loads: the run has begun.
        QByteArray err;
        QElapsedTimer timer;
        timer.start();
        while (!err.contains("estimate:") && timer.elapsed() < 120000 && p.state() == QProcess::Running) {
            p.waitForReadyRead(100);
            err += p.readAllStandardError();
        }
        QVERIFY2(err.contains("estimate:"), err.constData());
        QVERIFY2(p.state() == QProcess::Running, "the run finished before it could be interrupted");
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(120000));
        err += p.readAllStandardError();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 130);
        QVERIFY2(err.contains("sparsetrace: cancelled"), err.constData());
        QVERIFY(!QFile::exists(output));
    }
};

QTEST_GUILESS_MAIN(TstCliCancel)
#include "tst_cli_cancel.moc"
