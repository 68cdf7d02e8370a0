// The route view (see route_view.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/route_view.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/niah.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QCheckBox>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace sparsetrace::widgets {

namespace {
constexpr int kSliderSteps = 100; // tau in steps of 0.01
constexpr int kMaxPaths = 50;
const QColor kCritical(0xe0, 0x20, 0x20, 170);
const QColor kResidual(0xb0, 0xb0, 0xb0);

struct RouteResult {
    std::optional<core::Route> route;
    std::optional<core::RouteComparison> comparison;
    bool swapped = false;              // the compared trace retrieves, the open one does not
    std::optional<bool> openRetrieved; // the open trace's sparse retrieval, when it has a needle
};

// An attention edge's pen: the head's colour, wider and more opaque with more mass; edges off
// the strongest paths (All edges) stay thin and faint beneath them.
QPen edgePen(const core::RouteEdge& e, int heads, bool onPath)
{
    const double m = std::clamp(static_cast<double>(e.mass), 0.0, 1.0);
    QColor c = categoricalColor(e.head, heads);
    c.setAlphaF(static_cast<float>(onPath ? 0.35 + 0.65 * m : 0.18 + 0.32 * m));
    return QPen(c, onPath ? 1.5 + 6.0 * m : 0.8 + 2.0 * m, Qt::SolidLine, Qt::RoundCap);
}

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
      m_slider(new QSlider(Qt::Horizontal, this)), m_pathsSpin(new QSpinBox(this)), m_allBox(new QCheckBox(tr("All edges"), this)),
      m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* bar = new QHBoxLayout;
    m_slider->setRange(0, kSliderSteps);
    m_slider->setValue(static_cast<int>(std::lround(m_tau * kSliderSteps)));
    m_slider->setToolTip(tr("Mass threshold tau of an attention edge"));
    m_tauLabel->setMinimumWidth(m_tauLabel->fontMetrics().horizontalAdvance(QStringLiteral("tau = 0.00 ")));
    m_pathsSpin->setRange(1, kMaxPaths);
    m_pathsSpin->setValue(m_paths);
    m_pathsSpin->setPrefix(tr("top "));
    m_pathsSpin->setSuffix(tr(" paths"));
    m_pathsSpin->setToolTip(tr("The strongest paths from the needle to the answer drawn, ranked by the product of their "
                               "attention masses"));
    m_allBox->setToolTip(tr("Also draw every attention edge of the route above tau, faint, beneath the paths"));
    auto* compare = new QPushButton(tr("Compare with…"), this);
    compare->setToolTip(tr("Another trace of the same prompt (a failed retrieval, or the retrieving trace when this one "
                           "failed): the edges the failure lost are marked"));
    auto* stop = new QPushButton(tr("Stop Comparing"), this);
    // Two rows, so that a narrow dock keeps the slider usable.
    bar->addWidget(m_pathsSpin);
    bar->addWidget(m_allBox);
    bar->addStretch(1);
    bar->addWidget(compare);
    bar->addWidget(stop);
    layout->addLayout(bar);
    auto* tauRow = new QHBoxLayout;
    tauRow->addWidget(m_tauLabel);
    tauRow->addWidget(m_slider, 1);
    layout->addLayout(tauRow);
    m_status->setWordWrap(true);
    m_status->setText(tr("Open a trace with a needle (a NIAH trace) to see the route from the needle to the answer."));
    layout->addWidget(m_status);
    layout->addWidget(m_plot, 1);
    styleAnalysisPlot(m_plot);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->setMouseTracking(true);
    // The legend and the head key under the plot, in rows, never over the edges.
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    m_plot->plotLayout()->addElement(1, 0, m_plot->legend);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);
    m_plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    m_plot->legend->setWrap(3);
    m_plot->legend->setMargins(QMargins(6, 4, 6, 4));
    m_tauLabel->setText(tr("tau = %1").arg(m_tau, 0, 'f', 2));

    connect(m_slider, &QSlider::valueChanged, this, [this](int v) { setTau(static_cast<double>(v) / kSliderSteps); });
    connect(m_plot, &QCustomPlot::mousePress, this, &RouteView::onPlotPress);
    connect(m_plot, &QCustomPlot::mouseMove, this, &RouteView::onPlotMove);
    connect(m_pathsSpin, &QSpinBox::valueChanged, this, &RouteView::setPathCount);
    connect(m_allBox, &QCheckBox::toggled, this, &RouteView::setShowAllEdges);
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

