// Where the installed explorer finds its data (demo traces, icons): <prefix>/share, located from
// the executable's own folder <prefix>/bin, so a package or `cmake --install` to any prefix works
// and nothing points into the build tree.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QIcon>
#include <QString>

namespace sparsetrace::explorer {

// <prefix>/share/sparsetrace for a program in <prefix>/bin, or empty when that folder does not
// exist (a program run from its build folder).
QString installedDataDir(const QString& applicationDir);

// Where the bundled demo trace is installed: <prefix>/share/sparsetrace/demo/needle-retrieved.sptrace.
QString demoTraceLocation(const QString& applicationDir);

// demoTraceLocation() when that file exists, else empty.
QString installedDemoTrace(const QString& applicationDir);

// The application icon: the desktop's icon theme first (hicolor, where the package puts it), then
// the PNG and SVG files under <prefix>/share/icons/hicolor; a null icon when neither has it.
QIcon applicationIcon(const QString& applicationDir);

} // namespace sparsetrace::explorer
