// `sparsetrace-explorer --export` with no display: writes the figure at the requested size,
// reports bad input in one line with exit code 1; --version and --help work headless.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "shared_assets.h"

#include <QImage>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QtTest>

using namespace sparsetrace;

namespace {
QString fixture(const char* name) { return QString::fromStdString((test::fixturesDir() / "traces" / name).string()); }

struct Run {
    int code = -1;
    QString out, err;
};

Run explorer(const QStringList& args)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove("DISPLAY"); // no display, and no platform chosen: --export must pick offscreen
    env.remove("WAYLAND_DISPLAY");
    env.remove("QT_QPA_PLATFORM");
    env.insert("XDG_CONFIG_HOME", QDir::tempPath() + "/tst_headless_export_config");
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(SPARSETRACE_EXPLORER_BIN), args);
    if (!p.waitForFinished(60000)) return {};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}
} // namespace

class TestHeadlessExport : public QObject {
    Q_OBJECT
private slots:
    void exportsEachFormat_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("png") << "fig.png";
        QTest::newRow("svg") << "fig.svg";
        QTest::newRow("pdf") << "fig.pdf";
    }
    void exportsEachFormat()
    {
        QFETCH(QString, name);
        QTemporaryDir dir;
        const QString out = dir.filePath(name);
        const Run r = explorer({"--export", out, "--layer", "1", "--head", "0", "--width", "640", "--height", "480", "--dpi", "120",
                                fixture("sample-small.sptrace")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("wrote"));
        QVERIFY(QFileInfo(out).size() > 500);
        if (name.endsWith(".png")) {
            const QImage img(out);
            QCOMPARE(img.size(), QSize(640, 480));
        }
    }

    void badInputIsOneLine_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        QTest::newRow("truncated trace") << QStringList{"--export", "OUT.png", fixture("truncated.sptrace")} << "truncated.sptrace";
        QTest::newRow("layer out of range") << QStringList{"--export", "OUT.png", "--layer", "99", fixture("sample-small.sptrace")}
                                            << "layer 99 is out of range";
        QTest::newRow("unknown format") << QStringList{"--export", "OUT.gif", fixture("sample-small.sptrace")} << "unknown export format";
        QTest::newRow("unknown colormap") << QStringList{"--export", "OUT.png", "--colormap", "jet", fixture("sample-small.sptrace")}
                                          << "unknown colormap";
    }
    void badInputIsOneLine()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        args.replaceInStrings("OUT", dir.filePath("out"));
        const Run r = explorer(args);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(expected), qPrintable(r.err));
        // One line of ours (Qt may add environment notes such as XDG_RUNTIME_DIR).
        QCOMPARE(r.err.count("sparsetrace-explorer:"), 1);
        QVERIFY(r.err.split('\n').filter("sparsetrace-explorer:").first().contains(expected));
        QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty()); // nothing half-written
    }

    void versionAndHelp()
    {
        const Run v = explorer({"--version"});
        QCOMPARE(v.code, 0);
        QVERIFY(v.out.contains("sparsetrace-explorer"));
        const Run h = explorer({"--help"});
        QCOMPARE(h.code, 0);
        QVERIFY(h.out.contains("--export"));
    }
};

QTEST_MAIN(TestHeadlessExport)
#include "tst_headless_export.moc"
