// The map figure on QCustomPlot: plottable, tickers, captured strip, colour bar, caption, and
// the PNG/SVG/PDF writers (see figure.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/figure.h"

#include "sparsetrace/core/error.h"

#include <QFileInfo>
#include <QFontMetricsF>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparsetrace::widgets {

ColorSpec MapFigure::colorSpec() const
{
    if (compare) return differenceColorSpec(*snapshot, *compare, pool.hideSinks);
    return colorSpecFor(*snapshot, colormap, scale, pool.hideSinks);
}

QImage MapFigure::render(QSize size, PooledMap* pooledOut) const
{
    RenderScratch scratch;
    QImage img = renderInto(*this, size, scratch);
    if (pooledOut) *pooledOut = std::move(scratch.pooled);
    return img;
}

QImage renderInto(const MapFigure& f, QSize size, RenderScratch& scratch)
{
    poolViewInto(scratch.pooled, *f.snapshot, f.view, size, f.pool);
    if (f.compare) {
        poolViewInto(scratch.compare, *f.compare, f.view, size, PoolOptions{f.pool.hideSinks, false});
        subtractInPlace(scratch.pooled, scratch.compare);
    }
    colouriseInto(scratch.image, scratch.pooled, f.colorSpec());
    return scratch.image;
}

QString traceModelName(const core::TraceInfo& i)
{
    return QString::fromStdString(i.provenance.modelName.empty() ? i.model.architecture : i.provenance.modelName);
}

QString traceShapeText(const core::TraceInfo& i)
{
    const core::StreamParams& p = i.params;
    QString c = QStringLiteral("T = %1 tokens").arg(i.promptTokens);
    if (i.generatedTokens > 0) c += QStringLiteral(" + %1 generated").arg(i.generatedTokens);
    c += QStringLiteral(" · bq %1, bk %2, K %3, sinks %4, window %5, score %6")
             .arg(p.bq)
             .arg(p.bk)
             .arg(p.k)
             .arg(p.sinks)
             .arg(p.window)
             .arg(QString::fromStdString(std::string(core::scoreRuleName(p.score))));
    return c;
}

QString figureCaption(const MapFigure& f)
{
    const MapSnapshot& s = *f.snapshot;
    const core::TraceInfo& i = s.info();
    QString c = QStringLiteral("%1 · layer %2/%3 · head %4/%5 · %6")
                    .arg(traceModelName(i))
                    .arg(s.layer)
                    .arg(i.model.layers)
                    .arg(s.head)
                    .arg(i.model.heads)
                    .arg(traceShapeText(i));
    if (s.view.dense) c += QStringLiteral(" · dense layer");
    if (f.compare) {
        const core::TraceInfo& j = f.compare->info();
        c += QStringLiteral(" · difference with %1").arg(QString::fromStdString(j.provenance.modelName));
    } else {
        c += QStringLiteral(" · %1 scale · %2").arg(colorScaleName(f.scale), colormapName(f.colormap));
    }
    if (f.pool.hideSinks) c += QStringLiteral(" · sinks hidden");
    return c;
}

std::vector<double> niceTicks(double lo, double hi, int maxTicks)
{
    std::vector<double> ticks;
    if (!(hi > lo) || maxTicks < 1) return ticks;
    const double raw = (hi - lo) / maxTicks;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return ticks;
}

QString formatTokens(std::int64_t t)
{
    if (t >= 1000000 && t % 1000000 == 0) return QStringLiteral("%1M").arg(t / 1000000);
    if (t >= 10000 && t % 1000 == 0) return QStringLiteral("%1k").arg(t / 1000);
    return QString::number(t);
}

