// Snapshot preparation, max-pooling and colouring of the attention map (see map_render.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/map_render.h"

#include "sparsetrace/core/error.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace sparsetrace::widgets {

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Pixel span [first, last) covered by the unit interval [i, i + 1) of a coordinate whose view
// starts at `origin` with `scale` pixels per unit; at least one pixel, clipped to [0, n).
std::pair<int, int> pixelSpan(double i, double origin, double scale, int n)
{
    const double a = (i - origin) * scale;
    const double b = (i + 1.0 - origin) * scale;
    int first = static_cast<int>(std::floor(a));
    int last = std::max(first + 1, static_cast<int>(std::ceil(b - 1e-9)));
    return {std::clamp(first, 0, n), std::clamp(last, 0, n)};
}
} // namespace

std::array<std::int64_t, 2> MapSnapshot::keyTokens(std::int64_t b) const
{
    const auto& i = info();
    const std::int64_t total = i.promptTokens + i.generatedTokens;
    return {b * i.params.bk, std::min<std::int64_t>((b + 1) * i.params.bk, total) - 1};
}

std::shared_ptr<const MapSnapshot> prepareSnapshot(std::shared_ptr<const core::Trace> trace, int layer, int head)
{
    if (!trace) throw ArgumentError("no trace is open");
    if (layer < 0 || layer >= trace->layers())
        throw ArgumentError("layer " + std::to_string(layer) + " is out of range (the trace has " +
                            std::to_string(trace->layers()) + " layers)");
    if (head < 0 || head >= trace->heads())
        throw ArgumentError("head " + std::to_string(head) + " is out of range (the trace has " +
                            std::to_string(trace->heads()) + " heads)");
    auto s = std::make_shared<MapSnapshot>();
    s->trace = trace;
    s->layer = layer;
    s->head = head;
    s->view = trace->layer(layer); // validates the layer on its first view
    const core::TraceInfo& info = trace->info();
    s->rows = info.rows();
    s->keyBlocks = (info.promptTokens + info.generatedTokens + info.params.bk - 1) / info.params.bk;
    s->sinkBlocks = info.params.sinks / info.params.bk;
    s->hasCaptured = !s->view.captured.empty();
    s->hasOracle = !s->view.oracleIndex.empty();
    float maxAll = 0.0f, maxNoSinks = 0.0f, minPositive = std::numeric_limits<float>::infinity();
    for (std::int64_t r = 0; r < s->rows; ++r) {
        auto idx = s->view.indexRow(head, r);
        auto mass = s->view.massRow(head, r);
        for (int k = 0; k < s->view.kPrime; ++k) {
            if (idx[k] < 0) continue;
            const float m = mass[k];
            maxAll = std::max(maxAll, m);
            if (idx[k] >= s->sinkBlocks) maxNoSinks = std::max(maxNoSinks, m);
            if (m > 0.0f) minPositive = std::min(minPositive, m);
        }
    }
    s->maxMass = maxAll;
    s->maxMassNoSinks = maxNoSinks;
    s->minPositiveMass = std::isfinite(minPositive) ? minPositive : 0.0f;
    return s;
}

ViewRect fullView(const MapSnapshot& s)
{
    return {0.0, 0.0, static_cast<double>(std::max<std::int64_t>(1, s.keyBlocks)), static_cast<double>(std::max<std::int64_t>(1, s.rows))};
}

PooledMap poolView(const MapSnapshot& s, const ViewRect& v, QSize size, const PoolOptions& options)
{
    PooledMap p;
    poolViewInto(p, s, v, size, options);
    return p;
}

