// Attention map widget (see attention_map_widget.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/attention_map_widget.h"

#include "sparsetrace/widgets/future_delivery.h"
#include "sparsetrace/widgets/layer_head_selection.h"
#include "sparsetrace/widgets/token_text.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace sparsetrace::widgets {

namespace {
// Images of recently seen (head, view, size) kept for scrubbing back: a few screen-sized
// images, whatever the trace's length.
constexpr std::size_t kCachedImages = 8;
// The needle's colour on the map (the text view's needle highlight, opaque).
const QColor kNeedleColour(216, 27, 96);

// Mass of (row, block) in a snapshot, or -1 when the block is not kept.
float massAt(const MapSnapshot& s, std::int64_t row, std::int64_t block)
{
    if (row < 0 || row >= s.rows) return -1.0f;
    auto idx = s.view.indexRow(s.head, row);
    auto mass = s.view.massRow(s.head, row);
    for (int k = 0; k < s.view.kPrime; ++k)
        if (idx[k] == block) return mass[k];
    return -1.0f;
}
} // namespace

// Token highlights, key-column marks, hover and lock outlines: on QCustomPlot's buffered
// "overlay" layer, so that hovering repaints this layer alone and the map's layer stays cached.
class MapOverlay : public QCPLayerable {
public:
    explicit MapOverlay(AttentionMapWidget* map) : QCPLayerable(map, QStringLiteral("overlay")), m_map(map) {}

protected:
    QRect clipRect() const override { return m_map->mapRect(); }
    void applyDefaultAntialiasingHint(QCPPainter* p) const override { p->setAntialiasing(false); }
    void draw(QCPPainter* p) override
    {
        const AttentionMapWidget& w = *m_map;
        if (!w.m_figure.snapshot) return;
        const QRectF map(w.mapRect());
        const ViewRect& v = w.m_figure.view;
        const auto& info = w.m_figure.snapshot->info();
        const double sy = map.height() / v.height(), sx = map.width() / v.width();
        if (w.m_highlightLast >= w.m_highlightFirst) {
            // Rows holding the selected queries, and columns of the selected keys.
            auto rowOf = [&](std::int64_t t) {
                return t < info.promptTokens ? t / info.params.bq : info.queryBlocks() + (t - info.promptTokens);
            };
            const double r0 = static_cast<double>(rowOf(w.m_highlightFirst)), r1 = static_cast<double>(rowOf(w.m_highlightLast)) + 1;
            const double b0 = static_cast<double>(w.m_highlightFirst / info.params.bk);
            const double b1 = static_cast<double>(w.m_highlightLast / info.params.bk) + 1;
            QColor band = w.palette().color(QPalette::Highlight);
            band.setAlpha(70);
            p->fillRect(QRectF(map.left(), map.top() + (r0 - v.y0) * sy, map.width(), std::max(2.0, (r1 - r0) * sy)), band);
            p->fillRect(QRectF(map.left() + (b0 - v.x0) * sx, map.top(), std::max(2.0, (b1 - b0) * sx), map.height()), band);
        }
        if (w.m_columnLast >= w.m_columnFirst) {
            // Key columns only, framed so that the kept blocks inside stay readable.
            const double b0 = static_cast<double>(w.m_columnFirst / info.params.bk);
            const double b1 = static_cast<double>(w.m_columnLast / info.params.bk) + 1;
            const QRectF band(map.left() + (b0 - v.x0) * sx, map.top(), std::max(2.0, (b1 - b0) * sx), map.height());
            p->fillRect(band, QColor(0xff, 0xa5, 0x00, 50));
            p->setPen(QPen(QColor(0xff, 0x8c, 0x00), 1.0));
            p->setBrush(Qt::NoBrush);
            p->drawRect(band);
        }
        if (const QRectF needle = w.needleMarkRect(); !needle.isEmpty()) {
            // The needle's key columns: dashed edges across the map, a bar on the key axis.
            QColor c = kNeedleColour;
            p->setPen(QPen(c, 1.0, Qt::DashLine));
            p->drawLine(QPointF(needle.left(), map.top()), QPointF(needle.left(), map.bottom()));
            p->drawLine(QPointF(needle.right(), map.top()), QPointF(needle.right(), map.bottom()));
            p->fillRect(needle, c);
        }
        auto outline = [&](const BlockHit& h, QColor c, qreal width) {
            if (!h.valid) return;
            QRectF r = w.blockRectOnScreen(h.row, h.keyBlock);
            if (r.width() < 6 || r.height() < 6) r = QRectF(r.center() - QPointF(4, 4), QSizeF(8, 8));
            p->setPen(QPen(c, width));
            p->setBrush(Qt::NoBrush);
            p->drawRect(r);
        };
        outline(w.m_hoverHit, QColor(255, 255, 255, 200), 1.0);
        if (w.m_locked) outline(w.m_lockedHit, QColor(0xff, 0x2d, 0x95), 2.0);
    }

private:
    AttentionMapWidget* m_map;
};