namespace {
QString barLabel(const MapFigure& f)
{
    if (f.compare) return QStringLiteral("mass difference A − B (fraction of the row)");
    return f.scale == ColorScale::Log ? QStringLiteral("attention mass per block (log scale)")
                                      : QStringLiteral("attention mass per block (fraction of the row)");
}

// QCustomPlot has no viridis preset: every gradient is our own 256-entry table, one stop per
// entry, so that the colour bar shows exactly the colours of the map.
QCPColorGradient gradientOf(ColormapId id)
{
    QCPColorGradient g;
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    g.setLevelCount(256);
    QMap<double, QColor> stops;
    const auto& table = Colormap::get(id).table();
    for (std::size_t i = 0; i < table.size(); ++i) stops.insert(static_cast<double>(i) / 255.0, QColor::fromRgb(table[i]));
    g.setColorStops(stops);
    return g;
}

// Breaks a " · "-separated caption into lines no wider than `width` (parts stay whole).
QString wrapCaption(const QString& caption, const QFont& font, double width)
{
    const QFontMetricsF fm(font);
    const QStringList parts = caption.split(QStringLiteral(" · "));
    QString out, line;
    for (const QString& part : parts) {
        const QString candidate = line.isEmpty() ? part : line + QStringLiteral(" · ") + part;
        if (!line.isEmpty() && fm.horizontalAdvance(candidate) > width) {
            out += line + QLatin1Char('\n');
            line = part;
        } else {
            line = candidate;
        }
    }
    return out + line;
}
} // namespace

// Labels axis coordinates (key blocks, or rows) in token positions. A coordinate below
// `m_boundary` covers `m_perUnit` tokens per unit (blocks); above it, one token per unit starting
// at token `m_tokensAtBoundary` (the generated tokens' rows). Ticks fall on nice token numbers,
// as many as the axis length gives room for.
class TokenTicker : public QCPAxisTicker {
public:
    explicit TokenTicker(QCPAxis* axis) : m_axis(axis) {}
    void configure(double perUnit, double boundary, std::int64_t tokensAtBoundary)
    {
        m_perUnit = perUnit;
        m_boundary = boundary;
        m_tokensAtBoundary = tokensAtBoundary;
    }
    void generate(const QCPRange& range, const QLocale&, QChar, int, QVector<double>& ticks, QVector<double>* subTicks,
                  QVector<QString>* labels) override
    {
        ticks.clear();
        if (subTicks) subTicks->clear();
        if (labels) labels->clear();
        if (!(range.size() > 0)) return;
        // Room: the plot's viewport, not the axis rect of the last layout, so that the ticks of a
        // layout do not depend on the layout before it (exports lay out once and must agree).
        const QFontMetricsF fm(m_axis->tickLabelFont());
        const bool horizontal = m_axis->orientation() == Qt::Horizontal;
        const QRect viewport = m_axis->parentPlot()->viewport();
        const double length = 0.8 * (horizontal ? viewport.width() : viewport.height());
        const double spacing = horizontal ? fm.horizontalAdvance(QStringLiteral("0000k")) * 1.8 : fm.height() * 2.5;
        const double room = std::max(2.0, length / std::max(1.0, spacing));
        auto add = [&](double coord, std::int64_t token) {
            ticks.push_back(coord);
            if (labels) labels->push_back(formatTokens(token));
        };
        const double lo = std::max(range.lower, 0.0), hi = std::min(range.upper, m_boundary);
        if (hi > lo) {
            const int n = std::max(1, static_cast<int>(room * (hi - lo) / range.size()));
            for (double t : niceTicks(lo * m_perUnit, hi * m_perUnit, n)) add(t / m_perUnit, std::llround(t));
        }
        if (range.upper > m_boundary) {
            const double g0 = std::max(range.lower, m_boundary) - m_boundary, g1 = range.upper - m_boundary;
            const int n = static_cast<int>(room * (g1 - g0) / range.size());
            if (n >= 1)
                for (double t : niceTicks(g0, g1, n))
                    if (t > 0.0) add(m_boundary + t, m_tokensAtBoundary + std::llround(t));
        }
    }

private:
    QCPAxis* m_axis;
    double m_perUnit = 1.0;
    double m_boundary = std::numeric_limits<double>::infinity();
    std::int64_t m_tokensAtBoundary = 0;
};

