// The map as a figure on QCustomPlot: the max-pooled map image drawn by a custom plottable,
// axes labelled in token positions (query down, key across), a QCPColorScale colour bar with
// units, an optional captured-mass strip and a caption. One plot class serves the on-screen
// widget and the PNG, SVG and PDF exports, so that what is exported is what is seen.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/map_render.h"

#include <qcustomplot.h>

#include <QColor>
#include <QFont>
#include <QRectF>
#include <QString>

#include <functional>
#include <memory>
#include <vector>

namespace sparsetrace::widgets {

// What to draw: one head (or the difference of two traces' heads) over a view.
struct MapFigure {
    std::shared_ptr<const MapSnapshot> snapshot;
    std::shared_ptr<const MapSnapshot> compare; // set: draw snapshot - compare (diverging)
    ViewRect view;
    ColormapId colormap = ColormapId::Viridis;
    ColorScale scale = ColorScale::Linear;
    PoolOptions pool;
    bool showCaptured = false; // captured-mass strip (fidelity traces only)

    bool difference() const { return compare != nullptr; }
    bool capturedStrip() const { return showCaptured && snapshot && snapshot->hasCaptured && !compare; }
    ColorSpec colorSpec() const;
    // Pools and colours the view at `size` pixels; `pooled` receives the pooled values.
    QImage render(QSize size, PooledMap* pooled = nullptr) const;
};

// Buffers that one render reuses from the last (a screen-sized map is megabytes: allocating it
// per frame costs page faults). One render at a time may use a scratch.
struct RenderScratch {
    PooledMap pooled;  // the head's pooled view
    PooledMap compare; // the compared head's, for differences
    QImage image;      // [H, W] RGB32, the next image to fill
};
// render() into `scratch`: returns the coloured image (which shares scratch.image's pixels) and
// leaves the pooled values in scratch.pooled.
QImage renderInto(const MapFigure& figure, QSize size, RenderScratch& scratch);

// "model · layer l/L · head h/H · T tokens + G generated · bq, bk, K, sinks, window · scale · map"
QString figureCaption(const MapFigure& figure);
// The model's name (its architecture when the provenance has none).
QString traceModelName(const core::TraceInfo& info);
// "T = N tokens + G generated · bq, bk, K, sinks, window": the caption part every trace figure shares.
QString traceShapeText(const core::TraceInfo& info);

// Axis tick positions: "nice" steps (1, 2, 5 x 10^n) with at most `maxTicks` ticks in [lo, hi].
std::vector<double> niceTicks(double lo, double hi, int maxTicks);
QString formatTokens(std::int64_t t); // 4096, 12k, 1M...

// Where the parts of a laid-out figure are, in the plot's pixels.
struct FigureLayout {
    QRectF map;     // the map image's pixels (the axis rect)
    QRectF bar;     // colour bar
    QRectF strip;   // captured-mass strip (empty when not drawn)
    QRectF caption; // empty when no caption
};

class MapImagePlottable;
class CapturedStrip;
class TokenTicker;

// The figure on QCustomPlot. Coordinates of both axes are those of ViewRect (key blocks across,
// rows down); tickers label them in token positions. The map pixels come from setMapImage():
// pooling is the caller's (a worker for the widget, synchronous for exports).
// (No Q_OBJECT: it adds no signals or slots.)
class MapPlot : public QCustomPlot {
public:
    explicit MapPlot(QWidget* parent = nullptr);
    ~MapPlot() override;

    const MapFigure& figure() const { return m_figure; }
    // Axis ranges and ticks, colour scale, strip and separator for `figure`; pools nothing.
    void setFigure(const MapFigure& figure);
    void setCaption(const QString& caption); // empty: no caption
    // Text, frame and background colours (the widget follows its palette; exports use black on white).
    void setColours(const QColor& text, const QColor& background);
    // Fonts of every label, and tick lengths, pens and bar widths times `scale` (exports at a DPI).
    void setFigureFont(const QFont& font, double scale);

    // The pooled, coloured map, the view it shows and its per-pixel-row captured mass. Until a
    // newer image arrives it is drawn scaled into the current view, so zoom and pan answer at once.
    void setMapImage(QImage image, const ViewRect& view, std::vector<float> captured);
    const QImage& mapImage() const;
    ViewRect mapImageView() const;
    QRect mapRect() const; // the map's pixels (the axis rect), after a layout
    FigureLayout figureLayout() const;
    // Lays the figure out at `size` without painting (exports pool the map at its final size).
    void layoutAt(QSize size);

protected:
    MapFigure m_figure;

private:
    void updateDecorations();

    MapImagePlottable* m_image = nullptr;
    CapturedStrip* m_strip = nullptr;
    QCPColorScale* m_scale = nullptr;
    QCPLayoutGrid* m_side = nullptr; // [strip?][colour scale]
    QCPTextElement* m_caption = nullptr;
    QSharedPointer<TokenTicker> m_keyTicker, m_queryTicker;
    QSharedPointer<QCPAxisTicker> m_linearBarTicker, m_logBarTicker;
    QFont m_font;
    double m_scaleFactor = 1.0;
    QColor m_text = Qt::black;
    QString m_captionText;
};

struct ExportRequest {
    QString path;            // .png, .svg or .pdf
    QSize size{1600, 1200};  // pixels (PNG) or device units at `dpi` (SVG, PDF)
    double dpi = 150.0;
};
// Writes the figure (atomically); throws ArgumentError (unknown format, bad size) or IoError
// (cannot write). Returns where the parts were drawn.
FigureLayout exportFigure(const MapFigure& figure, const ExportRequest& request);
// The writer behind every export: checks the request, then lets `draw` paint the area
// (0, 0, size) of a PNG image, an SVG drawing or a PDF page, written atomically. `title` and
// `description` become the document's metadata. Throws as exportFigure does.
void exportPainting(const ExportRequest& request, const QString& title, const QString& description,
                    const std::function<void(QPainter&, const QRectF& area)>& draw);

} // namespace sparsetrace::widgets
