// The block-sparse attention map as pixels: an immutable per-(layer, head) snapshot prepared
// off the GUI thread, max-pooling of the visible region into a screen-sized buffer (so one
// strong link stays visible when zoomed out), and colouring with a linear or log scale.
// Coordinates: x counts key blocks, y counts rows (query blocks, then one row per generated
// token), both as doubles so that a view can start inside a block.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"
#include "sparsetrace/widgets/colormap.h"

#include <QImage>
#include <QRectF>
#include <QSize>
#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace sparsetrace::widgets {

// One head of one layer, ready to draw. Holds the trace alive (the views point into it).
struct MapSnapshot {
    std::shared_ptr<const core::Trace> trace;
    int layer = 0;
    int head = 0;
    core::LayerView view;
    std::int64_t rows = 0;      // R = query blocks + generated tokens
    std::int64_t keyBlocks = 0; // ceil((T + G) / bk)
    int sinkBlocks = 0;         // sinks / bk
    float maxMass = 0.0f;       // over the head's kept blocks
    float maxMassNoSinks = 0.0f;
    float minPositiveMass = 0.0f; // smallest mass > 0 (log scale floor)
    bool hasCaptured = false;
    bool hasOracle = false;

    const core::TraceInfo& info() const { return trace->info(); }
    // Token positions [first, last] covered by key block b (clipped to the tokens).
    std::array<std::int64_t, 2> keyTokens(std::int64_t b) const;
};

// Prepares the snapshot (first view of a layer validates it: heavy, so call from a worker).
// Throws sparsetrace::Error (FormatError for a corrupt layer, ArgumentError for a bad index).
std::shared_ptr<const MapSnapshot> prepareSnapshot(std::shared_ptr<const core::Trace> trace, int layer, int head);

struct ViewRect {
    double x0 = 0, y0 = 0, x1 = 1, y1 = 1; // key blocks [x0, x1), rows [y0, y1)
    double width() const { return x1 - x0; }
    double height() const { return y1 - y0; }
    bool operator==(const ViewRect&) const = default;
};
ViewRect fullView(const MapSnapshot& s);

// Per-pixel results of pooling. value: max kept mass in the pixel (NaN when nothing kept);
// flags: kMasked (every key is after every query: the causal upper triangle), kOutside
// (beyond the map), kHidden (hidden sink block), kOracleOnly (outline of a block that only the
// oracle top-K kept). captured: per pixel row, the lowest captured mass (NaN when absent).
struct PooledMap {
    enum Flag : std::uint8_t { kMasked = 1, kOutside = 2, kHidden = 4, kOracleOnly = 8 };
    int width = 0;
    int height = 0;
    std::vector<float> value;          // [height, width] float32
    std::vector<std::uint8_t> flags;   // [height, width] uint8
    std::vector<float> captured;       // [height] float32
    float at(int x, int y) const { return value[static_cast<std::size_t>(y) * width + x]; }
    std::uint8_t flagsAt(int x, int y) const { return flags[static_cast<std::size_t>(y) * width + x]; }
};

struct PoolOptions {
    bool hideSinks = false;
    bool oracleOutlines = false;
};

// Max-pools the blocks of `view` into size.width() x size.height() pixels. Cost: the visible
// rows times K' plus the pixels, independent of the trace length.
PooledMap poolView(const MapSnapshot& s, const ViewRect& view, QSize size, const PoolOptions& options);
// poolView() into `out`, reusing its buffers (no allocation once they are large enough).
void poolViewInto(PooledMap& out, const MapSnapshot& s, const ViewRect& view, QSize size, const PoolOptions& options);
// Signed difference a - b of two pooled maps of the same size (blocks kept by one only count
// the other as 0; NaN where neither kept anything).
PooledMap poolDifference(const PooledMap& a, const PooledMap& b);
void subtractInPlace(PooledMap& a, const PooledMap& b); // a becomes poolDifference(a, b)

enum class ColorScale { Linear, Log };
QString colorScaleName(ColorScale s); // "linear" | "log"
ColorScale colorScaleFromName(const QString& name);

struct ColorSpec {
    ColormapId colormap = ColormapId::Viridis;
    ColorScale scale = ColorScale::Linear;
    double vmin = 0.0; // linear: 0; log: the floor; diverging: -vmax
    double vmax = 1.0;
    bool diverging = false;
    QRgb pruned = qRgb(0xee, 0xee, 0xee);  // causal but not kept: distinct from low attention
    QRgb masked = qRgb(0xa8, 0xa8, 0xa8);  // causal upper triangle and hidden sinks
    QRgb outside = qRgb(0xff, 0xff, 0xff);
    QRgb oracle = qRgb(0xff, 0x2d, 0x95);  // oracle-only outlines (off every colormap)

    // Position of a value on the colour bar, [0, 1].
    double normalise(double v) const;
    QRgb colour(double v) const;
};
// The colour scale of a snapshot (vmax over the head, sinks excluded when hidden).
ColorSpec colorSpecFor(const MapSnapshot& s, ColormapId map, ColorScale scale, bool hideSinks);
ColorSpec differenceColorSpec(const MapSnapshot& a, const MapSnapshot& b, bool hideSinks);

QImage colourise(const PooledMap& pooled, const ColorSpec& spec);
// colourise() into `image`, reusing its pixels when it already has the size (RGB32).
void colouriseInto(QImage& image, const PooledMap& pooled, const ColorSpec& spec);

// The strongest kept block under a pixel-sized region of rows [r0, r1) and key blocks [b0, b1)
// (what the hover reports, so that it names the block that gave the pixel its colour).
struct BlockHit {
    bool valid = false;
    std::int64_t row = -1;
    std::int64_t keyBlock = -1;
    bool kept = false;
    float mass = 0.0f;     // exact stored mass when kept
    bool causal = true;    // some query of the row may see some key of the block
    bool oracleOnly = false;
    float captured = -1.0f; // captured mass of the row (< 0 when absent)
};
BlockHit strongestBlock(const MapSnapshot& s, std::int64_t r0, std::int64_t r1, std::int64_t b0, std::int64_t b1,
                        bool hideSinks);

} // namespace sparsetrace::widgets