// Draws the pooled map image. The image covers `m_view`; when that is the current view at the
// axis rect's size it is blitted pixel for pixel, otherwise (a zoom or pan whose image is still
// being pooled) it is stretched into place without smoothing. Also draws the line that
// separates the prompt's rows from the generated tokens' rows.
class MapImagePlottable : public QCPAbstractPlottable {
public:
    MapImagePlottable(QCPAxis* keyAxis, QCPAxis* valueAxis) : QCPAbstractPlottable(keyAxis, valueAxis)
    {
        setAntialiased(false);
        setSelectable(QCP::stNone);
    }
    QImage image;              // [H, W] RGB32
    ViewRect view;             // what the image shows
    double generatedRow = -1;  // first generated token's row, < 0 when none
    QColor lineColour = Qt::black;
    QFont font;
    double scale = 1.0;

    double selectTest(const QPointF&, bool, QVariant*) const override { return -1.0; }
    QCPRange getKeyRange(bool& found, QCP::SignDomain) const override
    {
        found = !image.isNull();
        return QCPRange(view.x0, view.x1);
    }
    QCPRange getValueRange(bool& found, QCP::SignDomain, const QCPRange&) const override
    {
        found = !image.isNull();
        return QCPRange(view.y0, view.y1);
    }

protected:
    void draw(QCPPainter* p) override
    {
        const QRect r = mKeyAxis->axisRect()->rect();
        const QCPRange xr = mKeyAxis->range(), yr = mValueAxis->range();
        const double sx = r.width() / xr.size(), sy = r.height() / yr.size();
        p->save();
        p->setRenderHint(QPainter::SmoothPixmapTransform, false);
        p->setRenderHint(QPainter::Antialiasing, false);
        p->setClipRect(r); // the image and the separator stay on the map
        if (!image.isNull()) {
            const QRectF target(r.left() + (view.x0 - xr.lower) * sx, r.top() + (view.y0 - yr.lower) * sy, view.width() * sx,
                                view.height() * sy);
            // A HiDPI image (devicePixelRatio > 1) covers the rect at its logical size.
            const bool exact = image.deviceIndependentSize().toSize() == r.size() && std::abs(target.left() - r.left()) < 1e-6 &&
                               std::abs(target.top() - r.top()) < 1e-6 && std::abs(target.width() - r.width()) < 1e-6 &&
                               std::abs(target.height() - r.height()) < 1e-6;
            if (exact) p->drawImage(r.topLeft(), image);
            else p->drawImage(target, image);
        }
        if (generatedRow > yr.lower && generatedRow < yr.upper) {
            const double y = r.top() + (generatedRow - yr.lower) * sy;
            QPen sep(lineColour, std::max(1.0, scale), Qt::DashLine);
            p->setPen(sep);
            p->drawLine(QPointF(r.left(), y), QPointF(r.right() + 1, y));
            // The label sits in the margin right of the map, reading down from the separator
            // (up to it when the generated rows are too short), never over a row of the map.
            p->setClipRect(clipRect());
            p->setFont(font);
            p->setPen(lineColour);
            const QFontMetricsF fm(font);
            const QString label = QStringLiteral("generated");
            const double w = fm.horizontalAdvance(label), x = r.right() + 1 + 2 * scale + fm.descent();
            const bool down = r.bottom() - y >= w + 2 * scale || y - r.top() < w;
            p->translate(x, down ? y + 2 * scale : y - 2 * scale - w);
            p->rotate(90);
            p->drawText(QPointF(0, 0), label);
        }
        p->restore();
    }
    // The map's pixels, and the margin right of it for the separator's label.
    QRect clipRect() const override
    {
        const QRect r = mKeyAxis->axisRect()->rect();
        return r.adjusted(0, 0, mKeyAxis->axisRect()->margins().right(), 0);
    }
    void drawLegendIcon(QCPPainter*, const QRectF&) const override {}
};