AttentionMapWidget::AttentionMapWidget(QWidget* parent) : MapPlot(parent), m_scratch(std::make_shared<RenderScratch>())
{
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(320, 240);
    m_overlay = new MapOverlay(this);
    applyPalette();
    // A layout that gives the map another size needs another image.
    connect(this, &QCustomPlot::afterLayout, this, [this] {
        if (m_figure.snapshot && !imageCurrent()) requestImage();
    });
    connect(this, &QCustomPlot::afterReplot, this, [this] {
        const bool due = m_awaitingReplot && imageCurrent();
        m_awaitingReplot = false;
        if (!due) return;
        // Paint now rather than at the update() the replot queued: rendered() then marks the
        // moment the new image reached the window (the queued update can merge with an earlier one).
        m_renderedPending = true;
        repaint();
    });
}

AttentionMapWidget::~AttentionMapWidget() = default;

void AttentionMapWidget::setSelection(LayerHeadSelection* selection) { m_selection = selection; }

void AttentionMapWidget::applyPalette()
{
    setFigureFont(font(), 1.0);
    setColours(palette().color(QPalette::WindowText), palette().color(QPalette::Window));
}

void AttentionMapWidget::changeEvent(QEvent* e)
{
    if (e->type() == QEvent::PaletteChange || e->type() == QEvent::FontChange) {
        applyPalette();
        replot(rpQueuedReplot);
    }
    MapPlot::changeEvent(e);
}

AttentionMapWidget::RenderKey AttentionMapWidget::currentKey() const
{
    RenderKey k;
    const MapFigure& f = m_figure;
    if (!f.snapshot) return k;
    k.trace = f.snapshot->trace.get();
    k.layer = f.snapshot->layer;
    k.head = f.snapshot->head;
    k.compareTrace = f.compare ? f.compare->trace.get() : nullptr;
    k.colormap = static_cast<int>(f.colormap);
    k.scale = static_cast<int>(f.scale);
    k.hideSinks = f.pool.hideSinks;
    k.oracle = f.pool.oracleOutlines;
    k.view = f.view;
    k.dpr = std::max(1.0, devicePixelRatioF());
    k.size = (QSizeF(mapRect().size()) * k.dpr).toSize();
    return k;
}

bool AttentionMapWidget::imageCurrent() const
{
    return m_figure.snapshot && !mapImage().isNull() && m_shownKey == currentKey();
}

void AttentionMapWidget::invalidate()
{
    setFigure(m_figure);
    requestImage();
    // Every change ends in rendered(), also one that needs no new image.
    m_awaitingReplot = true;
    replot(rpQueuedReplot);
}

void AttentionMapWidget::requestImage()
{
    const RenderKey key = currentKey();
    if (!key.trace || key.size.width() < 1 || key.size.height() < 1 || key == m_shownKey) return;
    for (auto it = m_cache.begin(); it != m_cache.end(); ++it)
        if (it->key == key) {
            Rendered hit = *it;
            m_cache.erase(it);
            showRendered(std::move(hit));
            return;
        }
    if (m_running) return; // the running job's completion starts the latest request
    startRender(key);
}

