// The explorer finds its demo trace and icon relative to its install prefix (<prefix>/bin ->
// <prefix>/share), never in the build tree: lookups in made-up prefixes, and the real program
// run from a prefix laid out as the package installs it.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "install_paths.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

using namespace sparsetrace::explorer;

namespace {
const QString kDemoName = QStringLiteral("needle-retrieved.sptrace");

void makeDirs(const QString& root, const QStringList& dirs)
{
    for (const QString& d : dirs) QVERIFY(QDir(root).mkpath(d));
}
} // namespace

class TestInstallPaths : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        // Only the files laid out by each test may provide the icon, not the machine's themes.
        QIcon::setThemeSearchPaths({});
        QIcon::setFallbackSearchPaths({});
    }

    void noShareFolderMeansNotInstalled()
    {
        QTemporaryDir prefix;
        makeDirs(prefix.path(), {"bin"});
        const QString bin = prefix.filePath("bin");
        QVERIFY(installedDataDir(bin).isEmpty());
        QVERIFY(installedDemoTrace(bin).isEmpty());
        QCOMPARE(demoTraceLocation(bin), prefix.filePath("share/sparsetrace/demo/" + kDemoName));
        QVERIFY(applicationIcon(bin).isNull());
    }

    void findsDataAndDemoUnderPrefix()
    {
        QTemporaryDir prefix;
        makeDirs(prefix.path(), {"bin", "share/sparsetrace/demo"});
        const QString bin = prefix.filePath("bin");
        QCOMPARE(installedDataDir(bin), prefix.filePath("share/sparsetrace"));
        QVERIFY2(installedDemoTrace(bin).isEmpty(), "the demo folder without the trace is not a demo");
        QFile demo(prefix.filePath("share/sparsetrace/demo/" + kDemoName));
        QVERIFY(demo.open(QIODevice::WriteOnly));
        demo.close();
        QCOMPARE(installedDemoTrace(bin), demo.fileName());
        // A path with "..", as applicationDirPath() never gives but a caller might.
        QCOMPARE(installedDemoTrace(prefix.filePath("bin/../bin")), demo.fileName());
    }

    void iconFromInstalledHicolorFiles()
    {
        QTemporaryDir prefix;
        makeDirs(prefix.path(), {"bin", "share/icons/hicolor/16x16/apps", "share/icons/hicolor/48x48/apps"});
        for (int s : {16, 48}) {
            QImage img(s, s, QImage::Format_ARGB32);
            img.fill(Qt::darkCyan);
            QVERIFY(img.save(prefix.filePath(QStringLiteral("share/icons/hicolor/%1x%1/apps/sparsetrace.png").arg(s))));
        }
        const QIcon icon = applicationIcon(prefix.filePath("bin"));
        QVERIFY(!icon.isNull());
        const auto sizes = icon.availableSizes();
        QVERIFY2(sizes.contains(QSize(16, 16)) && sizes.contains(QSize(48, 48)), "both installed sizes are used");
        QCOMPARE(icon.pixmap(48, 48).toImage().pixelColor(10, 10), QColor(Qt::darkCyan));
    }

    // The built explorer, linked into <tmp>/bin next to a share/ folder, exports the demo with
    // --demo; run from the build tree it says the demo is not installed.
    void explorerDemoOption()
    {
        const QString exe = QStringLiteral(SPARSETRACE_EXPLORER_BIN);
        QProcess fromBuild;
        fromBuild.start(exe, {"--demo", "--export", QDir::temp().filePath("st-never-written.png")});
        QVERIFY(fromBuild.waitForFinished(60000));
        QCOMPARE(fromBuild.exitCode(), 1);
        QVERIFY2(fromBuild.readAllStandardError().contains("the demo trace is not installed"), "one clear message");

        // Inside the build folder so that a hard link (same file system) avoids copying the program.
        QTemporaryDir prefix(QStringLiteral(SPARSETRACE_BINARY_DIR "/tst_install_paths-XXXXXX"));
        QVERIFY(prefix.isValid());
        makeDirs(prefix.path(), {"bin", "share/sparsetrace/demo"});
        const QString linked = prefix.filePath("bin/sparsetrace-explorer");
        if (::link(QFile::encodeName(exe).constData(), QFile::encodeName(linked).constData()) != 0)
            QVERIFY(QFile::copy(exe, linked));
        QVERIFY(QFile::copy(QStringLiteral(SPARSETRACE_SOURCE_DIR "/resources/demo/") + kDemoName,
                            prefix.filePath("share/sparsetrace/demo/" + kDemoName)));
        const QString png = prefix.filePath("demo.png");
        QProcess installed;
        installed.start(linked, {"--demo", "--export", png, "--layer", "3", "--head", "5", "--width", "400", "--height", "300"});
        QVERIFY(installed.waitForFinished(60000));
        QVERIFY2(installed.exitCode() == 0, installed.readAllStandardError().constData());
        QImage figure(png);
        QCOMPARE(figure.size(), QSize(400, 300));

        QProcess both;
        both.start(linked, {"--demo", "--export", png, prefix.filePath("share/sparsetrace/demo/" + kDemoName)});
        QVERIFY(both.waitForFinished(60000));
        QCOMPARE(both.exitCode(), 2);
    }
};

QTEST_MAIN(TestInstallPaths)
#include "tst_install_paths.moc"
