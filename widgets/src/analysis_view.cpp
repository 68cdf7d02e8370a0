// Shared parts of the analysis views (see analysis_view.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/analysis_view.h"

#include "sparsetrace/core/error.h"

#include <QFontMetricsF>
#include <QPainter>
#include <QPicture>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace sparsetrace::widgets {

QCPColorGradient gradientFromColormap(ColormapId id)
{
    const auto& table = Colormap::get(id).table();
    QCPColorGradient g;
    g.clearColorStops();
    constexpr int kStops = 9;
    for (int i = 0; i < kStops; ++i) {
        const double t = static_cast<double>(i) / (kStops - 1);
        g.setColorStopAt(t, QColor::fromRgb(table[static_cast<std::size_t>(std::lround(t * 255.0))]));
    }
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(QColor(0xdd, 0xdd, 0xdd));
    g.setLevelCount(256);
    return g;
}

QColor categoricalColor(int i, int n)
{
    // Golden-ratio hue steps keep any two consecutive indices far apart; alternate the value
    // so that neighbours in hue still differ in brightness.
    const double hue = std::fmod(0.08 + 0.618033988749895 * i, 1.0);
    const double value = (i % 2 == 0) ? 0.82 : 0.62;
    (void)n;
    return QColor::fromHsvF(static_cast<float>(hue), 0.75f, static_cast<float>(value));
}

void styleAnalysisPlot(QCustomPlot* plot)
{
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPointSizeF(9.0);
    plot->setFont(font);
    for (QCPAxisRect* rect : plot->axisRects())
        for (QCPAxis* axis : rect->axes()) {
            axis->setTickLabelFont(font);
            axis->setLabelFont(font);
        }
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) {
            scale->axis()->setTickLabelFont(font);
            scale->axis()->setLabelFont(font);
        }
    plot->legend->setFont(font);
    plot->setNoAntialiasingOnDrag(true);
}

void exportPlots(const ExportRequest& request, const QString& caption, const QString& description,
                 const std::vector<QCustomPlot*>& plots, int columns)
{
    if (plots.empty()) throw ArgumentError("nothing to export: the view has no plot");
    columns = std::max(1, columns);
    exportPainting(request, caption, description, [&](QPainter& p, const QRectF& area) {
        QFont font(QStringLiteral("DejaVu Sans"));
        font.setPointSizeF(9.0);
        p.setFont(font);
        p.setPen(Qt::black);
        p.fillRect(area, Qt::white);
        QFontMetricsF fm(font, p.device());
        const double pad = fm.height() * 0.6;
        const QRectF text = fm.boundingRect(QRectF(area.left() + pad, area.top() + pad, area.width() - 2 * pad, 1e6),
                                            Qt::TextWordWrap | Qt::AlignLeft, caption);
        p.drawText(QRectF(area.left() + pad, area.top() + pad, area.width() - 2 * pad, text.height()),
                   Qt::TextWordWrap | Qt::AlignLeft | Qt::AlignTop, caption);
        const double top = area.top() + pad + text.height() + pad * 0.5;
        const int rows = static_cast<int>((plots.size() + static_cast<std::size_t>(columns) - 1) / static_cast<std::size_t>(columns));
        const double cellW = area.width() / columns, cellH = (area.bottom() - top) / rows;
        // Plots are recorded in a QPicture (96 dpi, QCustomPlot's pixel units); drawPicture scales
        // a picture to the device's resolution, so a cell of cellW device pixels is recorded
        // cellW / scale wide and fonts keep their point size on every device.
        const double scale = std::max(0.1, p.device()->logicalDpiY() / 96.0);
        for (std::size_t i = 0; i < plots.size(); ++i) {
            const int w = std::max(16, static_cast<int>(cellW / scale)), h = std::max(16, static_cast<int>(cellH / scale));
            QPicture picture;
            {
                QCPPainter painter(&picture);
                plots[i]->toPainter(&painter, w, h);
            }
            p.save();
            p.translate(area.left() + cellW * static_cast<double>(i % static_cast<std::size_t>(columns)),
                        top + cellH * static_cast<double>(i / static_cast<std::size_t>(columns)));
            p.drawPicture(0, 0, picture);
            p.restore();
        }
    });
}

} // namespace sparsetrace::widgets
