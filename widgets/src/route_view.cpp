// The route view (see route_view.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/route_view.h"

#include "sparsetrace/core/error.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace sparsetrace::widgets {

namespace {
constexpr int kSliderSteps = 100; // tau in steps of 0.01
const QColor kCritical(0xe0, 0x20, 0x20, 150);
const QColor kResidual(0xb0, 0xb0, 0xb0);

struct RouteResult {
    std::optional<core::Route> route;
    std::optional<core::RouteComparison> comparison;
};

double distanceToSegment(QPointF p, QPointF a, QPointF b)
{
    const QPointF ab = b - a;
    const double len2 = QPointF::dotProduct(ab, ab);
    const double t = len2 > 0 ? std::clamp(QPointF::dotProduct(p - a, ab) / len2, 0.0, 1.0) : 0.0;
    const QPointF d = p - (a + t * ab);
    return std::hypot(d.x(), d.y());
}
} // namespace

RouteView::RouteView(QWidget* parent)
    : AnalysisView(parent), m_loader(new TraceLoader(this)), m_status(new QLabel(this)), m_tauLabel(new QLabel(this)),
      m_slider(new QSlider(Qt::Horizontal, this)), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* bar = new QHBoxLayout;
    m_slider->setRange(0, kSliderSteps);
    m_slider->setValue(static_cast<int>(std::lround(m_tau * kSliderSteps)));
    m_slider->setToolTip(tr("Mass threshold tau of an attention edge"));
    m_tauLabel->setMinimumWidth(m_tauLabel->fontMetrics().horizontalAdvance(QStringLiteral("tau = 0.00 ")));
    auto* compare = new QPushButton(tr("Compare with…"), this);
    compare->setToolTip(tr("A failed trace of the same prompt: its missing edges are the critical ones"));
    auto* stop = new QPushButton(tr("Stop Comparing"), this);
    bar->addWidget(m_tauLabel);
    bar->addWidget(m_slider, 1);
    bar->addWidget(compare);
    bar->addWidget(stop);
    layout->addLayout(bar);
    m_status->setWordWrap(true);
    m_status->setText(tr("Open a trace with a needle (a NIAH trace) to see the route from the needle to the answer."));
    layout->addWidget(m_status);
    layout->addWidget(m_plot, 1);
    styleAnalysisPlot(m_plot);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_tauLabel->setText(tr("tau = %1").arg(m_tau, 0, 'f', 2));

    connect(m_slider, &QSlider::valueChanged, this, [this](int v) { setTau(static_cast<double>(v) / kSliderSteps); });
    connect(m_plot, &QCustomPlot::mousePress, this, &RouteView::onPlotPress);
    connect(compare, &QPushButton::clicked, this, [this] {
        if (!m_trace) {
            emit failed(tr("Cannot compare"), tr("Open a trace first, then the failed trace to compare it with."));
            return;
        }
        const QString path = QFileDialog::getOpenFileName(this, tr("Compare the route with a failed trace"), QString(),
                                                          tr("SparseTrace traces (*.sptrace);;All files (*)"));
        if (!path.isEmpty()) compareWith(path);
    });
    connect(stop, &QPushButton::clicked, this, [this] { setCompare(nullptr); });
    connect(m_loader, &TraceLoader::loaded, this, [this](TracePtr t, const QString& path) { setCompare(std::move(t), QFileInfo(path).fileName()); });
    connect(m_loader, &TraceLoader::failed, this, [this](const QString&, const QString& m) { emit failed(tr("Cannot open the trace to compare"), m); });
}

void RouteView::setTrace(TracePtr trace)
{
    m_trace = std::move(trace);
    m_compare.reset();
    m_compareName.clear();
    recompute();
}

void RouteView::setCompare(TracePtr failed, const QString& name)
{
    m_compare = std::move(failed);
    m_compareName = m_compare ? name : QString();
    recompute();
}

void RouteView::compareWith(const QString& path)
{
    m_loader->open(path);
}

void RouteView::setTau(double tau)
{
    tau = std::clamp(tau, 0.0, 1.0);
    m_tauLabel->setText(tr("tau = %1").arg(tau, 0, 'f', 2));
    {
        const QSignalBlocker block(m_slider);
        m_slider->setValue(static_cast<int>(std::lround(tau * kSliderSteps)));
    }
    if (tau == m_tau) return;
    m_tau = tau;
    recompute();
}