void RouteView::setPathCount(int n)
{
    n = std::clamp(n, 1, kMaxPaths);
    {
        const QSignalBlocker block(m_pathsSpin);
        m_pathsSpin->setValue(n);
    }
    if (n == m_paths) return;
    m_paths = n;
    recompute();
}

void RouteView::setShowAllEdges(bool on)
{
    {
        const QSignalBlocker block(m_allBox);
        m_allBox->setChecked(on);
    }
    if (on == m_showAll) return;
    m_showAll = on;
    draw(); // the route holds every edge already
    emit routeReady();
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
    options.paths = m_paths;
    runInBackground<RouteResult>(
        this, &m_job, job,
        [trace = m_trace, compare = m_compare, options] {
            RouteResult r;
            const auto open = core::needleSummary(*trace);
            if (open) r.openRetrieved = open->retrieved;
            if (compare) {
                // The route worth drawing is the retrieving trace's, whichever of the two is open.
                const auto other = core::needleSummary(*compare);
                r.swapped = open && other && open->retrieved == false && other->retrieved == true;
                r.comparison = r.swapped ? core::compareRoutes(*compare, *trace, options) : core::compareRoutes(*trace, *compare, options);
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
            m_swapped = false;
            m_openRetrieved.reset();
            if (r) {
                m_route = std::move(r->route);
                m_comparison = std::move(r->comparison);
                m_swapped = r->swapped;
                m_openRetrieved = r->openRetrieved;
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
    const int heads = info.model.heads;
    // Without All edges: the lost edges on the drawn paths; with it: every lost edge.
    std::set<core::RouteEdge> critical;
    if (m_comparison) {
        const auto& lost = m_showAll ? m_comparison->critical : m_comparison->criticalOnPaths;
        critical.insert(lost.begin(), lost.end());
    }
    std::map<core::RouteEdge, int> onPath; // edge -> the strongest path holding it
    for (std::size_t i = 0; i < route.paths.size(); ++i)
        for (const auto& e : route.paths[i].edges) onPath.emplace(e, static_cast<int>(i));
    auto add = [&](const core::RouteEdge& e) {
        const auto p = onPath.find(e);
        m_edges.push_back({e, e.residual() ? EdgeKind::Residual : critical.count(e) ? EdgeKind::Critical : EdgeKind::Route,
                           p == onPath.end() ? -1 : p->second});
    };
    if (m_showAll)
        for (const auto& e : route.edges) add(e);
    else
        for (const auto& entry : onPath) add(entry.first);
    if (m_comparison && m_showAll)
        for (const auto& e : m_comparison->failureOnly) m_edges.push_back({e, EdgeKind::FailureOnly, -1});

    auto line = [&](const core::RouteEdge& e, const QPen& pen) {
        auto* item = new QCPItemLine(m_plot);
        item->start->setCoords(xOf(e.from), e.layer);
        item->end->setCoords(xOf(e.to), e.layer + 1);
        item->setPen(pen);
        item->setSelectable(false);
    };
    // Back to front: residual steps, edges only the failed trace has, route edges off the paths,
    // the lost edges' marks, then the paths, the strongest on top.
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::Residual) line(d.edge, QPen(d.path >= 0 ? QColor(0x80, 0x80, 0x80) : kResidual, d.path >= 0 ? 1.5 : 1.0, Qt::DotLine));
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::FailureOnly) line(d.edge, QPen(QColor(0x60, 0x60, 0x60, 160), 1.0, Qt::DashLine));
    for (const auto& d : m_edges)
        if ((d.kind == EdgeKind::Route || d.kind == EdgeKind::Critical) && d.path < 0) line(d.edge, edgePen(d.edge, heads, false));
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::Critical) line(d.edge, QPen(kCritical, 7.0 + 6.0 * static_cast<double>(d.edge.mass), Qt::SolidLine, Qt::RoundCap));
    std::vector<const DrawnEdge*> onPaths;
    for (const auto& d : m_edges)
        if ((d.kind == EdgeKind::Route || d.kind == EdgeKind::Critical) && d.path >= 0) onPaths.push_back(&d);
    std::stable_sort(onPaths.begin(), onPaths.end(), [](const DrawnEdge* a, const DrawnEdge* b) { return a->path > b->path; });
    for (const DrawnEdge* d : onPaths) line(d->edge, edgePen(d->edge, heads, true));

    // Legend beside the plot: a data-less graph per head drawn, and the comparison's marks.
    std::set<int> drawnHeads;
    for (const auto& d : m_edges)
        if (d.kind == EdgeKind::Route || d.kind == EdgeKind::Critical) drawnHeads.insert(d.edge.head);
    for (int h : drawnHeads) {
        auto* g = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
        g->setPen(QPen(categoricalColor(h, heads), 4.0));
        g->setName(tr("head %1").arg(h));
    }
    if (!drawnHeads.empty()) {
        auto* r = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
        r->setPen(QPen(QColor(0x80, 0x80, 0x80), 1.5, Qt::DotLine));
        r->setName(tr("residual"));
    }
    if (m_comparison) {
        auto* c = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
        c->setPen(QPen(kCritical, 6.0));
        c->setName(tr("lost in %1").arg(m_compareName.isEmpty() ? tr("the failed trace")
                                         : m_swapped ? tr("this trace") : m_compareName));
        if (m_showAll) {
            auto* f = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
            f->setPen(QPen(QColor(0x60, 0x60, 0x60), 1.5, Qt::DashLine));
            f->setName(tr("only on the failed route"));
        }
    }
    auto* ends = new QCPGraph(m_plot->xAxis, m_plot->yAxis);
    ends->setLineStyle(QCPGraph::lsNone);
    ends->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(Qt::black), QBrush(QColor(0xff, 0xd7, 0x00)), 10));
    ends->setName(tr("needle, answer"));
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
    // The drawn span (the wheel zooms out to the whole trace).
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
    m_plot->legend->setVisible(true);
    m_plot->replot();

    std::size_t attention = 0;
    for (const auto& e : route.edges) attention += e.residual() ? 0 : 1;
    const QString tau = QString::number(m_tau, 'f', 2);
    QString s;
    if (!route.paths.empty()) {
        QStringList rows;
        for (std::int64_t r : route.sourceRows) rows << QString::number(r);
        const QString strongest = QString::number(route.paths.front().product, 'g', 3);
        s = route.paths.size() == 1
                ? tr("The strongest path from the needle (rows %1) to the answer row %2 at tau = %3 carries %4 (product of its "
                     "attention masses)")
                      .arg(rows.join(QStringLiteral(", ")))
                      .arg(route.targetRow)
                      .arg(tau, strongest)
                : tr("%1 strongest paths from the needle (rows %2) to the answer row %3 at tau = %4; the strongest carries %5 "
                     "(product of its attention masses)")
                      .arg(route.paths.size())
                      .arg(rows.join(QStringLiteral(", ")))
                      .arg(route.targetRow)
                      .arg(tau, strongest);
        if (!m_showAll) s += tr(" · %1 attention edges above tau in all (All edges draws them)").arg(attention);
    } else {
        s = tr("No path above tau = %1 from the needle to the answer row %2.").arg(tau).arg(route.targetRow);
    }
    if (m_comparison) {
        const QString failedName = m_swapped ? tr("this trace") : m_compareName;
        s += m_swapped ? tr(" · the route drawn is %1's, which retrieves the needle").arg(m_compareName) : QString();
        s += tr(" · %1 lost %2 of its edges, %3 of them on the paths drawn")
                 .arg(failedName)
                 .arg(m_comparison->critical.size())
                 .arg(m_comparison->criticalOnPaths.size());
    } else if (m_openRetrieved == false) {
        s += tr(" The sparse run lost the needle: Compare with… the trace of the same prompt that retrieves it shows which "
                "edges were lost.");
    } else if (route.paths.empty()) {
        s += tr(" Lower tau.");
    }
    if (!route.paths.empty()) s += tr(" · hover an edge for its spans, click it to show its map");
    m_status->setText(s);
}