// Per pixel row of the map, the lowest captured mass of the rows it covers, as a bar from the
// left (blue) over red (the mass that the kept blocks missed); grey where nothing is known.
class CapturedStrip : public QCPLayoutElement {
public:
    CapturedStrip(QCustomPlot* plot, QCPAxisRect* map) : QCPLayoutElement(plot), m_map(map) {}
    std::vector<float> captured; // [image height] float32
    QColor frame = Qt::black;
    QFont font;
    double scale = 1.0;
    void setWidth(int w)
    {
        setMinimumSize(w, 0);
        setMaximumSize(w, QWIDGETSIZE_MAX);
    }

protected:
    void draw(QCPPainter* p) override
    {
        const QRect m = m_map->rect();
        const QRectF strip(rect().left(), m.top(), rect().width(), m.height());
        p->save();
        p->fillRect(strip, QColor(0xd0, 0x5a, 0x4e));
        const double rowHeight = strip.height() / std::max<std::size_t>(1, captured.size());
        for (std::size_t y = 0; y < captured.size(); ++y) {
            const float c = captured[y];
            const double top = strip.top() + static_cast<double>(y) * rowHeight;
            if (std::isnan(c)) p->fillRect(QRectF(strip.left(), top, strip.width(), rowHeight), QColor(0xee, 0xee, 0xee));
            else p->fillRect(QRectF(strip.left(), top, strip.width() * std::clamp(c, 0.0f, 1.0f), rowHeight), QColor(0x4a, 0x7f, 0xb5));
        }
        p->setPen(QPen(frame, std::max(1.0, scale)));
        p->setBrush(Qt::NoBrush);
        p->drawRect(strip);
        // The label reads upwards under the strip, in the axis margin; a smaller font where the
        // margin is shorter than the word, so that it is never cut off.
        const QString label = QStringLiteral("captured");
        QFont labelFont = font;
        const double room = outerRect().bottom() - strip.bottom() - 6 * scale;
        const double wide = QFontMetricsF(labelFont).horizontalAdvance(label);
        if (wide > room && room > 0) {
            const double shrink = std::max(0.5, room / wide);
            if (labelFont.pointSizeF() > 0) labelFont.setPointSizeF(labelFont.pointSizeF() * shrink);
            else labelFont.setPixelSize(std::max(1, static_cast<int>(labelFont.pixelSize() * shrink)));
        }
        const QFontMetricsF fm(labelFont);
        p->setFont(labelFont);
        p->translate(strip.center().x() + fm.ascent() / 2 - fm.descent() / 2, strip.bottom() + 4 * scale);
        p->rotate(-90);
        p->drawText(QPointF(-fm.horizontalAdvance(label), 0), label);
        p->restore();
    }

private:
    QCPAxisRect* m_map;
};

MapPlot::MapPlot(QWidget* parent) : QCustomPlot(parent)
{
    setAutoAddPlottableToLegend(false);
    legend->setVisible(false);
    // Crisp frames and ticks; the map itself is never smoothed (MapImagePlottable).
    setNotAntialiasedElements(QCP::aeAll);
    setPlottingHint(QCP::phCacheLabels, true);
    yAxis->setRangeReversed(true); // queries run down
    for (QCPAxis* a : {xAxis, yAxis, xAxis2, yAxis2}) {
        a->grid()->setVisible(false);
        a->setSubTicks(false);
    }
    // The top and right axes only close the frame around the map.
    for (QCPAxis* a : {xAxis2, yAxis2}) {
        a->setVisible(true);
        a->setTicks(false);
        a->setTickLabels(false);
    }
    xAxis->setLabel(QStringLiteral("key position (tokens)"));
    yAxis->setLabel(QStringLiteral("query position (tokens)"));
    m_keyTicker = QSharedPointer<TokenTicker>::create(xAxis);
    m_queryTicker = QSharedPointer<TokenTicker>::create(yAxis);
    xAxis->setTicker(m_keyTicker);
    yAxis->setTicker(m_queryTicker);

    m_image = new MapImagePlottable(xAxis, yAxis);
    m_image->setLayer(QStringLiteral("main"));

    m_scale = new QCPColorScale(this);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setRangeDrag(false);
    m_scale->setRangeZoom(false);
    m_side = new QCPLayoutGrid;
    plotLayout()->addElement(0, 1, m_side);
    m_side->addElement(0, 0, m_scale);
    auto* group = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    m_scale->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    m_linearBarTicker = QSharedPointer<QCPAxisTicker>::create();
    m_logBarTicker = QSharedPointer<QCPAxisTickerLog>::create();

    m_strip = new CapturedStrip(this, axisRect());
    m_strip->setVisible(false);
    setFigureFont(font(), 1.0);
}

