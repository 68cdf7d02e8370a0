// The analysis docks in the explorer window: an opened trace reaches the anchors and route
// views, an anchor marks its key columns on the receiver heads' maps only, a route edge selects
// its layer and head, a sweep cell opens its trace, File > Export View writes the active view.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "../core/cot_synthetic.h"
#include "../core/route_synthetic.h"
#include "main_window.h"

#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"
#include "sparsetrace/widgets/needle_sweep_view.h"
#include "sparsetrace/widgets/route_view.h"
#include "sparsetrace/widgets/thought_anchors_view.h"

#include <QApplication>
#include <QDockWidget>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace sparsetrace;
using namespace sparsetrace::widgets;

namespace {
constexpr int kSentences = 20, kAnchor = 3;

QString writeAnchorTrace(const QTemporaryDir& dir)
{
    auto spec = test::cotSpec(kSentences, 3, 3);
    test::plantAnchor(spec, 1, 0, kAnchor, kSentences, 0.8f);
    test::plantAnchor(spec, 2, 1, kAnchor, kSentences, 0.8f);
    const QString path = dir.filePath("anchors.sptrace");
    core::writeTraceFile(*core::makeSyntheticTrace(spec), path.toStdString());
    return path;
}

QString writeRouteTrace(const QTemporaryDir& dir)
{
    auto spec = test::routeSpec();
    spec.planted = {{0, 0, 5, 2, 0.9f}, {1, 1, 9, 5, 0.9f}, {2, 0, 15, 9, 0.9f}};
    const QString path = dir.filePath("route.sptrace");
    core::writeTraceFile(*test::makeRouteTrace(spec, 16, 24), path.toStdString());
    return path;
}
} // namespace

class TstExplorerViews : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("SparseTraceTest");
        QApplication::setApplicationName("tst_explorer_views");
    }

    void anchorMarksReceiverHeadsOnly()
    {
        QTemporaryDir dir;
        explorer::MainWindow w;
        w.show();
        QSignalSpy ready(w.anchorsView(), &ThoughtAnchorsView::analysisReady);
        QSignalSpy shown(&w, &explorer::MainWindow::snapshotShown);
        w.openFile(writeAnchorTrace(dir));
        QVERIFY(ready.wait(10000));
        QVERIFY(w.anchorsView()->analysis());
        QTRY_VERIFY_WITH_TIMEOUT(w.map()->snapshot() != nullptr, 10000);
        // Layer 0 head 0 is never a receiver head; choosing the anchor moves to one.
        w.selection()->select(0, 0);
        QTRY_VERIFY_WITH_TIMEOUT(w.map()->snapshot()->layer == 0 && w.map()->snapshot()->head == 0, 10000);
        w.anchorsView()->activateSentence(kAnchor);
        QTRY_VERIFY_WITH_TIMEOUT(w.map()->snapshot()->layer > 0, 10000);
        const qint64 first = (kAnchor + 1) * test::kCotBlock, last = (kAnchor + 2) * test::kCotBlock - 1;
        QCOMPARE(w.map()->keyColumnHighlight(), (std::pair<std::int64_t, std::int64_t>(first, last)));
        w.selection()->select(0, 1);
        QTRY_VERIFY_WITH_TIMEOUT(w.map()->snapshot()->layer == 0, 10000);
        QVERIFY(w.map()->keyColumnHighlight().second < w.map()->keyColumnHighlight().first);
        w.selection()->select(1, 0); // a receiver head again: marked again
        QTRY_VERIFY_WITH_TIMEOUT(w.map()->snapshot()->layer == 1, 10000);
        QCOMPARE(w.map()->keyColumnHighlight(), (std::pair<std::int64_t, std::int64_t>(first, last)));
    }

    void routeEdgeSelectsLayerAndHead()
    {
        QTemporaryDir dir;
        explorer::MainWindow w;
        w.show();
        w.routeView()->setTau(0.6);
        QSignalSpy ready(w.routeView(), &RouteView::routeReady);
        w.openFile(writeRouteTrace(dir));
        QVERIFY(ready.wait(10000));
        QVERIFY(w.routeView()->route() && w.routeView()->route()->connected());
        emit w.routeView()->edgeClicked(1, 1);
        QCOMPARE(w.selection()->layer(), 1);
        QCOMPARE(w.selection()->head(), 1);

        // The route view is the active one once shown; Export View writes it.
        for (auto* dock : w.findChildren<QDockWidget*>())
            if (dock->widget() == w.routeView()) dock->raise();
        QTRY_COMPARE(w.activeView(), static_cast<AnalysisView*>(w.routeView()));
        const QString svg = dir.filePath("route.svg");
        w.exportView(svg, QSize(800, 600), 100);
        QFile f(svg);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(f.readAll().contains("needle-to-output route"));
    }

    void sweepCellOpensItsTrace()
    {
        QTemporaryDir dir;
        const QString trace = writeRouteTrace(dir);
        explorer::MainWindow w;
        QSignalSpy loaded(&w, &explorer::MainWindow::traceLoaded);
        emit w.sweepView()->openTraceRequested(trace);
        QVERIFY(loaded.wait(10000));
        QCOMPARE(loaded.first().at(0).toString(), trace);
    }
};

QTEST_MAIN(TstExplorerViews)
#include "tst_explorer_views.moc"