QString RouteView::edgeDescription(std::size_t i) const
{
    if (i >= m_edges.size() || !m_trace) return {};
    const DrawnEdge& d = m_edges[i];
    const core::RouteEdge& e = d.edge;
    const core::TraceInfo& info = m_trace->info();
    const auto q = info.rowQueries(e.to);
    if (e.residual())
        return tr("layer %1: residual stream of row %2 (tokens %3–%4) carried on").arg(e.layer).arg(e.to).arg(q[0]).arg(q[1]);
    const std::int64_t total = info.promptTokens + info.generatedTokens;
    const std::int64_t k0 = static_cast<std::int64_t>(e.keyBlock) * info.params.bk;
    const std::int64_t k1 = std::min<std::int64_t>(k0 + info.params.bk, total) - 1;
    QString t = tr("layer %1, head %2: query tokens %3–%4 (row %5) ← key tokens %6–%7 (block %8), mass %9")
                    .arg(e.layer)
                    .arg(e.head)
                    .arg(q[0])
                    .arg(q[1])
                    .arg(e.to)
                    .arg(k0)
                    .arg(k1)
                    .arg(e.keyBlock)
                    .arg(static_cast<double>(e.mass), 0, 'f', 3);
    if (d.path >= 0 && m_route)
        t += tr(" · path %1 of %2 (product %3)").arg(d.path + 1).arg(m_route->paths.size()).arg(m_route->paths[static_cast<std::size_t>(d.path)].product, 0, 'g', 3);
    if (d.kind == EdgeKind::Critical) t += tr(" · lost in %1").arg(m_swapped ? tr("this trace") : m_compareName);
    if (d.kind == EdgeKind::FailureOnly) t += tr(" · only on the failed route");
    return t;
}