MapPlot::~MapPlot()
{
    // The strip is owned by the layout only while it is shown.
    if (!m_strip->layout()) delete m_strip;
}

void MapPlot::setFigureFont(const QFont& font, double scale)
{
    m_font = font;
    m_scaleFactor = scale;
    auto px = [scale](double v) { return std::max(1, static_cast<int>(std::lround(v * scale))); };
    for (QCPAxis* a : {xAxis, yAxis, xAxis2, yAxis2, m_scale->axis()}) {
        a->setTickLabelFont(font);
        a->setLabelFont(font);
        a->setTickLength(0, px(5));
        a->setSubTickLength(0, 0);
        a->setTickLabelPadding(px(3));
        a->setLabelPadding(px(5));
        a->setPadding(px(4));
        // The frame and ticks lie outside the map: no line covers a pixel of the image.
        a->setOffset(static_cast<int>(std::ceil(std::max(1.0, scale) / 2.0)));
    }
    m_scale->setBarWidth(px(14));
    m_strip->setWidth(px(16));
    m_strip->font = font;
    m_strip->scale = scale;
    m_image->font = font;
    m_image->scale = scale;
    // Margins wide enough for every tick label, so that the map keeps its pixels when the view
    // or the head changes the labels (a map that changed size would need pooling again).
    const QFontMetricsF fm(font);
    const int line = static_cast<int>(std::ceil(fm.height()));
    const int yLabels = static_cast<int>(std::ceil(fm.horizontalAdvance(QStringLiteral("00000k"))));
    const int barLabels = static_cast<int>(std::ceil(fm.horizontalAdvance(QStringLiteral("-0.0000"))));
    // The right margin holds the "generated" label (rotated) beside the map.
    axisRect()->setMinimumMargins(QMargins(px(12) + yLabels + line, px(6), px(6) + line, px(12) + 2 * line));
    m_scale->axis()->axisRect()->setMinimumMargins(QMargins(0, 0, px(12) + barLabels + line, 0));
    m_side->setColumnSpacing(px(6));
    plotLayout()->setColumnSpacing(px(6));
    plotLayout()->setRowSpacing(px(4));
    if (m_caption) m_caption->setFont(font);
    setColours(m_text, mBackgroundBrush.color());
}

void MapPlot::setColours(const QColor& text, const QColor& background)
{
    m_text = text;
    setBackground(QBrush(background));
    const QPen pen(text, std::max(1.0, m_scaleFactor));
    for (QCPAxis* a : {xAxis, yAxis, xAxis2, yAxis2, m_scale->axis()}) {
        a->setBasePen(pen);
        a->setTickPen(pen);
        a->setLabelColor(text);
        a->setTickLabelColor(text);
    }
    m_strip->frame = text;
    m_image->lineColour = text;
    if (m_caption) m_caption->setTextColor(text);
}

void MapPlot::setCaption(const QString& caption)
{
    m_captionText = caption;
    if (caption.isEmpty()) {
        if (m_caption) {
            plotLayout()->remove(m_caption);
            plotLayout()->simplify();
            m_caption = nullptr;
        }
        return;
    }
    if (!m_caption) {
        plotLayout()->insertRow(0);
        m_caption = new QCPTextElement(this, caption, m_font);
        m_caption->setTextFlags(Qt::AlignLeft | Qt::AlignVCenter);
        m_caption->setTextColor(m_text);
        plotLayout()->addElement(0, 0, m_caption);
    }
    m_caption->setText(caption);
}