void poolViewInto(PooledMap& p, const MapSnapshot& s, const ViewRect& v, QSize size, const PoolOptions& options)
{
    p.width = std::max(1, size.width());
    p.height = std::max(1, size.height());
    const int W = p.width, H = p.height;
    // assign() keeps the capacity: a map redrawn at the same size allocates nothing.
    p.value.assign(static_cast<std::size_t>(W) * H, kNaN);
    p.flags.resize(static_cast<std::size_t>(W) * H);
    p.captured.assign(static_cast<std::size_t>(H), kNaN);
    const double sx = W / std::max(1e-9, v.width());
    const double sy = H / std::max(1e-9, v.height());
    const core::TraceInfo& info = s.info();
    const std::int64_t bk = info.params.bk;
    const int sinkBlocks = options.hideSinks ? s.sinkBlocks : 0;

    // Background flags: outside, causal upper triangle, hidden sinks. A pixel is masked only
    // when its first key comes after the last query of its last row. Per column, the flags
    // that do not depend on the row (outside, hidden sink) make a template row; the masked
    // columns of a row are a suffix (the first key of a column grows with x), found by a
    // binary search, so a row costs a copy and one fill rather than a branch per pixel.
    std::vector<std::int64_t> colFirstKey(static_cast<std::size_t>(W)); // [W] int64: first key token of the column
    std::vector<std::uint8_t> colTemplate(static_cast<std::size_t>(W));  // [W] uint8
    for (int x = 0; x < W; ++x) {
        const double a = v.x0 + x / sx, b = v.x0 + (x + 1) / sx;
        const bool outside = a >= static_cast<double>(s.keyBlocks) || b <= 0.0;
        const auto first = static_cast<std::int64_t>(std::floor(std::max(0.0, a)));
        const std::int64_t last = static_cast<std::int64_t>(std::ceil(b - 1e-9)) - 1;
        colFirstKey[static_cast<std::size_t>(x)] = first * bk;
        std::uint8_t flag = 0;
        if (outside) flag = PooledMap::kOutside;
        else if (last < sinkBlocks) flag = PooledMap::kHidden;
        colTemplate[static_cast<std::size_t>(x)] = flag;
    }
    for (int y = 0; y < H; ++y) {
        const double a = v.y0 + y / sy, b = v.y0 + (y + 1) / sy;
        std::uint8_t* f = p.flags.data() + static_cast<std::size_t>(y) * W;
        if (a >= static_cast<double>(s.rows) || b <= 0.0) {
            std::fill(f, f + W, PooledMap::kOutside);
            continue;
        }
        const std::int64_t lastRow = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(b - 1e-9)) - 1, 0, s.rows - 1);
        const std::int64_t lastQuery = info.rowQueries(lastRow)[1];
        std::copy(colTemplate.begin(), colTemplate.end(), f);
        const auto maskedFrom = std::upper_bound(colFirstKey.begin(), colFirstKey.end(), lastQuery) - colFirstKey.begin();
        for (auto x = maskedFrom; x < W; ++x)
            if (f[x] != PooledMap::kOutside) f[x] = PooledMap::kMasked;
    }

    const std::int64_t rowFirst = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(v.y0)));
    const std::int64_t rowEnd = std::min<std::int64_t>(s.rows, static_cast<std::int64_t>(std::ceil(v.y1)));
    const std::int64_t blockFirst = std::max<std::int64_t>(sinkBlocks, static_cast<std::int64_t>(std::floor(v.x0)));
    const std::int64_t blockEnd = std::min<std::int64_t>(s.keyBlocks, static_cast<std::int64_t>(std::ceil(v.x1)));
    const int KP = s.view.kPrime;
    for (std::int64_t r = rowFirst; r < rowEnd; ++r) {
        const auto [y0, y1] = pixelSpan(static_cast<double>(r), v.y0, sy, H);
        if (y0 >= y1) continue;
        auto idx = s.view.indexRow(s.head, r);
        auto mass = s.view.massRow(s.head, r);
        for (int k = 0; k < KP; ++k) {
            const std::int64_t b = idx[k];
            if (b < blockFirst || b >= blockEnd) continue; // also the -1 padding
            const float m = mass[k];
            const auto [x0, x1] = pixelSpan(static_cast<double>(b), v.x0, sx, W);
            for (int y = y0; y < y1; ++y) {
                float* row = p.value.data() + static_cast<std::size_t>(y) * W;
                for (int x = x0; x < x1; ++x)
                    if (!(row[x] >= m)) row[x] = m; // NaN compares false: the first kept block wins
            }
        }
        if (s.hasCaptured) {
            const float c = s.view.captured[static_cast<std::size_t>(s.head * s.rows + r)];
            for (int y = y0; y < y1; ++y)
                if (!(p.captured[static_cast<std::size_t>(y)] <= c)) p.captured[static_cast<std::size_t>(y)] = c;
        }
        if (options.oracleOutlines && s.hasOracle) {
            auto oracle = s.view.oracleIndex.subspan(static_cast<std::size_t>((s.head * s.rows + r) * KP), static_cast<std::size_t>(KP));
            for (int k = 0; k < KP; ++k) {
                const std::int64_t b = oracle[k];
                if (b < blockFirst || b >= blockEnd) continue;
                if (std::find(idx.begin(), idx.end(), static_cast<std::int32_t>(b)) != idx.end()) continue;
                const auto [x0, x1] = pixelSpan(static_cast<double>(b), v.x0, sx, W);
                const bool solid = x1 - x0 <= 2 || y1 - y0 <= 2;
                for (int y = y0; y < y1; ++y)
                    for (int x = x0; x < x1; ++x)
                        if (solid || y == y0 || y == y1 - 1 || x == x0 || x == x1 - 1)
                            p.flags[static_cast<std::size_t>(y) * W + x] |= PooledMap::kOracleOnly;
            }
        }
    }
}

