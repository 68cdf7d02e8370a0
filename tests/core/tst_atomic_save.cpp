// Saving is atomic: a writer SIGKILLed in the middle of writeTraceFile leaves the earlier trace
// byte-identical; its temporary (PATH.tmp-PID-N, refused by the reader as truncated) is removed
// by the next save, while a temporary of a still-running writer is left alone.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/trace_file.h"

#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

using namespace sparsetrace;

namespace {
QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

std::shared_ptr<core::OwnedTrace> smallTrace(std::uint64_t seed)
{
    core::SyntheticTraceSpec spec;
    spec.promptTokens = 64;
    spec.params.bq = spec.params.bk = 8;
    spec.params.k = 2;
    spec.params.sinks = 8;
    spec.params.window = 8;
    spec.seed = seed;
    return core::makeSyntheticTrace(spec);
}
} // namespace

class TestAtomicSave : public QObject {
    Q_OBJECT

private slots:
    void killedMidSaveKeepsTheEarlierFile()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString path = tmp.filePath("run.sptrace");
        core::writeTraceFile(*smallTrace(1), path.toStdString());
        const QByteArray before = readAll(path);
        QVERIFY(!before.isEmpty());

        // The helper stops after 4 MB of its ~23 MB trace (in the layers' data) and is killed there.
        constexpr qint64 pauseAfter = 4 << 20;
        QProcess helper;
        helper.start(KILL_MID_SAVE_HELPER, {path, QString::number(pauseAfter)});
        QVERIFY2(helper.waitForStarted(), qPrintable(helper.errorString()));
        QByteArray line;
        while (!line.contains('\n') && helper.waitForReadyRead(120000)) line += helper.readAllStandardOutput();
        QVERIFY2(line.startsWith("paused "), qPrintable(line + helper.readAllStandardError()));
        const QList<QByteArray> fields = line.trimmed().split(' ');
        QCOMPARE(fields.size(), 3);
        const QString temporary = QString::fromUtf8(fields[1]);
        QCOMPARE(QFileInfo(temporary).absolutePath(), QFileInfo(path).absolutePath());
        QVERIFY(fields[2].toLongLong() >= pauseAfter);

        helper.kill(); // SIGKILL: no destructor, no cleanup
        QVERIFY(helper.waitForFinished(30000));
        QCOMPARE(helper.exitStatus(), QProcess::CrashExit);

        // The earlier trace is untouched and still opens.
        QCOMPARE(readAll(path), before);
        QCOMPARE(core::TraceFile::open(path.toStdString())->info().promptTokens, std::int64_t(64));

        // What the kill left: the half-written temporary, named so that no *.sptrace glob or file
        // dialog offers it, and refused by the reader as truncated.
        QVERIFY(QFileInfo::exists(temporary));
        QCOMPARE(QFileInfo(temporary).size(), fields[2].toLongLong());
        QVERIFY(!temporary.endsWith(".sptrace"));
        QCOMPARE(QDir(tmp.path()).entryList({"*.sptrace"}, QDir::Files), QStringList{"run.sptrace"});
        try {
            core::TraceFile::open(temporary.toStdString());
            QFAIL("the half-written temporary opened as a trace");
        } catch (const FormatError& e) {
            QVERIFY2(QString(e.what()).endsWith("data bytes (truncated?)"), e.what());
        }

        // A temporary of a writer that is still running (this process) must survive the cleanup.
        const QString live = path + ".tmp-" + QString::number(::getpid()) + "-7";
        {
            QFile f(live);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("in progress");
        }

        // The next save replaces the file and removes the dead writer's temporary.
        const auto next = smallTrace(2);
        core::writeTraceFile(*next, path.toStdString());
        QVERIFY(!QFileInfo::exists(temporary));
        QVERIFY(QFileInfo::exists(live));
        QCOMPARE(QDir(tmp.path()).entryList(QDir::Files | QDir::NoDotAndDotDot), (QStringList{"run.sptrace", QFileInfo(live).fileName()}));
        QVERIFY(readAll(path) != before);
        QCOMPARE(core::TraceFile::open(path.toStdString())->layer(0).index.size(), next->layer(0).index.size());
    }

    void staleTemporariesOnlyOfThisFile()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString path = tmp.filePath("a.sptrace");
        // PID 2^22 + 1 is above Linux's pid_max ceiling (2^22): no process can have it.
        const QStringList names = {"a.sptrace.tmp-4194305-1", "b.sptrace.tmp-4194305-1", "a.sptrace.tmp-notapid-1",
                                   "a.sptrace.tmp-4194305-1.keep"};
        for (const QString& n : names) {
            QFile f(tmp.filePath(n));
            QVERIFY(f.open(QIODevice::WriteOnly));
        }
        QCOMPARE(core::AtomicFileWriter::removeStaleTemporaries(path.toStdString()), 1);
        QStringList left = QDir(tmp.path()).entryList(QDir::Files);
        QCOMPARE(left, (QStringList{"a.sptrace.tmp-4194305-1.keep", "a.sptrace.tmp-notapid-1", "b.sptrace.tmp-4194305-1"}));
    }
};

QTEST_GUILESS_MAIN(TestAtomicSave)
#include "tst_atomic_save.moc"
