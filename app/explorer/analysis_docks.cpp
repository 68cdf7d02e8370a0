// The main window's analysis docks (thought anchors, needle sweep, routes): wiring to the open
// trace, the layer/head selection and the map, the view each kind of trace opens on (remembered
// per kind once the user changes it), and File > Export View acting on the active one.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "main_window.h"

#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"
#include "sparsetrace/widgets/needle_sweep_view.h"
#include "sparsetrace/widgets/route_view.h"
#include "sparsetrace/widgets/thought_anchors_view.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>

namespace sparsetrace::explorer {

using namespace sparsetrace::widgets;

void MainWindow::setupAnalysisViews()
{
    m_anchors = new ThoughtAnchorsView(this);
    m_sweep = new NeedleSweepView(this);
    m_routes = new RouteView(this);
    QDockWidget* first = nullptr;
    for (AnalysisView* view : std::initializer_list<AnalysisView*>{m_anchors, m_sweep, m_routes}) {
        auto* dock = new QDockWidget(view->title(), this);
        dock->setObjectName(view->metaObject()->className() + QStringLiteral("Dock"));
        dock->setWidget(view);
        addDockWidget(Qt::RightDockWidgetArea, dock);
        if (first) tabifyDockWidget(first, dock);
        else first = dock;
        // The view last shown or focused is the one File > Export View writes.
        connect(dock, &QDockWidget::visibilityChanged, this, [this, view](bool visible) {
            if (visible) m_activeView = view;
            if (visible && !m_applyingView) rememberViewChoice();
        });
        // Closed (its close button or the Analyses menu): perhaps the map alone now.
        connect(dock->toggleViewAction(), &QAction::toggled, this, [this](bool) {
            if (!m_applyingView) QTimer::singleShot(0, this, &MainWindow::rememberViewChoice);
        });
        connect(view, &AnalysisView::failed, this, &MainWindow::showError);
        // Notes of a view behind another tab, or closed, would puzzle: only the front view's show.
        // (A dock behind a tab still reports isVisible(); the front one is m_activeView.)
        connect(view, &AnalysisView::statusMessage, this, [this, view](const QString& m) {
            if (view == m_activeView && view->isVisible()) statusBar()->showMessage(m, 8000);
        });
    }
    first->raise();
    m_activeView = m_anchors;
    // Docks closed by the user come back from this menu, placed before Help.
    auto* menu = new QMenu(tr("&Analyses"), this);
    for (auto* dock : findChildren<QDockWidget*>())
        if (qobject_cast<AnalysisView*>(dock->widget())) menu->addAction(dock->toggleViewAction());
    menu->addSeparator();
    menu->addAction(tr("Open Needle &Sweep…"), this, &MainWindow::openSweepDialog);
    const auto bar = menuBar()->actions();
    menuBar()->insertMenu(bar.isEmpty() ? nullptr : bar.last(), menu);
    m_focusConnection = connect(qApp, &QApplication::focusChanged, this, [this](QWidget*, QWidget* now) {
        for (AnalysisView* view : std::initializer_list<AnalysisView*>{m_anchors, m_sweep, m_routes})
            if (now && view->isAncestorOf(now)) m_activeView = view;
    });

    connect(this, &MainWindow::traceLoaded, this, [this] {
        m_anchorHeads.clear();
        m_map->highlightKeyColumns(0, -1);
        m_anchors->setTrace(m_trace);
        m_routes->setTrace(m_trace);
    });
    // An anchor marks its key columns on the receiver heads' maps (and on no other head's).
    connect(m_anchors, &ThoughtAnchorsView::anchorActivated, this, [this](qint64 first, qint64 last, const QList<QPoint>& heads) {
        m_anchorHeads = heads;
        m_anchorTokens = {first, last};
        if (heads.isEmpty()) return;
        if (!heads.contains(QPoint(m_selection->layer(), m_selection->head()))) m_selection->select(heads.first().x(), heads.first().y());
        else applyAnchorHighlight(m_selection->layer(), m_selection->head());
        statusBar()->showMessage(tr("Anchor tokens %1–%2 marked on the %3 receiver heads' maps").arg(first).arg(last).arg(heads.size()), 8000);
    });
    connect(this, &MainWindow::snapshotShown, this, &MainWindow::applyAnchorHighlight);
    connect(m_routes, &RouteView::edgeClicked, m_selection, &LayerHeadSelection::select);
    connect(m_sweep, &NeedleSweepView::openTraceRequested, this, &MainWindow::openFile);
}

void MainWindow::applyAnchorHighlight(int layer, int head)
{
    if (m_anchorHeads.contains(QPoint(layer, head))) m_map->highlightKeyColumns(m_anchorTokens.first, m_anchorTokens.second);
    else m_map->highlightKeyColumns(0, -1);
}

namespace {
constexpr const char* kViewSetting = "view/forKind/"; // + "needle" | "cot" | "plain"
} // namespace

QString MainWindow::viewForKind(const QString& kind)
{
    const QString fallback = kind == QLatin1String("needle") ? QStringLiteral("routes")
                             : kind == QLatin1String("cot")  ? QStringLiteral("anchors")
                                                             : QStringLiteral("map");
    const QString v = QSettings().value(QLatin1String(kViewSetting) + kind, fallback).toString();
    const QStringList known = {QStringLiteral("routes"), QStringLiteral("anchors"), QStringLiteral("sweep"), QStringLiteral("map")};
    return known.contains(v) ? v : fallback;
}

QString MainWindow::shownViewName(const AnalysisView* v) const
{
    return v == m_anchors ? QStringLiteral("anchors") : v == m_sweep ? QStringLiteral("sweep") : QStringLiteral("routes");
}

QString MainWindow::shownView() const
{
    auto nameOf = [this](const AnalysisView* v) { return shownViewName(v); };
    QString firstOpen;
    for (auto* dock : findChildren<QDockWidget*>()) {
        auto* view = qobject_cast<AnalysisView*>(dock->widget());
        if (!view || dock->isHidden()) continue; // closed (a dock behind a tab is not hidden)
        if (view == m_activeView) return nameOf(view);
        if (firstOpen.isEmpty()) firstOpen = nameOf(view);
    }
    return firstOpen.isEmpty() ? QStringLiteral("map") : firstOpen;
}

void MainWindow::applyViewForTrace()
{
    if (!m_trace) return;
    const QString view = viewForKind(m_traceKind);
    m_applyingView = true;
    // Only the chosen view's dock (none for the map alone); a sweep being browsed stays open.
    for (auto* dock : findChildren<QDockWidget*>()) {
        auto* v = qobject_cast<AnalysisView*>(dock->widget());
        if (!v || (v == m_sweep && m_sweep->hasContent())) continue;
        if (shownViewName(v) != view) dock->hide();
    }
    if (view != QLatin1String("map")) showAnalysisView(view);
    // Dock visibility signals of this change may arrive through the event loop.
    QTimer::singleShot(0, this, [this] { m_applyingView = false; });
}

void MainWindow::rememberViewChoice()
{
    if (m_applyingView || !m_trace || m_traceKind.isEmpty() || !isVisible()) return;
    QSettings().setValue(QLatin1String(kViewSetting) + m_traceKind, shownView());
}

void MainWindow::hideAnalysisViews()
{
    for (auto* dock : findChildren<QDockWidget*>())
        if (qobject_cast<AnalysisView*>(dock->widget())) dock->hide();
}

bool MainWindow::showAnalysisView(const QString& name)
{
    AnalysisView* view = name == QLatin1String("anchors") ? static_cast<AnalysisView*>(m_anchors)
                         : name == QLatin1String("sweep") ? static_cast<AnalysisView*>(m_sweep)
                         : name == QLatin1String("routes") ? static_cast<AnalysisView*>(m_routes)
                                                           : nullptr;
    if (!view) return false;
    for (auto* dock : findChildren<QDockWidget*>())
        if (dock->widget() == view) {
            dock->show();
            dock->raise();
        }
    m_activeView = view;
    return true;
}

void MainWindow::openSweepDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open a needle sweep's table"), QFileInfo(m_path).absolutePath(),
                                                      tr("Sweep tables (niah.json *.json);;All files (*)"));
    if (path.isEmpty()) return;
    showAnalysisView(QStringLiteral("sweep"));
    m_sweep->openSweep(path);
}