void AttentionMapWidget::startRender(const RenderKey& key)
{
    m_running = true;
    MapFigure figure = m_figure; // shares the snapshots; the worker reads immutable data only
    auto scratch = m_scratch;
    auto future = QtConcurrent::run([figure, key, scratch]() -> Rendered {
        Rendered r;
        r.key = key;
        try {
            r.image = renderInto(figure, key.size, *scratch);
            scratch->image = QImage(); // the result owns the pixels now
            r.image.setDevicePixelRatio(key.dpr); // drawn at the map's logical size
            r.captured = scratch->pooled.captured;
        } catch (...) {
            r.image = QImage(); // a failed render shows nothing new; the next change retries
        }
        return r;
    });
    deliverWhenFinished(this, std::move(future), [this](Rendered r) {
        m_running = false;
        if (!r.image.isNull() && r.key == currentKey()) showRendered(std::move(r));
        // A stale result is dropped; the newest request runs now.
        if (m_figure.snapshot && !imageCurrent()) requestImage();
    });
}

void AttentionMapWidget::showRendered(Rendered r)
{
    setMapImage(r.image, r.key.view, r.captured);
    m_shownKey = r.key;
    m_awaitingReplot = true;
    m_cache.push_front(std::move(r));
    while (m_cache.size() > kCachedImages) {
        // Hand an evicted image's pixels back to the next render when nothing else holds them.
        QImage old = std::move(m_cache.back().image);
        m_cache.pop_back();
        if (!m_running && m_scratch->image.isNull() && old.isDetached()) m_scratch->image = std::move(old);
    }
    replot(rpQueuedReplot);
}

void AttentionMapWidget::setSnapshot(SnapshotPtr snapshot)
{
    const bool sameShape = m_figure.snapshot && snapshot && m_figure.snapshot->rows == snapshot->rows &&
                           m_figure.snapshot->keyBlocks == snapshot->keyBlocks;
    if (!snapshot || !m_figure.snapshot || snapshot->trace != m_figure.snapshot->trace) m_cache.clear();
    m_figure.snapshot = std::move(snapshot);
    if (m_figure.compare && (!m_figure.snapshot || m_figure.compare->rows != m_figure.snapshot->rows ||
                             m_figure.compare->keyBlocks != m_figure.snapshot->keyBlocks))
        m_figure.compare.reset();
    if (!sameShape && m_figure.snapshot) m_figure.view = fullView(*m_figure.snapshot);
    if (m_locked && m_figure.snapshot) {
        // Keep the locked cell, re-read for the new head.
        m_lockedHit = strongestBlock(*m_figure.snapshot, m_lockedHit.row, m_lockedHit.row + 1, m_lockedHit.keyBlock,
                                     m_lockedHit.keyBlock + 1, false);
        emit lockChanged(true, m_lockedHit);
    }
    invalidate();
}

void AttentionMapWidget::setCompare(SnapshotPtr compare)
{
    if (compare && m_figure.snapshot &&
        (compare->rows != m_figure.snapshot->rows || compare->keyBlocks != m_figure.snapshot->keyBlocks))
        compare.reset(); // traces of different prompts cannot be differenced
    // Cached differences were made against another compared head.
    if (compare != m_figure.compare) m_cache.remove_if([](const Rendered& r) { return r.key.compareTrace != nullptr; });
    m_figure.compare = std::move(compare);
    invalidate();
}

void AttentionMapWidget::setColormap(ColormapId map)
{
    m_figure.colormap = map;
    invalidate();
}
void AttentionMapWidget::setScale(ColorScale scale)
{
    m_figure.scale = scale;
    invalidate();
}
void AttentionMapWidget::setHideSinks(bool hide)
{
    m_figure.pool.hideSinks = hide;
    invalidate();
}
void AttentionMapWidget::setOracleOutlines(bool on)
{
    m_figure.pool.oracleOutlines = on;
    invalidate();
}
void AttentionMapWidget::setShowCaptured(bool on)
{
    m_figure.showCaptured = on;
    invalidate();
}