PooledMap poolDifference(const PooledMap& a, const PooledMap& b)
{
    PooledMap d = a;
    subtractInPlace(d, b);
    return d;
}

void subtractInPlace(PooledMap& a, const PooledMap& b)
{
    if (a.width != b.width || a.height != b.height) throw ArgumentError("difference of maps of different sizes");
    for (std::size_t i = 0; i < a.value.size(); ++i) {
        const float x = a.value[i], y = b.value[i];
        if (std::isnan(x) && std::isnan(y)) a.value[i] = kNaN;
        else a.value[i] = (std::isnan(x) ? 0.0f : x) - (std::isnan(y) ? 0.0f : y);
        a.flags[i] = static_cast<std::uint8_t>((a.flags[i] | b.flags[i]) & ~PooledMap::kOracleOnly);
    }
    std::fill(a.captured.begin(), a.captured.end(), kNaN);
}

QString colorScaleName(ColorScale s) { return s == ColorScale::Log ? QStringLiteral("log") : QStringLiteral("linear"); }
ColorScale colorScaleFromName(const QString& name)
{
    return name.compare("log", Qt::CaseInsensitive) == 0 ? ColorScale::Log : ColorScale::Linear;
}

double ColorSpec::normalise(double v) const
{
    if (scale == ColorScale::Log && !diverging) {
        if (v <= vmin) return 0.0;
        const double lo = std::log10(vmin), hi = std::log10(vmax);
        return hi > lo ? std::clamp((std::log10(v) - lo) / (hi - lo), 0.0, 1.0) : 1.0;
    }
    return vmax > vmin ? std::clamp((v - vmin) / (vmax - vmin), 0.0, 1.0) : 1.0;
}

QRgb ColorSpec::colour(double v) const { return Colormap::get(colormap).map(normalise(v)); }

ColorSpec colorSpecFor(const MapSnapshot& s, ColormapId map, ColorScale scale, bool hideSinks)
{
    ColorSpec c;
    c.colormap = map;
    c.scale = scale;
    c.vmax = hideSinks ? s.maxMassNoSinks : s.maxMass;
    if (!(c.vmax > 0.0)) c.vmax = 1.0;
    // Log floor: four decades below the maximum, or the smallest stored mass when higher.
    c.vmin = scale == ColorScale::Log ? std::max<double>(c.vmax * 1e-4, s.minPositiveMass) : 0.0;
    if (scale == ColorScale::Log && c.vmin >= c.vmax) c.vmin = c.vmax * 1e-4;
    return c;
}

ColorSpec differenceColorSpec(const MapSnapshot& a, const MapSnapshot& b, bool hideSinks)
{
    ColorSpec c;
    c.colormap = ColormapId::Diverging;
    c.scale = ColorScale::Linear;
    c.diverging = true;
    c.vmax = std::max(hideSinks ? a.maxMassNoSinks : a.maxMass, hideSinks ? b.maxMassNoSinks : b.maxMass);
    if (!(c.vmax > 0.0)) c.vmax = 1.0;
    c.vmin = -c.vmax;
    return c;
}

QImage colourise(const PooledMap& p, const ColorSpec& spec)
{
    QImage img;
    colouriseInto(img, p, spec);
    return img;
}