void MainWindow::exportView(const QString& path, QSize size, double dpi)
{
    if (!m_activeView || !m_activeView->hasContent()) {
        showError(tr("Nothing to export"), tr("The active analysis view shows nothing yet."));
        return;
    }
    try {
        m_activeView->exportView({path, size, dpi});
        statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
    } catch (const std::exception& e) {
        showError(tr("Cannot export the view"), QString::fromStdString(e.what()));
    }
}

void MainWindow::showExportViewDialog()
{
    if (!m_activeView || !m_activeView->hasContent()) {
        showError(tr("Nothing to export"), tr("Show an analysis view (thought anchors, needle sweep or routes) with content first."));
        return;
    }
    // The same size and resolution choices as File > Export Figure, remembered across both.
    const QString name = m_activeView->title().toLower().replace(' ', '-') + QStringLiteral(".png");
    const QString dir = QFileInfo(QSettings().value("exportView/path", QSettings().value("export/path", QDir::home().filePath(name))).toString()).dir().path();
    const auto choice = askExport(tr("Export %1").arg(m_activeView->title()), QDir(dir).filePath(name));
    if (!choice) return;
    QSettings().setValue("exportView/path", choice->path);
    exportView(choice->path, choice->size, choice->dpi);
}

} // namespace sparsetrace::explorer