void MapPlot::setFigure(const MapFigure& f)
{
    m_figure = f;
    if (!f.snapshot) return;
    const core::TraceInfo& info = f.snapshot->info();
    const auto qb = static_cast<double>(info.queryBlocks());
    xAxis->setRange(f.view.x0, f.view.x1);
    yAxis->setRange(f.view.y0, f.view.y1);
    xAxis2->setRange(xAxis->range());
    yAxis2->setRange(yAxis->range());
    m_keyTicker->configure(info.params.bk, std::numeric_limits<double>::infinity(), 0);
    m_queryTicker->configure(info.params.bq, qb, info.promptTokens);
    m_image->generatedRow = info.generatedTokens > 0 ? qb : -1.0;

    const ColorSpec spec = f.colorSpec();
    m_scale->setGradient(gradientOf(spec.colormap));
    const bool log = spec.scale == ColorScale::Log && !spec.diverging;
    m_scale->setDataScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    m_scale->axis()->setTicker(log ? m_logBarTicker : m_linearBarTicker);
    m_scale->axis()->setNumberFormat(log ? QStringLiteral("eb") : QStringLiteral("g"));
    m_scale->axis()->setNumberPrecision(log ? 0 : 3);
    m_scale->setDataRange(QCPRange(spec.vmin, spec.vmax));
    m_scale->setLabel(barLabel(f));

    const bool strip = f.capturedStrip();
    if (strip && !m_strip->layout()) {
        m_side->insertColumn(0);
        m_side->addElement(0, 0, m_strip);
        m_strip->setVisible(true);
    } else if (!strip && m_strip->layout()) {
        m_side->take(m_strip);
        m_side->simplify();
        m_strip->setVisible(false);
    }
}

void MapPlot::setMapImage(QImage image, const ViewRect& view, std::vector<float> captured)
{
    m_image->image = std::move(image);
    m_image->view = view;
    m_strip->captured = std::move(captured);
}

const QImage& MapPlot::mapImage() const { return m_image->image; }
ViewRect MapPlot::mapImageView() const { return m_image->view; }
QRect MapPlot::mapRect() const { return axisRect()->rect(); }

FigureLayout MapPlot::figureLayout() const
{
    FigureLayout L;
    L.map = QRectF(mapRect());
    L.bar = QRectF(m_scale->rect());
    if (m_strip->layout()) L.strip = QRectF(m_strip->rect().left(), L.map.top(), m_strip->rect().width(), L.map.height());
    if (m_caption) L.caption = QRectF(m_caption->rect());
    return L;
}

void MapPlot::layoutAt(QSize size)
{
    setViewport(QRect(QPoint(0, 0), size));
    updateLayout();
}

