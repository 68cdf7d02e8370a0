// Colormap tables. Control points are facts stated from the published definitions:
// viridis, magma and cividis are matplotlib's 256-entry tables (van der Walt & Smith 2015;
// cividis: Nuñez, Anderton & Renslow 2018), sampled here at the nine points t = k/8
// (table entries 0, 32, 64, 96, 128, 159, 191, 223, 255); linear interpolation between them
// stays within a few 1/255 steps of the full tables. The diverging map is ColorBrewer's
// 11-class RdBu (Brewer 2002), reversed so that negative is blue and positive is red.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/colormap.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sparsetrace::widgets {

namespace {
struct Rgb {
    double r, g, b; // [0, 1]
};

Rgb hex(unsigned v) { return {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0}; }

std::vector<Rgb> controlPoints(ColormapId id)
{
    switch (id) {
    case ColormapId::Viridis:
        return {hex(0x440154), hex(0x472D7B), hex(0x3B528B), hex(0x2C728E), hex(0x21908C),
                hex(0x27AD81), hex(0x5DC863), hex(0xAADC32), hex(0xFDE725)};
    case ColormapId::Magma:
        return {hex(0x000004), hex(0x1D1147), hex(0x51127C), hex(0x822681), hex(0xB63679),
                hex(0xE65164), hex(0xFB8861), hex(0xFEC287), hex(0xFCFDBF)};
    case ColormapId::Cividis:
        return {{0.000000, 0.135112, 0.304751}, {0.103401, 0.220406, 0.435790}, {0.263738, 0.307831, 0.422789},
                {0.380830, 0.395164, 0.435653}, {0.488697, 0.485318, 0.471008}, {0.605211, 0.576777, 0.464441},
                {0.732422, 0.677364, 0.425717}, {0.866421, 0.786028, 0.346571}, {0.995737, 0.909344, 0.217772}};
    case ColormapId::Diverging:
        return {hex(0x053061), hex(0x2166AC), hex(0x4393C3), hex(0x92C5DE), hex(0xD1E5F0), hex(0xF7F7F7),
                hex(0xFDDBC7), hex(0xF4A582), hex(0xD6604D), hex(0xB2182B), hex(0x67001F)};
    }
    return {hex(0), hex(0xffffff)};
}
} // namespace

Colormap::Colormap(ColormapId id) : m_id(id)
{
    const std::vector<Rgb> cp = controlPoints(id);
    const double segments = static_cast<double>(cp.size() - 1);
    for (int i = 0; i < 256; ++i) {
        const double t = i / 255.0 * segments;
        const std::size_t k = std::min(static_cast<std::size_t>(t), cp.size() - 2);
        const double f = t - static_cast<double>(k);
        auto mix = [&](double a, double b) { return static_cast<int>(std::lround((a + (b - a) * f) * 255.0)); };
        m_table[static_cast<std::size_t>(i)] = qRgb(mix(cp[k].r, cp[k + 1].r), mix(cp[k].g, cp[k + 1].g), mix(cp[k].b, cp[k + 1].b));
    }
}

const Colormap& Colormap::get(ColormapId id)
{
    static const Colormap maps[] = {Colormap(ColormapId::Viridis), Colormap(ColormapId::Magma),
                                    Colormap(ColormapId::Cividis), Colormap(ColormapId::Diverging)};
    return maps[static_cast<int>(id)];
}

QRgb Colormap::map(double t) const
{
    if (!(t > 0.0)) return m_table[0]; // also NaN
    if (t >= 1.0) return m_table[255];
    return m_table[static_cast<std::size_t>(t * 255.0 + 0.5)];
}

QString Colormap::name() const { return colormapName(m_id); }

QString colormapName(ColormapId id)
{
    switch (id) {
    case ColormapId::Viridis: return QStringLiteral("viridis");
    case ColormapId::Magma: return QStringLiteral("magma");
    case ColormapId::Cividis: return QStringLiteral("cividis");
    case ColormapId::Diverging: return QStringLiteral("diverging");
    }
    return QStringLiteral("viridis");
}

ColormapId colormapFromName(const QString& name)
{
    for (ColormapId id : {ColormapId::Viridis, ColormapId::Magma, ColormapId::Cividis, ColormapId::Diverging})
        if (name.compare(colormapName(id), Qt::CaseInsensitive) == 0) return id;
    return ColormapId::Viridis;
}

QStringList colormapNames() { return {"viridis", "magma", "cividis", "diverging"}; }

} // namespace sparsetrace::widgets
