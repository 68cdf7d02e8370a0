// Per-head statistic table model (see head_stat_model.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/head_stat_model.h"

#include <QBrush>
#include <QColor>

#include <cmath>
#include <limits>

namespace sparsetrace::widgets {

HeadStatModel::HeadStatModel(QObject* parent) : QAbstractTableModel(parent) {}

void HeadStatModel::setStatistic(const QString& name, int layers, int heads, std::vector<float> values)
{
    beginResetModel();
    m_name = name;
    if (values.size() != static_cast<std::size_t>(layers) * static_cast<std::size_t>(heads)) {
        layers = heads = 0;
        values.clear();
    }
    m_layers = layers;
    m_heads = heads;
    m_values = std::move(values);
    m_min = std::numeric_limits<double>::infinity();
    m_max = -std::numeric_limits<double>::infinity();
    for (float v : m_values)
        if (std::isfinite(v)) {
            m_min = std::min<double>(m_min, v);
            m_max = std::max<double>(m_max, v);
        }
    if (!std::isfinite(m_min)) m_min = m_max = 0;
    endResetModel();
}

void HeadStatModel::setColormap(ColormapId map)
{
    m_colormap = map == ColormapId::Diverging ? ColormapId::Viridis : map;
    if (m_layers > 0 && m_heads > 0) emit dataChanged(index(0, 0), index(m_layers - 1, m_heads - 1), {Qt::BackgroundRole, Qt::ForegroundRole});
}

void HeadStatModel::clear() { setStatistic({}, 0, 0, {}); }

void HeadStatModel::setShowValues(bool on)
{
    if (on == m_showValues) return;
    m_showValues = on;
    if (m_layers > 0 && m_heads > 0) emit dataChanged(index(0, 0), index(m_layers - 1, m_heads - 1), {Qt::DisplayRole});
}

double HeadStatModel::value(int layer, int head) const
{
    if (layer < 0 || head < 0 || layer >= m_layers || head >= m_heads) return std::numeric_limits<double>::quiet_NaN();
    return m_values[static_cast<std::size_t>(layer) * m_heads + head];
}

int HeadStatModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : m_layers; }
int HeadStatModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : m_heads; }

QVariant HeadStatModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const double v = value(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
        if (!m_showValues) return QString();
        return std::isfinite(v) ? QString::number(v, 'g', 4) : QStringLiteral("–"); // 0.9995, not 1.00
    case Qt::ToolTipRole:
        return QStringLiteral("layer %1, head %2: %3 %4")
            .arg(index.row())
            .arg(index.column())
            .arg(m_name, std::isfinite(v) ? QString::number(v, 'g', 6) : QStringLiteral("undefined"));
    case Qt::BackgroundRole:
    case Qt::ForegroundRole: {
        if (!std::isfinite(v)) return role == Qt::BackgroundRole ? QVariant(QBrush(QColor(0xa8, 0xa8, 0xa8))) : QVariant();
        const double t = m_max > m_min ? (v - m_min) / (m_max - m_min) : 0.5; // one value: mid-scale
        const QColor c = QColor::fromRgb(Colormap::get(m_colormap).map(t));
        if (role == Qt::BackgroundRole) return QBrush(c);
        const double luminance = 0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF();
        return QBrush(luminance > 0.5 ? Qt::black : Qt::white);
    }
    case Qt::TextAlignmentRole:
        return int(Qt::AlignCenter);
    case Qt::UserRole:
        return v;
    default:
        return {};
    }
}

QVariant HeadStatModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole) return {};
    if (orientation == Qt::Horizontal) return section >= 0 && section < m_heads ? QVariant(QStringLiteral("H%1").arg(section)) : QVariant();
    return section >= 0 && section < m_layers ? QVariant(QStringLiteral("L%1").arg(section)) : QVariant();
}

} // namespace sparsetrace::widgets
