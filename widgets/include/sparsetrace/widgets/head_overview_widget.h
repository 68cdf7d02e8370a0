// The layer x head overview: the trace's parameters (and its needle's key span) in a line above
// one statistic per head as a coloured grid that fits the dock's width (no horizontal scrolling:
// the values' text goes when the columns get too narrow for it); clicking a cell selects that head. Statistics not stored in the trace are computed in a worker thread when chosen.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/async_jobs.h"
#include "sparsetrace/widgets/head_stat_model.h"

#include <QPointer>
#include <QWidget>

#include <atomic>
#include <memory>

class QComboBox;
class QLabel;
class QTableView;

namespace sparsetrace::widgets {

class LayerHeadSelection;

class HeadOverviewWidget : public QWidget {
    Q_OBJECT
public:
    explicit HeadOverviewWidget(QWidget* parent = nullptr);
    ~HeadOverviewWidget() override;
    void setSelection(LayerHeadSelection* selection);
    HeadStatModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    QString statistic() const;
    // The line above the grid: parameters (score rule included) and, for a needle trace, the
    // needle's tokens and key blocks.
    QString infoText() const;

public slots:
    void setTrace(sparsetrace::widgets::TracePtr trace);
    void showStatistic(const QString& name);
    void setColormap(sparsetrace::widgets::ColormapId map);

signals:
    void statisticReady(const QString& name);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void syncCurrent();
    void fitValues(); // text in the cells only where the columns are wide enough
    TracePtr m_trace;
    HeadStatModel* m_model;
    QComboBox* m_stat;
    QLabel* m_info;
    QTableView* m_view;
    QLabel* m_status;
    QPointer<LayerHeadSelection> m_selection;
    std::uint64_t m_job = 0;
    std::shared_ptr<std::atomic<bool>> m_stop;
};

} // namespace sparsetrace::widgets
