// The zoomable block-sparse attention map of one (layer, head): query rows down, key blocks
// across, on QCustomPlot (MapPlot). Redraws the visible region at screen resolution (device
// pixels, so HiDPI screens get one pooled cell per physical pixel) with max-pooling, pooled on a worker thread (stale results dropped; the last image is stretched
// into the new view meanwhile); wheel/drag and keys zoom and pan down to single blocks; hover
// reports the strongest block under the cursor with its token ranges, text and exact mass; a
// click locks (and a second click releases) it. Arrow keys and Home/End step the shared
// layer/head selection.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/async_jobs.h"
#include "sparsetrace/widgets/figure.h"

#include <QImage>
#include <QPointer>

#include <list>

namespace sparsetrace::widgets {

class LayerHeadSelection;
class MapOverlay;

class AttentionMapWidget : public MapPlot {
    Q_OBJECT
public:
    explicit AttentionMapWidget(QWidget* parent = nullptr);
    ~AttentionMapWidget() override;

    void setSelection(LayerHeadSelection* selection);
    SnapshotPtr snapshot() const { return m_figure.snapshot; }
    ViewRect view() const { return m_figure.view; }
    std::pair<std::int64_t, std::int64_t> keyColumnHighlight() const { return {m_columnFirst, m_columnLast}; }
    std::pair<std::int64_t, std::int64_t> needleTokens() const { return {m_needleFirst, m_needleLast}; }
    // The needle mark's rectangle on the key axis (widget pixels); empty when none is drawn.
    QRectF needleMarkRect() const;
    bool locked() const { return m_locked; }
    BlockHit lockedBlock() const { return m_lockedHit; }
    // Whether mapImage() shows the current head, options and view at the map's size (pooling
    // runs on a worker: after a change this turns true, and rendered() is emitted, once the
    // new image has been painted).
    bool imageCurrent() const;
    // The block the pixel at `pos` (widget coordinates) shows.
    BlockHit hitAt(QPointF pos) const;
    QString describe(const BlockHit& hit) const;

public slots:
    void setSnapshot(sparsetrace::widgets::SnapshotPtr snapshot);
    void setCompare(sparsetrace::widgets::SnapshotPtr compare); // null: no difference
    void setColormap(sparsetrace::widgets::ColormapId map);
    void setScale(sparsetrace::widgets::ColorScale scale);
    void setHideSinks(bool hide);
    void setOracleOutlines(bool on);
    void setShowCaptured(bool on);
    void setView(const sparsetrace::widgets::ViewRect& view);
    void resetView();
    void zoomAt(double factor, QPointF pos); // factor > 1 zooms in around widget position pos
    void zoomBy(double factor);              // around the map centre
    void panBy(double fx, double fy);        // fractions of the view
    void centreOnTokens(std::int64_t queryToken, std::int64_t keyToken);
    void highlightTokens(std::int64_t first, std::int64_t last); // first > last: none
    std::pair<std::int64_t, std::int64_t> highlightedTokens() const { return {m_highlightFirst, m_highlightLast}; }
    // Marks the key columns of tokens [first, last] (an anchor sentence: who attends to it),
    // apart from the token highlight; first > last: none.
    void highlightKeyColumns(std::int64_t first, std::int64_t last);
    // Marks a needle's key columns: a bar along the key axis and dashed column edges; first > last: none.
    void setNeedleTokens(std::int64_t first, std::int64_t last);
    void lockAt(QPointF pos);
    void unlock();

signals:
    void hovered(const sparsetrace::widgets::BlockHit& hit);
    void hoverText(const QString& text);
    void lockChanged(bool locked, const sparsetrace::widgets::BlockHit& hit);
    void viewChanged(const sparsetrace::widgets::ViewRect& view);
    void rendered(); // the current image has been painted

protected:
    void paintEvent(QPaintEvent*) override;
    void resizeEvent(QResizeEvent*) override;
    void changeEvent(QEvent*) override;
    void wheelEvent(QWheelEvent*) override;
    void mousePressEvent(QMouseEvent*) override;
    void mouseMoveEvent(QMouseEvent*) override;
    void mouseReleaseEvent(QMouseEvent*) override;
    void mouseDoubleClickEvent(QMouseEvent*) override;
    void leaveEvent(QEvent*) override;
    void keyPressEvent(QKeyEvent*) override;

private:
    friend class MapOverlay;
    // What an image was pooled from: the head (trace, layer, head), the compared head, the
    // options that change pixels, the view and the size.
    struct RenderKey {
        const void* trace = nullptr;
        int layer = -1, head = -1;
        const void* compareTrace = nullptr;
        int colormap = 0, scale = 0;
        bool hideSinks = false, oracle = false;
        ViewRect view;
        QSize size;       // device pixels: the map's logical size times dpr
        double dpr = 1.0; // the screen's device pixel ratio
        bool operator==(const RenderKey&) const = default;
    };
    struct Rendered {
        RenderKey key;
        QImage image;
        std::vector<float> captured;
    };
    ViewRect clampView(ViewRect v) const;
    void invalidate();      // the figure changed: new decorations, a new image
    void requestImage();    // starts pooling the current key unless it is shown, cached or running
    void startRender(const RenderKey& key);
    void showRendered(Rendered r);
    RenderKey currentKey() const;
    void applyPalette();
    void refreshOverlay();
    QRectF blockRectOnScreen(std::int64_t row, std::int64_t block) const;

    QPointer<LayerHeadSelection> m_selection;
    MapOverlay* m_overlay = nullptr;
    RenderKey m_shownKey;           // what mapImage() shows
    bool m_running = false;         // one pooling job at a time (the machine has few cores)
    bool m_awaitingReplot = false;  // a change awaits the replot that shows it
    bool m_renderedPending = false; // rendered() is due at the next paint
    std::shared_ptr<RenderScratch> m_scratch; // buffers the running job reuses
    std::list<Rendered> m_cache;    // most recent first: images of recently seen heads and views
    BlockHit m_hoverHit;
    BlockHit m_lockedHit;
    bool m_locked = false;
    bool m_dragging = false;
    QPointF m_pressPos;
    ViewRect m_pressView;
    std::int64_t m_highlightFirst = 0, m_highlightLast = -1;
    std::int64_t m_columnFirst = 0, m_columnLast = -1;
    std::int64_t m_needleFirst = 0, m_needleLast = -1;
};

} // namespace sparsetrace::widgets
