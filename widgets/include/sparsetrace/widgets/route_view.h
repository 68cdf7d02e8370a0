// The route view (spec section 8, the Stream paper's figure 6): the needle-to-output route of
// the open trace drawn across layers (the residual stream after n layers as rows, token
// positions as columns). By default only the N strongest paths from the needle rows to the
// answer row (core::Route::paths; N adjustable) are drawn, attention edges coloured by head with
// width and opacity growing with mass; "All edges" adds every route edge above the threshold
// (tau slider). Compared with a second trace of the same prompt, the edges of the retrieving
// trace's route that the failed one lost are marked (whichever of the two is open). The legend
// and head key sit under the plot; hovering an edge names its layer, head, query and key spans
// and mass; clicking it emits its layer and head. Routes are extracted in the thread pool.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/routes.h"
#include "sparsetrace/widgets/analysis_view.h"
#include "sparsetrace/widgets/async_jobs.h"

#include <QPointF>

#include <optional>

class QCheckBox;
class QLabel;
class QMouseEvent;
class QSlider;
class QSpinBox;

namespace sparsetrace::widgets {

class RouteView : public AnalysisView {
    Q_OBJECT
public:
    enum class EdgeKind { Route, Critical, FailureOnly, Residual };
    struct DrawnEdge {
        core::RouteEdge edge;
        EdgeKind kind = EdgeKind::Route;
        int path = -1; // the strongest path (index in route().paths) the edge lies on, or -1
    };

    explicit RouteView(QWidget* parent = nullptr);

    QString title() const override { return tr("Routes"); }
    bool hasContent() const override { return m_route.has_value(); }
    // The view's own one-line status ("No route: …", "Extracting the route…").
    QString statusText() const;
    QString caption() const override;
    void exportView(const ExportRequest& request) const override;

    double tau() const { return m_tau; }
    int pathCount() const { return m_paths; }
    bool showingAllEdges() const { return m_showAll; }
    bool busy() const { return m_busy; }
    bool comparing() const { return m_compare != nullptr; }
    const std::optional<core::Route>& route() const { return m_route; }
    const std::optional<core::RouteComparison>& comparison() const { return m_comparison; }
    const std::vector<DrawnEdge>& drawnEdges() const { return m_edges; }
    QSlider* tauSlider() const { return m_slider; }
    QSpinBox* pathsSpin() const { return m_pathsSpin; }
    QCheckBox* allEdgesBox() const { return m_allBox; }
    // True when the compared trace is the one that retrieves (the open one lost the needle): the
    // route drawn is the compared trace's, its lost edges those of the open one.
    bool comparedIsTheSuccess() const { return m_swapped; }
    // What hovering drawn edge i says: layer, head, query and key token spans, mass.
    QString edgeDescription(std::size_t i) const;
    QString hoverText() const { return m_hover; }
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
    void setPathCount(int n);      // the strongest paths drawn (1..50)
    void setShowAllEdges(bool on); // every route edge above tau, beneath the paths
    // Opens a failed trace of the same prompt in the thread pool and compares with it.
    void compareWith(const QString& path);

signals:
    void routeReady();
    // An attention edge was clicked: select this layer and head.
    void edgeClicked(int layer, int head);
    // The pointer moved onto an edge (its description) or off every edge (empty).
    void edgeHovered(const QString& description);

private:
    void recompute();
    void draw();
    void onPlotPress(QMouseEvent* event);
    void onPlotMove(QMouseEvent* event);
    double xOf(std::int64_t row) const;

    TracePtr m_trace;
    TracePtr m_compare;
    QString m_compareName;
    double m_tau = 0.05;
    int m_paths = core::RouteOptions{}.paths;
    bool m_showAll = false;
    bool m_swapped = false; // compareRoutes(compared, open): the open trace is the failure
    std::optional<bool> m_openRetrieved; // the open trace's sparse retrieval of its needle
    QString m_hover;
    std::optional<core::Route> m_route;
    std::optional<core::RouteComparison> m_comparison;
    std::vector<DrawnEdge> m_edges;
    std::uint64_t m_job = 0;
    bool m_busy = false;
    TraceLoader* m_loader;
    QLabel* m_status;
    QLabel* m_tauLabel;
    QSlider* m_slider;
    QSpinBox* m_pathsSpin;
    QCheckBox* m_allBox;
    QCustomPlot* m_plot;
};

} // namespace sparsetrace::widgets