ViewRect AttentionMapWidget::clampView(ViewRect v) const
{
    if (!m_figure.snapshot) return v;
    const ViewRect full = fullView(*m_figure.snapshot);
    auto clampAxis = [](double& a, double& b, double lo, double hi) {
        double w = std::clamp(b - a, std::min(1.0, hi - lo), hi - lo); // down to one block or row
        double c = (a + b) / 2;
        a = std::clamp(c - w / 2, lo, hi - w);
        b = a + w;
    };
    clampAxis(v.x0, v.x1, full.x0, full.x1);
    clampAxis(v.y0, v.y1, full.y0, full.y1);
    return v;
}

void AttentionMapWidget::setView(const ViewRect& view)
{
    const ViewRect v = clampView(view);
    if (v == m_figure.view) return;
    m_figure.view = v;
    invalidate();
    emit viewChanged(v);
}

void AttentionMapWidget::resetView()
{
    if (m_figure.snapshot) setView(fullView(*m_figure.snapshot));
}

void AttentionMapWidget::zoomAt(double factor, QPointF pos)
{
    if (!m_figure.snapshot || mapRect().isEmpty()) return;
    const ViewRect& v = m_figure.view;
    const double fx = std::clamp((pos.x() - mapRect().left()) / mapRect().width(), 0.0, 1.0);
    const double fy = std::clamp((pos.y() - mapRect().top()) / mapRect().height(), 0.0, 1.0);
    const double ax = v.x0 + fx * v.width(), ay = v.y0 + fy * v.height();
    const double w = v.width() / factor, h = v.height() / factor;
    setView({ax - fx * w, ay - fy * h, ax - fx * w + w, ay - fy * h + h});
}

void AttentionMapWidget::zoomBy(double factor) { zoomAt(factor, QRectF(mapRect()).center()); }

void AttentionMapWidget::panBy(double fx, double fy)
{
    const ViewRect& v = m_figure.view;
    setView({v.x0 + fx * v.width(), v.y0 + fy * v.height(), v.x1 + fx * v.width(), v.y1 + fy * v.height()});
}

void AttentionMapWidget::centreOnTokens(std::int64_t queryToken, std::int64_t keyToken)
{
    if (!m_figure.snapshot) return;
    const auto& info = m_figure.snapshot->info();
    const double row = queryToken < info.promptTokens ? static_cast<double>(queryToken / info.params.bq)
                                                      : static_cast<double>(info.queryBlocks() + (queryToken - info.promptTokens));
    const double block = static_cast<double>(keyToken / info.params.bk);
    const ViewRect& v = m_figure.view;
    setView({block + 0.5 - v.width() / 2, row + 0.5 - v.height() / 2, block + 0.5 + v.width() / 2, row + 0.5 + v.height() / 2});
}

void AttentionMapWidget::highlightTokens(std::int64_t first, std::int64_t last)
{
    m_highlightFirst = first;
    m_highlightLast = last;
    refreshOverlay();
}

void AttentionMapWidget::highlightKeyColumns(std::int64_t first, std::int64_t last)
{
    m_columnFirst = first;
    m_columnLast = last;
    refreshOverlay();
}

void AttentionMapWidget::setNeedleTokens(std::int64_t first, std::int64_t last)
{
    m_needleFirst = first;
    m_needleLast = last;
    refreshOverlay();
}

QRectF AttentionMapWidget::needleMarkRect() const
{
    if (!m_figure.snapshot || m_needleLast < m_needleFirst) return {};
    const QRectF map(mapRect());
    const ViewRect& v = m_figure.view;
    if (map.isEmpty() || v.width() <= 0) return {};
    const auto& info = m_figure.snapshot->info();
    const double sx = map.width() / v.width();
    const double b0 = static_cast<double>(m_needleFirst / info.params.bk), b1 = static_cast<double>(m_needleLast / info.params.bk) + 1;
    const double x0 = std::max(map.left(), map.left() + (b0 - v.x0) * sx), x1 = std::min(map.right() + 1, map.left() + (b1 - v.x0) * sx);
    if (x1 <= x0) return {};
    const double h = std::clamp(map.height() * 0.015, 4.0, 8.0);
    return QRectF(x0, map.bottom() + 1 - h, std::max(2.0, x1 - x0), h);
}

