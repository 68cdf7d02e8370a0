// Table model of one per-head statistic: rows are layers, columns heads. Display text is the
// value (none when the view's columns are too narrow for it: setShowValues), the background its colour on the colormap (scaled to the finite values' range), and
// Qt::UserRole the raw value (NaN where undefined).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/colormap.h"

#include <QAbstractTableModel>

#include <vector>

namespace sparsetrace::widgets {

class HeadStatModel : public QAbstractTableModel {
    Q_OBJECT
public:
    explicit HeadStatModel(QObject* parent = nullptr);
    // values: [layers * heads] float32 row-major (empty: no statistic).
    void setStatistic(const QString& name, int layers, int heads, std::vector<float> values);
    void setColormap(ColormapId map);
    void clear();
    // Whether cells show their value as text (the tooltip and Qt::UserRole always hold it).
    void setShowValues(bool on);
    bool showValues() const { return m_showValues; }
    QString statistic() const { return m_name; }
    double value(int layer, int head) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QString m_name;
    int m_layers = 0, m_heads = 0;
    std::vector<float> m_values; // [layers, heads] float32
    double m_min = 0, m_max = 1;
    ColormapId m_colormap = ColormapId::Viridis;
    bool m_showValues = true;
};

} // namespace sparsetrace::widgets
