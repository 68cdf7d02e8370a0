// Headless figure export (see headless_export.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "headless_export.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/widgets/async_jobs.h"
#include "sparsetrace/widgets/figure.h"

#include <ostream>

namespace sparsetrace::explorer {

int runHeadlessExport(const HeadlessExport& r, std::ostream& out, std::ostream& err)
{
    try {
        if (r.colormap.compare("viridis", Qt::CaseInsensitive) != 0 && r.colormap.compare("magma", Qt::CaseInsensitive) != 0 &&
            r.colormap.compare("cividis", Qt::CaseInsensitive) != 0 && r.colormap.compare("diverging", Qt::CaseInsensitive) != 0)
            throw ArgumentError("unknown colormap \"" + r.colormap.toStdString() + "\" (viridis, magma, cividis, diverging)");
        if (r.scale != "linear" && r.scale != "log") throw ArgumentError("unknown scale \"" + r.scale.toStdString() + "\" (linear, log)");
        auto trace = widgets::TraceLoader::openNow(r.trace);
        widgets::MapFigure figure;
        figure.snapshot = widgets::prepareSnapshot(trace, r.layer, r.head);
        if (!r.compare.isEmpty()) {
            auto other = widgets::TraceLoader::openNow(r.compare);
            figure.compare = widgets::prepareSnapshot(other, r.layer, r.head);
            if (figure.compare->rows != figure.snapshot->rows || figure.compare->keyBlocks != figure.snapshot->keyBlocks)
                throw ArgumentError(r.compare.toStdString() + ": does not trace the same prompt shape as " + r.trace.toStdString());
        }
        figure.view = widgets::fullView(*figure.snapshot);
        figure.colormap = widgets::colormapFromName(r.colormap);
        figure.scale = widgets::colorScaleFromName(r.scale);
        figure.pool.hideSinks = r.hideSinks;
        widgets::exportFigure(figure, {r.output, r.size, r.dpi});
        out << "wrote " << r.output.toStdString() << " (" << r.size.width() << "x" << r.size.height() << ", " << r.dpi
            << " dpi): layer " << r.layer << ", head " << r.head << "\n";
        return 0;
    } catch (const std::exception& e) {
        err << "sparsetrace-explorer: " << e.what() << "\n";
        return 1;
    }
}

} // namespace sparsetrace::explorer