void colouriseInto(QImage& img, const PooledMap& p, const ColorSpec& spec)
{
    if (img.width() != p.width || img.height() != p.height || img.format() != QImage::Format_RGB32)
        img = QImage(p.width, p.height, QImage::Format_RGB32);
    const auto& table = Colormap::get(spec.colormap).table();
    // Linear scales map to a table index with one multiply-add; log scales pay a log10, only
    // for pixels that hold a kept block.
    const bool logScale = spec.scale == ColorScale::Log && !spec.diverging;
    // Double precision, as ColorSpec::colour(), so that both name the same table entry.
    const double lo = logScale ? std::log10(spec.vmin) : spec.vmin;
    const double hi = logScale ? std::log10(spec.vmax) : spec.vmax;
    const double toIndex = hi > lo ? 255.0 / (hi - lo) : 0.0;
    // Colour of a pixel by its flags alone (no kept block, or a flag that wins over the value).
    std::array<QRgb, 16> flagColour{};
    for (std::size_t f = 0; f < flagColour.size(); ++f)
        flagColour[f] = (f & PooledMap::kOutside) ? spec.outside
                        : (f & PooledMap::kOracleOnly) ? spec.oracle
                        : (f & (PooledMap::kMasked | PooledMap::kHidden)) ? spec.masked
                        : spec.pruned;
    constexpr std::uint8_t kFlagWins = PooledMap::kOutside | PooledMap::kOracleOnly;
    for (int y = 0; y < p.height; ++y) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
        const float* values = p.value.data() + static_cast<std::size_t>(y) * p.width;
        const std::uint8_t* flags = p.flags.data() + static_cast<std::size_t>(y) * p.width;
        for (int x = 0; x < p.width; ++x) {
            const std::uint8_t f = flags[x];
            double v = values[x];
            if ((f & kFlagWins) || std::isnan(v)) {
                line[x] = flagColour[f & 15];
                continue;
            }
            if (!(hi > lo)) {
                line[x] = table[255];
                continue;
            }
            if (logScale) {
                if (!(v > spec.vmin)) {
                    line[x] = table[0];
                    continue;
                }
                v = std::log10(v);
            }
            const double i = (v - lo) * toIndex + 0.5;
            line[x] = table[static_cast<std::size_t>(std::clamp(i, 0.0, 255.0))];
        }
    }
}

BlockHit strongestBlock(const MapSnapshot& s, std::int64_t r0, std::int64_t r1, std::int64_t b0, std::int64_t b1, bool hideSinks)
{
    BlockHit hit;
    r0 = std::max<std::int64_t>(0, r0);
    r1 = std::min<std::int64_t>(s.rows, std::max(r1, r0 + 1));
    b0 = std::max<std::int64_t>(0, b0);
    b1 = std::min<std::int64_t>(s.keyBlocks, std::max(b1, b0 + 1));
    if (r0 >= r1 || b0 >= b1) return hit;
    const std::int64_t lo = hideSinks ? std::max<std::int64_t>(b0, s.sinkBlocks) : b0;
    hit.valid = true;
    hit.row = r0;
    hit.keyBlock = b0;
    for (std::int64_t r = r0; r < r1; ++r) {
        auto idx = s.view.indexRow(s.head, r);
        auto mass = s.view.massRow(s.head, r);
        for (int k = 0; k < s.view.kPrime; ++k) {
            if (idx[k] < lo || idx[k] >= b1) continue;
            if (!hit.kept || mass[k] > hit.mass) {
                hit.kept = true;
                hit.mass = mass[k];
                hit.row = r;
                hit.keyBlock = idx[k];
            }
        }
    }
    const auto& info = s.info();
    hit.causal = hit.keyBlock * info.params.bk <= info.rowQueries(hit.row)[1];
    if (s.hasCaptured) hit.captured = s.view.captured[static_cast<std::size_t>(s.head * s.rows + hit.row)];
    if (!hit.kept && s.hasOracle) {
        auto oracle = s.view.oracleIndex.subspan(static_cast<std::size_t>((s.head * s.rows + hit.row) * s.view.kPrime),
                                                 static_cast<std::size_t>(s.view.kPrime));
        hit.oracleOnly = std::find(oracle.begin(), oracle.end(), static_cast<std::int32_t>(hit.keyBlock)) != oracle.end();
    }
    return hit;
}

} // namespace sparsetrace::widgets
