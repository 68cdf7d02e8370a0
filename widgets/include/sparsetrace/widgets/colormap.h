// Colormaps of the explorer: viridis, magma and cividis (perceptually uniform, for masses) and
// a diverging red-blue map (for differences of two traces). Each is a 256-entry lookup table
// interpolated from control points stated in colormap.cpp.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QColor>
#include <QString>
#include <QStringList>

#include <array>

namespace sparsetrace::widgets {

enum class ColormapId { Viridis, Magma, Cividis, Diverging };

class Colormap {
public:
    static const Colormap& get(ColormapId id);
    // t in [0, 1]; values outside are clamped, NaN maps to 0.
    QRgb map(double t) const;
    const std::array<QRgb, 256>& table() const { return m_table; }
    ColormapId id() const { return m_id; }
    QString name() const;

private:
    explicit Colormap(ColormapId id);
    ColormapId m_id;
    std::array<QRgb, 256> m_table{}; // [256] ARGB32
};

QString colormapName(ColormapId id);                 // "viridis", "magma", "cividis", "diverging"
ColormapId colormapFromName(const QString& name);    // unknown names give viridis
QStringList colormapNames();

} // namespace sparsetrace::widgets
