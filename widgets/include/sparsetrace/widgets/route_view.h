// The route view (spec section 8, the Stream paper's figure 6): the needle-to-output route of
// the open trace drawn across layers (the residual stream after n layers as rows, token
// positions as columns; attention edges coloured by head, their width growing with mass), a
// threshold (tau) slider, and the difference with a second trace of the same prompt (a failed
// retrieval): the critical edges the failed trace lacks are marked. Clicking an edge emits its
// layer and head. Routes are extracted in the thread pool.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/routes.h"
#include "sparsetrace/widgets/analysis_view.h"
#include "sparsetrace/widgets/async_jobs.h"

#include <QPointF>

#include <optional>

class QLabel;
class QMouseEvent;
class QSlider;

namespace sparsetrace::widgets {

class RouteView : public AnalysisView {
    Q_OBJECT
public:
    enum class EdgeKind { Route, Critical, FailureOnly, Residual };
    struct DrawnEdge {
        core::RouteEdge edge;
        EdgeKind kind = EdgeKind::Route;
    };

    explicit RouteView(QWidget* parent = nullptr);

    QString title() const override { return tr("Routes"); }
    bool hasContent() const override { return m_route.has_value(); }
    // The view's own one-line status ("No route: …", "Extracting the route…").
    QString statusText() const;
    QString caption() const override;
    void exportView(const ExportRequest& request) const override;

    double tau() const { return m_tau; }
    bool busy() const { return m_busy; }
    bool comparing() const { return m_compare != nullptr; }
    const std::optional<core::Route>& route() const { return m_route; }
    const std::optional<core::RouteComparison>& comparison() const { return m_comparison; }
    const std::vector<DrawnEdge>& drawnEdges() const { return m_edges; }
    QSlider* tauSlider() const { return m_slider; }
    QCustomPlot* plot() const { return m_plot; }
    // Midpoint of drawn edge i in the plot's pixels; the attention edge nearest to a plot pixel
    // (within a few pixels), or -1.
    QPointF edgeMidpoint(std::size_t i) const;
    int edgeAt(QPointF plotPos) const;

public slots:
    void setTrace(sparsetrace::widgets::TracePtr trace);
    // A failed trace of the same prompt; null ends the comparison.
    void setCompare(sparsetrace::widgets::TracePtr failed, const QString& name = {});
    void setTau(double tau);
    // Opens a failed trace of the same prompt in the thread pool and compares with it.
    void compareWith(const QString& path);

signals:
    void routeReady();
    // An attention edge was clicked: select this layer and head.
    void edgeClicked(int layer, int head);

private:
    void recompute();
    void draw();
    void onPlotPress(QMouseEvent* event);
    double xOf(std::int64_t row) const;

    TracePtr m_trace;
    TracePtr m_compare;
    QString m_compareName;
    double m_tau = 0.05;
    std::optional<core::Route> m_route;
    std::optional<core::RouteComparison> m_comparison;
    std::vector<DrawnEdge> m_edges;
    std::uint64_t m_job = 0;
    bool m_busy = false;
    TraceLoader* m_loader;
    QLabel* m_status;
    QLabel* m_tauLabel;
    QSlider* m_slider;
    QCustomPlot* m_plot;
};

} // namespace sparsetrace::widgets
