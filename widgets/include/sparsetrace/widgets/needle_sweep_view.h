// The needle-sweep view (spec section 7, the Stream paper's figure 5): a sweep's table (the
// niah.json that `sparsetrace niah` writes into its output folder) as a heatmap of retrieval
// over context length x needle depth, one per K (a selector). Clicking a cell opens its trace
// when the sweep kept traces (--keep-traces).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/widgets/analysis_view.h"

#include <QPointF>

class QComboBox;
class QLabel;
class QMouseEvent;
class QCPColorMap;
class QCPColorScale;

namespace sparsetrace::widgets {

// A sweep table read from a folder (its niah.json) or from the JSON file itself; throws IoError
// or FormatError naming the path. `folder` receives the folder that trace paths are relative to.
core::NiahTable readSweepTable(const QString& path, QString* folder = nullptr);

class NeedleSweepView : public AnalysisView {
    Q_OBJECT
public:
    explicit NeedleSweepView(QWidget* parent = nullptr);

    QString title() const override { return tr("Needle sweep"); }
    bool hasContent() const override { return m_loaded; }
    QString caption() const override;
    void exportView(const ExportRequest& request) const override;

    const core::NiahTable& table() const { return m_table; }
    QString folder() const { return m_folder; }
    bool busy() const { return m_busy; }
    int currentK() const; // 0 when no table
    QComboBox* kSelector() const { return m_kSelector; }
    QCustomPlot* plot() const { return m_plot; }
    // The result shown at (length index, depth index) for the current K, or null.
    const core::NiahCellResult* cellAt(int lengthIndex, int depthIndex) const;
    // Colour the heatmap gives that cell, and the cell's centre in the plot's pixels.
    QColor cellColor(int lengthIndex, int depthIndex) const;
    QPointF cellCentre(int lengthIndex, int depthIndex) const;
    // The absolute path of a cell's kept trace, or empty.
    QString tracePathOf(const core::NiahCellResult& cell) const;

public slots:
    // Reads a sweep folder or niah.json in the thread pool (errors go to `failed`).
    void openSweep(const QString& path);
    void setTable(sparsetrace::core::NiahTable table, const QString& folder);
    void setK(int k);
    // As a click on the cell: emits cellClicked, and openTraceRequested when it kept a trace.
    void activateCell(int lengthIndex, int depthIndex);

signals:
    void sweepLoaded(const QString& path);
    void cellClicked(qint64 length, double depth, int k);
    void openTraceRequested(const QString& tracePath);

private:
    void fill();
    void onPlotPress(QMouseEvent* event);

    core::NiahTable m_table;
    QString m_folder;
    bool m_loaded = false;
    bool m_busy = false;
    std::uint64_t m_job = 0;
    QLabel* m_status;
    QComboBox* m_kSelector;
    QCustomPlot* m_plot;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
};

} // namespace sparsetrace::widgets