void RouteView::onPlotMove(QMouseEvent* event)
{
    const int i = edgeAt(event->position());
    const QString text = i < 0 ? QString() : edgeDescription(static_cast<std::size_t>(i));
    if (text == m_hover) return;
    m_hover = text;
    if (text.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(event->globalPosition().toPoint(), text, m_plot);
    emit edgeHovered(text);
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
        // What is drawn on top wins ties: path edges, then other route edges, then the failed
        // trace's edges beneath them.
        auto rank = [&](const DrawnEdge& e) { return e.path >= 0 ? 0 : e.kind == EdgeKind::FailureOnly ? 2 : 1; };
        if (dist < bestDistance || (dist == bestDistance && best >= 0 && rank(d) < rank(m_edges[static_cast<std::size_t>(best)]))) {
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
    emit statusMessage(edgeDescription(static_cast<std::size_t>(i)));
    emit edgeClicked(e.layer, e.head);
}

QString RouteView::caption() const
{
    if (!m_route || !m_trace) return {};
    const core::TraceInfo& info = m_trace->info();
    QString c = tr("%1 · %2 · needle-to-output route at tau = %3, %4: rows %5 → row %6, edge colour = head, width and "
                   "opacity = mass")
                    .arg(traceModelName(info), traceShapeText(info))
                    .arg(m_tau, 0, 'f', 2)
                    .arg((m_showAll ? tr("all edges above tau with the %1 strongest paths") : tr("the %1 strongest paths"))
                             .arg(m_route->paths.size()))
                    .arg([&] {
                        QStringList rows;
                        for (std::int64_t r : m_route->sourceRows) rows << QString::number(r);
                        return rows.join(QStringLiteral(", "));
                    }())
                    .arg(m_route->targetRow);
    if (m_comparison)
        c += m_swapped ? tr(" · route of %1 (retrieves); red: %2 edges this trace lost").arg(m_compareName).arg((m_showAll ? m_comparison->critical : m_comparison->criticalOnPaths).size())
                       : tr(" · compared with %1: red, %2 edges it lost").arg(m_compareName).arg((m_showAll ? m_comparison->critical : m_comparison->criticalOnPaths).size());
    return c;
}

void RouteView::exportView(const ExportRequest& request) const
{
    if (!m_route) throw ArgumentError("nothing to export: the route view has no route");
    exportPlots(request, caption(), QStringLiteral("SparseTrace needle-to-output route"), {m_plot});
}

} // namespace sparsetrace::widgets