void AttentionMapWidget::refreshOverlay()
{
    if (QCPLayer* l = layer(QStringLiteral("overlay"))) l->replot();
}

BlockHit AttentionMapWidget::hitAt(QPointF pos) const
{
    const QRectF map(mapRect());
    if (!m_figure.snapshot || !map.contains(pos)) return {};
    const ViewRect& v = m_figure.view;
    const double sx = map.width() / v.width(), sy = map.height() / v.height();
    const double px = std::floor(pos.x() - map.left()), py = std::floor(pos.y() - map.top());
    const auto b0 = static_cast<std::int64_t>(std::floor(v.x0 + px / sx));
    const auto b1 = static_cast<std::int64_t>(std::ceil(v.x0 + (px + 1) / sx - 1e-9));
    const auto r0 = static_cast<std::int64_t>(std::floor(v.y0 + py / sy));
    const auto r1 = static_cast<std::int64_t>(std::ceil(v.y0 + (py + 1) / sy - 1e-9));
    return strongestBlock(*m_figure.snapshot, r0, r1, b0, b1, m_figure.pool.hideSinks);
}

QString AttentionMapWidget::describe(const BlockHit& hit) const
{
    if (!hit.valid || !m_figure.snapshot) return {};
    const MapSnapshot& s = *m_figure.snapshot;
    const auto& info = s.info();
    const auto q = info.rowQueries(hit.row);
    const auto k = s.keyTokens(hit.keyBlock);
    QString text = QStringLiteral("query %1–%2 “%3” → key %4–%5 “%6”: ")
                       .arg(q[0])
                       .arg(q[1])
                       .arg(tokenRangeText(info, q[0], q[1], 40))
                       .arg(k[0])
                       .arg(k[1])
                       .arg(tokenRangeText(info, k[0], k[1], 40));
    if (hit.kept) text += QStringLiteral("mass %1").arg(QString::number(static_cast<double>(hit.mass), 'g', 8));
    else if (!hit.causal) text += QStringLiteral("causally masked");
    else if (hit.oracleOnly) text += QStringLiteral("pruned (the oracle top-K kept it)");
    else text += QStringLiteral("pruned");
    if (m_figure.compare) {
        const float b = massAt(*m_figure.compare, hit.row, hit.keyBlock);
        text += b >= 0 ? QStringLiteral(" · B: mass %1").arg(QString::number(static_cast<double>(b), 'g', 8))
                       : QStringLiteral(" · B: pruned");
    }
    if (hit.captured >= 0) text += QStringLiteral(" · row captured mass %1").arg(static_cast<double>(hit.captured), 0, 'f', 4);
    if (s.view.dense) text += QStringLiteral(" · dense layer");
    return text;
}

QRectF AttentionMapWidget::blockRectOnScreen(std::int64_t row, std::int64_t block) const
{
    const QRectF map(mapRect());
    const ViewRect& v = m_figure.view;
    const double sx = map.width() / v.width(), sy = map.height() / v.height();
    return QRectF(map.left() + (static_cast<double>(block) - v.x0) * sx, map.top() + (static_cast<double>(row) - v.y0) * sy,
                  std::max(1.0, sx), std::max(1.0, sy));
}

