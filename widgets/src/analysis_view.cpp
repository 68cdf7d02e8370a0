// Shared parts of the analysis views (see analysis_view.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/analysis_view.h"

#include "sparsetrace/core/error.h"

#include <QEvent>
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

namespace {

// Paints a plot's background, axes, grid and legend in `palette`'s colours.
void applyPlotColours(QCustomPlot* plot, const QPalette& palette)
{
    const QColor text = palette.color(QPalette::Active, QPalette::Text);
    const QColor base = palette.color(QPalette::Active, QPalette::Base);
    QColor grid = text;
    grid.setAlpha(45);
    plot->setBackground(base);
    for (QCPAxisRect* rect : plot->axisRects())
        for (QCPAxis* axis : rect->axes()) {
            axis->setBasePen(QPen(text, 0));
            axis->setTickPen(QPen(text, 0));
            axis->setSubTickPen(QPen(text, 0));
            axis->setTickLabelColor(text);
            axis->setLabelColor(text);
            axis->grid()->setPen(QPen(grid, 0, Qt::DotLine));
        }
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) {
            scale->axis()->setBasePen(QPen(text, 0));
            scale->axis()->setTickPen(QPen(text, 0));
            scale->axis()->setSubTickPen(QPen(text, 0));
            scale->axis()->setTickLabelColor(text);
            scale->axis()->setLabelColor(text);
        }
    QColor legendBack = base;
    legendBack.setAlpha(215);
    plot->legend->setBrush(legendBack);
    plot->legend->setBorderPen(QPen(text, 0));
    plot->legend->setTextColor(text);
}

// Re-colours its plot when the application's palette changes (the system went dark or light).
class PaletteFollower : public QObject {
public:
    static constexpr const char* kName = "sparsetrace-palette-follower";
    explicit PaletteFollower(QCustomPlot* plot) : QObject(plot), m_plot(plot)
    {
        setObjectName(QLatin1String(kName));
        plot->installEventFilter(this);
    }
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (watched == m_plot && event->type() == QEvent::PaletteChange) {
            applyPlotColours(m_plot, m_plot->palette());
            m_plot->replot(QCustomPlot::rpQueuedReplot);
        }
        return false;
    }

private:
    QCustomPlot* m_plot;
};

// Light colours for the duration of an export (figures are printed on white), then the screen's.
class LightForExport {
public:
    explicit LightForExport(QCustomPlot* plot) : m_plot(plot)
    {
        QPalette light;
        light.setColor(QPalette::Text, Qt::black);
        light.setColor(QPalette::Base, Qt::white);
        applyPlotColours(plot, light);
    }
    ~LightForExport() { applyPlotColours(m_plot, m_plot->palette()); }
    LightForExport(const LightForExport&) = delete;
    LightForExport& operator=(const LightForExport&) = delete;

private:
    QCustomPlot* m_plot;
};

} // namespace

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
    applyPlotColours(plot, plot->palette());
    // (By name: PaletteFollower has no Q_OBJECT, so findChild<PaletteFollower*> would match any child.)
    if (!plot->findChild<QObject*>(QLatin1String(PaletteFollower::kName), Qt::FindDirectChildrenOnly)) new PaletteFollower(plot);
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
                const LightForExport light(plots[i]);
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
