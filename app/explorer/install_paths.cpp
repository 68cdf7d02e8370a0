// Install-relative data lookup of the explorer (see install_paths.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "install_paths.h"

#include <QDir>
#include <QFileInfo>

namespace sparsetrace::explorer {

namespace {
// <prefix>/share for a program in <prefix>/bin.
QString shareDir(const QString& applicationDir)
{
    return QDir::cleanPath(applicationDir + QStringLiteral("/../share"));
}
} // namespace

QString installedDataDir(const QString& applicationDir)
{
    const QString dir = shareDir(applicationDir) + QStringLiteral("/sparsetrace");
    return QFileInfo(dir).isDir() ? dir : QString();
}

QString demoTraceLocation(const QString& applicationDir)
{
    return shareDir(applicationDir) + QStringLiteral("/sparsetrace/demo/needle-retrieved.sptrace");
}

QString installedDemoTrace(const QString& applicationDir)
{
    const QString trace = demoTraceLocation(applicationDir);
    return QFileInfo(trace).isFile() ? trace : QString();
}

QIcon applicationIcon(const QString& applicationDir)
{
    // The sizes packaging/CMakeLists.txt renders, and the scalable original.
    QIcon files;
    const QString hicolor = shareDir(applicationDir) + QStringLiteral("/icons/hicolor");
    for (int size : {16, 32, 48, 64, 128, 256}) {
        const QString png = QStringLiteral("%1/%2x%2/apps/sparsetrace.png").arg(hicolor).arg(size);
        if (QFileInfo(png).isFile()) files.addFile(png, QSize(size, size));
    }
    const QString svg = hicolor + QStringLiteral("/scalable/apps/sparsetrace.svg");
    if (QFileInfo(svg).isFile()) files.addFile(svg);
    return QIcon::fromTheme(QStringLiteral("sparsetrace"), files);
}

} // namespace sparsetrace::explorer