void RouteView::recompute()
{
    const std::uint64_t job = ++m_job;
    if (!m_trace) {
        m_route.reset();
        m_comparison.reset();
        m_busy = false;
        draw();
        return;
    }
    m_busy = true;
    m_status->setText(tr("Extracting the route at tau = %1…").arg(m_tau, 0, 'f', 2));
    core::RouteOptions options;
    options.tau = m_tau;
    runInBackground<RouteResult>(
        this, &m_job, job,
        [trace = m_trace, compare = m_compare, options] {
            RouteResult r;
            if (compare) {
                r.comparison = core::compareRoutes(*trace, *compare, options);
                r.route = r.comparison->success;
            } else {
                r.route = core::extractRoute(*trace, options);
            }
            return r;
        },
        [this](std::optional<RouteResult> r, const QString& error) {
            m_busy = false;
            m_route.reset();
            m_comparison.reset();
            if (r) {
                m_route = std::move(r->route);
                m_comparison = std::move(r->comparison);
            } else {
                m_status->setText(tr("No route: %1").arg(error));
                // In the status bar only while the routes are on screen: opening a trace without
                // a needle is not an error of the window's.
                if (isVisible()) emit statusMessage(tr("Routes: %1").arg(error));
            }
            draw();
            emit routeReady();
        });
}

QString RouteView::statusText() const { return m_status->text(); }

double RouteView::xOf(std::int64_t row) const
{
    const auto q = m_trace->info().rowQueries(row);
    return (static_cast<double>(q[0]) + static_cast<double>(q[1])) / 2.0;
}

void RouteView::draw()
{
    m_plot->clearItems();
    m_plot->clearPlottables();
    m_edges.clear();
    m_plot->legend->setVisible(false);
    if (!m_route || !m_trace) {
        m_plot->replot();
        return;
    }
    const core::Route& route = *m_route;
    const core::TraceInfo& info = m_trace->info();
    std::set<core::RouteEdge> critical;
    if (m_comparison) critical.insert(m_comparison->critical.begin(), m_comparison->critical.end());
    for (const auto& e : route.edges)
        m_edges.push_back({e, e.residual() ? EdgeKind::Residual : critical.count(e) ? EdgeKind::Critical : EdgeKind::Route});
    if (m_comparison)
        for (const auto& e : m_comparison->failureOnly) m_edges.push_back({e, EdgeKind::FailureOnly});

    auto line = [&](const core::RouteEdge& e, const QPen& pen) {
        auto* item = new QCPItemLine(m_plot);
        item->start->setCoords(xOf(e.from), e.layer);
        item->end->setCoords(xOf(e.to), e.layer + 1);
        item->setPen(pen);
        item->setSelectable(false);
    };
    // Back to front: residual steps, edges only the failed trace has, the critical marks, then
    // the route's attention edges on top.
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::Residual) line(d.edge, QPen(kResidual, 1.0, Qt::DotLine));
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::FailureOnly) line(d.edge, QPen(QColor(0x60, 0x60, 0x60), 1.5, Qt::DashLine));
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::Critical) line(d.edge, QPen(kCritical, 6.0 + 5.0 * static_cast<double>(d.edge.mass), Qt::SolidLine, Qt::RoundCap));
    std::set<int> heads;
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::Route || d.kind == EdgeKind::Critical) {
            heads.insert(d.edge.head);
            line(d.edge, QPen(categoricalColor(d.edge.head, info.model.heads), 1.0 + 5.0 * static_cast<double>(d.edge.mass),
                              Qt::SolidLine, Qt::RoundCap));
        }

    // Legend entries: a data-less graph per head on the route, and the comparison's marks.
    for (int h : heads) {
        auto* g = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
        g->setPen(QPen(categoricalColor(h, info.model.heads), 3.0));
        g->setName(tr("head %1").arg(h));
    }
    if (m_comparison) {
        auto* c = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
        c->setPen(QPen(kCritical, 6.0));
        c->setName(tr("critical: missing in %1").arg(m_compareName.isEmpty() ? tr("the failed trace") : m_compareName));
        auto* f = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
        f->setPen(QPen(QColor(0x60, 0x60, 0x60), 1.5, Qt::DashLine));
        f->setName(tr("only on the failed route"));
    }
    auto* ends = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
    ends->setLineStyle(QCPGraph::lsNone);
    ends->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(Qt::black), QBrush(QColor(0xff, 0xd7, 0x00)), 10));
    ends->setName(tr("needle (bottom) and answer position (top)"));
    QVector<double> ex, ey;
    for (std::int64_t r : route.sourceRows) {
        ex.push_back(xOf(r));
        ey.push_back(0);
    }
    ex.push_back(xOf(route.targetRow));
    ey.push_back(route.layers);
    ends->setData(ex, ey, false);

    auto yt = QSharedPointer<QCPAxisTickerText>::create();
    yt->addTick(0, tr("input"));
    for (int n = 1; n <= route.layers; ++n) yt->addTick(n, QString::number(n));
    m_plot->yAxis->setTicker(yt);
    m_plot->yAxis->setLabel(tr("residual stream after n layers"));
    m_plot->xAxis->setLabel(tr("token position (query block centre)"));
    m_plot->yAxis->setRange(-0.4, route.layers + 0.4);
    // The route's span (the wheel zooms out to the whole trace).
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& d : m_edges)
        for (double x : {xOf(d.edge.from), xOf(d.edge.to)}) {
            lo = std::min(lo, x);
            hi = std::max(hi, x);
        }
    for (double x : ex) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
    }
    const double margin = std::max(static_cast<double>(info.params.bq), (hi - lo) * 0.05);
    m_plot->xAxis->setRange(std::max(0.0, lo - margin), std::min(static_cast<double>(info.promptTokens + info.generatedTokens), hi + margin));
    m_plot->legend->setBrush(QColor(255, 255, 255, 210));
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    m_plot->replot();

    std::size_t attention = 0;
    for (const auto& d : m_edges) attention += d.kind == EdgeKind::Route || d.kind == EdgeKind::Critical ? 1 : 0;
    QString s = route.connected() ? tr("%1 attention edges on the route from %2 needle rows to row %3 at tau = %4")
                                        .arg(attention)
                                        .arg(route.sourceRows.size())
                                        .arg(route.targetRow)
                                        .arg(m_tau, 0, 'f', 2)
                                  : tr("The needle does not reach row %1 at tau = %2: lower the threshold.").arg(route.targetRow).arg(m_tau, 0, 'f', 2);
    if (m_comparison)
        s += tr(" · %1 critical edges missing in %2, %3 only on its route")
                 .arg(m_comparison->critical.size())
                 .arg(m_compareName)
                 .arg(m_comparison->failureOnly.size());
    s += tr(" · click an edge to show its layer and head");
    m_status->setText(s);
}