void AttentionMapWidget::paintEvent(QPaintEvent* e)
{
    if (!m_figure.snapshot) {
        QPainter p(this);
        p.fillRect(rect(), palette().color(QPalette::Window));
        p.setPen(palette().color(QPalette::WindowText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("Open a trace: File ▸ Open, drag a .sptrace file here, or give its path on the command line."));
        return;
    }
    MapPlot::paintEvent(e);
    if (m_renderedPending) {
        m_renderedPending = false;
        emit rendered();
    }
}

void AttentionMapWidget::resizeEvent(QResizeEvent* e)
{
    MapPlot::resizeEvent(e); // lays out again; afterLayout asks for an image of the new size
}

void AttentionMapWidget::wheelEvent(QWheelEvent* e)
{
    const double steps = e->angleDelta().y() / 120.0;
    if (steps != 0.0) zoomAt(std::pow(1.25, steps), e->position());
    e->accept();
}

void AttentionMapWidget::mousePressEvent(QMouseEvent* e)
{
    if (e->button() != Qt::LeftButton) return;
    setFocus(Qt::MouseFocusReason);
    m_pressPos = e->position();
    m_pressView = m_figure.view;
    m_dragging = false;
}

void AttentionMapWidget::mouseDoubleClickEvent(QMouseEvent* e) { mousePressEvent(e); }

void AttentionMapWidget::mouseMoveEvent(QMouseEvent* e)
{
    const QRectF map(mapRect());
    if ((e->buttons() & Qt::LeftButton) && m_figure.snapshot && !map.isEmpty()) {
        const QPointF d = e->position() - m_pressPos;
        if (m_dragging || d.manhattanLength() > 3) {
            m_dragging = true;
            const double sx = map.width() / m_pressView.width(), sy = map.height() / m_pressView.height();
            setView({m_pressView.x0 - d.x() / sx, m_pressView.y0 - d.y() / sy, m_pressView.x1 - d.x() / sx,
                     m_pressView.y1 - d.y() / sy});
            return;
        }
    }
    const BlockHit hit = hitAt(e->position());
    if (hit.valid != m_hoverHit.valid || hit.row != m_hoverHit.row || hit.keyBlock != m_hoverHit.keyBlock) {
        m_hoverHit = hit;
        refreshOverlay();
        emit hovered(hit);
        if (!m_locked) emit hoverText(describe(hit));
    }
}

void AttentionMapWidget::mouseReleaseEvent(QMouseEvent* e)
{
    if (e->button() != Qt::LeftButton) return;
    if (!m_dragging) {
        if (m_locked) unlock();
        else lockAt(e->position());
    }
    m_dragging = false;
}

void AttentionMapWidget::leaveEvent(QEvent*)
{
    m_hoverHit = {};
    refreshOverlay();
}

void AttentionMapWidget::lockAt(QPointF pos)
{
    const BlockHit hit = hitAt(pos);
    if (!hit.valid) return;
    m_locked = true;
    m_lockedHit = hit;
    refreshOverlay();
    emit lockChanged(true, hit);
    emit hoverText(tr("Locked: %1").arg(describe(hit)));
}

void AttentionMapWidget::unlock()
{
    if (!m_locked) return;
    m_locked = false;
    refreshOverlay();
    emit lockChanged(false, m_lockedHit);
}

void AttentionMapWidget::keyPressEvent(QKeyEvent* e)
{
    const bool shift = e->modifiers() & Qt::ShiftModifier;
    const bool ctrl = e->modifiers() & Qt::ControlModifier;
    switch (e->key()) {
    case Qt::Key_Left:
        if (shift) panBy(-0.1, 0);
        else if (m_selection) m_selection->stepHead(-1);
        break;
    case Qt::Key_Right:
        if (shift) panBy(0.1, 0);
        else if (m_selection) m_selection->stepHead(1);
        break;
    case Qt::Key_Up:
        if (shift) panBy(0, -0.1);
        else if (m_selection) m_selection->stepLayer(-1);
        break;
    case Qt::Key_Down:
        if (shift) panBy(0, 0.1);
        else if (m_selection) m_selection->stepLayer(1);
        break;
    case Qt::Key_Home:
        if (m_selection) ctrl ? m_selection->firstLayer() : m_selection->firstHead();
        break;
    case Qt::Key_End:
        if (m_selection) ctrl ? m_selection->lastLayer() : m_selection->lastHead();
        break;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomBy(2.0);
        break;
    case Qt::Key_Minus:
        zoomBy(0.5);
        break;
    case Qt::Key_0:
        resetView();
        break;
    case Qt::Key_Escape:
        unlock();
        break;
    default:
        MapPlot::keyPressEvent(e);
        return;
    }
    e->accept();
}

} // namespace sparsetrace::widgets