namespace {
// Paints `draw` into the requested file format; the one writer of every export.
void writeExport(const ExportRequest& req, const QString& title, const QString& description,
                 const std::function<void(QCPPainter&, const QRectF&)>& draw)
{
    if (req.size.width() < 64 || req.size.height() < 64 || req.size.width() > 20000 || req.size.height() > 20000)
        throw ArgumentError("export size " + std::to_string(req.size.width()) + "x" + std::to_string(req.size.height()) +
                            " is outside 64..20000 pixels");
    if (!(req.dpi >= 10.0 && req.dpi <= 2400.0)) throw ArgumentError("export DPI " + std::to_string(req.dpi) + " is outside 10..2400");
    const QString suffix = QFileInfo(req.path).suffix().toLower();
    if (suffix != "png" && suffix != "svg" && suffix != "pdf")
        throw ArgumentError(req.path.toStdString() + ": unknown export format (use .png, .svg or .pdf)");

    // QSaveFile rather than QCustomPlot::savePng/savePdf: those write the final path directly
    // (a failed export would leave half a file) and savePdf fixes the page at 72 dpi.
    QSaveFile file(req.path);
    if (!file.open(QIODevice::WriteOnly))
        throw IoError(req.path.toStdString() + ": cannot write: " + file.errorString().toStdString());
    const QRectF area(0, 0, req.size.width(), req.size.height());
    if (suffix == "png") {
        QImage img(req.size, QImage::Format_RGB32);
        const int dpm = static_cast<int>(std::lround(req.dpi / 0.0254));
        img.setDotsPerMeterX(dpm);
        img.setDotsPerMeterY(dpm);
        img.fill(Qt::white);
        {
            QCPPainter p(&img);
            draw(p, area);
        }
        if (!img.save(&file, "PNG")) throw IoError(req.path.toStdString() + ": cannot encode the PNG");
    } else if (suffix == "svg") {
        QSvgGenerator gen;
        gen.setOutputDevice(&file);
        gen.setSize(req.size);
        gen.setViewBox(QRect(QPoint(0, 0), req.size));
        gen.setResolution(static_cast<int>(std::lround(req.dpi)));
        gen.setTitle(title);
        gen.setDescription(description);
        QCPPainter p(&gen);
        p.setMode(QCPPainter::pmVectorized); // text stays text
        draw(p, area);
    } else {
        QPdfWriter pdf(&file);
        pdf.setResolution(static_cast<int>(std::lround(req.dpi)));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        pdf.setPageSize(QPageSize(QSizeF(req.size.width() * 72.0 / req.dpi, req.size.height() * 72.0 / req.dpi), QPageSize::Point,
                                  QString(), QPageSize::ExactMatch));
        pdf.setTitle(title);
        pdf.setCreator(QStringLiteral("sparsetrace-explorer"));
        QCPPainter p(&pdf);
        p.setMode(QCPPainter::pmVectorized);
        draw(p, area);
    }
    if (!file.commit()) throw IoError(req.path.toStdString() + ": cannot write: " + file.errorString().toStdString());
}
} // namespace

void exportPainting(const ExportRequest& req, const QString& title, const QString& description,
                    const std::function<void(QPainter&, const QRectF&)>& draw)
{
    writeExport(req, title, description, [&](QCPPainter& p, const QRectF& area) { draw(p, area); });
}

FigureLayout exportFigure(const MapFigure& f, const ExportRequest& req)
{
    if (!f.snapshot) throw ArgumentError("nothing to export: no trace is open");
    // 9 pt text at the requested DPI, given in pixels: QCustomPlot measures text with screen
    // metrics while the PDF and SVG devices draw at their own DPI, and pixel sizes agree on both.
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(std::max(6, static_cast<int>(std::lround(9.0 * req.dpi / 72.0))));
    const double scale = req.dpi / 96.0;
    const QString caption = figureCaption(f);
    FigureLayout layout;
    writeExport(req, caption, QStringLiteral("SparseTrace attention map"), [&](QCPPainter& p, const QRectF&) {
        MapPlot plot; // never shown: a layout and a painter are all it needs
        plot.setColours(Qt::black, Qt::white);
        plot.setFigureFont(font, scale);
        plot.setFigure(f);
        // Wrap the caption to its column (the map's, left of the colour bar): a first layout with
        // a narrow guess measures the column, a second fixes the caption's height.
        plot.setCaption(wrapCaption(caption, font, req.size.width() * 0.5));
        plot.layoutAt(req.size);
        plot.setCaption(wrapCaption(caption, font, plot.figureLayout().caption.width() - 4 * scale));
        // Pool the map at the pixels it gets in this layout, so that it is drawn 1:1.
        plot.layoutAt(req.size);
        PooledMap pooled;
        QImage map = f.render(plot.mapRect().size(), &pooled);
        plot.setMapImage(std::move(map), f.view, std::move(pooled.captured));
        plot.toPainter(&p, req.size.width(), req.size.height());
        layout = plot.figureLayout();
    });
    return layout;
}

} // namespace sparsetrace::widgets