QPointF RouteView::edgeMidpoint(std::size_t i) const
{
    if (i >= m_edges.size()) return {};
    const auto& e = m_edges[i].edge;
    return {(m_plot->xAxis->coordToPixel(xOf(e.from)) + m_plot->xAxis->coordToPixel(xOf(e.to))) / 2,
            (m_plot->yAxis->coordToPixel(e.layer) + m_plot->yAxis->coordToPixel(e.layer + 1)) / 2};
}

int RouteView::edgeAt(QPointF pos) const
{
    constexpr double kReach = 6.0; // pixels
    int best = -1;
    double bestDistance = kReach;
    for (std::size_t i = 0; i < m_edges.size(); ++i) {
        const auto& d = m_edges[i];
        if (d.kind == EdgeKind::Residual) continue;
        const QPointF a(m_plot->xAxis->coordToPixel(xOf(d.edge.from)), m_plot->yAxis->coordToPixel(d.edge.layer));
        const QPointF b(m_plot->xAxis->coordToPixel(xOf(d.edge.to)), m_plot->yAxis->coordToPixel(d.edge.layer + 1));
        const double dist = distanceToSegment(pos, a, b);
        // Route edges win ties over the failed trace's edges drawn beneath them.
        if (dist < bestDistance || (dist == bestDistance && best >= 0 && m_edges[static_cast<std::size_t>(best)].kind == EdgeKind::FailureOnly)) {
            bestDistance = dist;
            best = static_cast<int>(i);
        }
    }
    return best;
}

void RouteView::onPlotPress(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton) return;
    const int i = edgeAt(event->position());
    if (i < 0) return;
    const auto& e = m_edges[static_cast<std::size_t>(i)].edge;
    emit statusMessage(tr("Edge: layer %1, head %2, row %3 → row %4, mass %5").arg(e.layer).arg(e.head).arg(e.from).arg(e.to)
                           .arg(static_cast<double>(e.mass), 0, 'g', 4));
    emit edgeClicked(e.layer, e.head);
}

QString RouteView::caption() const
{
    if (!m_route || !m_trace) return {};
    const core::TraceInfo& info = m_trace->info();
    QString c = tr("%1 · %2 · needle-to-output route at tau = %3: rows %4 → row %5, edge colour = head, width = mass")
                    .arg(traceModelName(info), traceShapeText(info))
                    .arg(m_tau, 0, 'f', 2)
                    .arg([&] {
                        QStringList rows;
                        for (std::int64_t r : m_route->sourceRows) rows << QString::number(r);
                        return rows.join(QStringLiteral(", "));
                    }())
                    .arg(m_route->targetRow);
    if (m_comparison)
        c += tr(" · compared with %1: %2 critical edges (red)").arg(m_compareName).arg(m_comparison->critical.size());
    return c;
}

void RouteView::exportView(const ExportRequest& request) const
{
    if (!m_route) throw ArgumentError("nothing to export: the route view has no route");
    exportPlots(request, caption(), QStringLiteral("SparseTrace needle-to-output route"), {m_plot});
}

} // namespace sparsetrace::widgets
