// `sparsetrace-explorer --export OUT --layer L --head H TRACE`: writes a figure without a
// window (and without a display: main() selects the offscreen platform).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QSize>
#include <QString>

#include <iosfwd>

namespace sparsetrace::explorer {

struct HeadlessExport {
    QString trace;
    QString output;
    int layer = 0;
    int head = 0;
    QSize size{1600, 1200};
    double dpi = 200.0;
    QString colormap = QStringLiteral("viridis");
    QString scale = QStringLiteral("linear");
    bool hideSinks = false;
    QString compare; // optional second trace: exports the difference
};

// Returns the process exit code: 0 written, 1 on any error (one line on `err`).
int runHeadlessExport(const HeadlessExport& request, std::ostream& out, std::ostream& err);

} // namespace sparsetrace::explorer
