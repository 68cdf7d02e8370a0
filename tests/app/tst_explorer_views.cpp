// The analysis docks in the explorer window: an opened trace reaches the anchors and route
// views, an anchor marks its key columns on the receiver heads' maps only, a route edge selects
// its layer and head, a sweep cell opens its trace, File > Export View writes the active view.
// The bundled demo traces: each opens on the view of its kind (the user's change remembered per
// kind), the needle is highlighted on exactly its tokens, summarised above the map, marked on
// the key axis; the default route is at most N paths from a needle row to the answer row, and
// the retrieval/failure pair marks the edges the failure lost.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "../core/cot_synthetic.h"
#include "../core/route_synthetic.h"
#include "main_window.h"
#include "shared_assets.h"

#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/core/niah.h"
#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/head_overview_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"
#include "sparsetrace/widgets/needle_sweep_view.h"
#include "sparsetrace/widgets/route_view.h"
#include "sparsetrace/widgets/thought_anchors_view.h"
#include "sparsetrace/widgets/trace_text_view.h"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSpinBox>
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

QString demo(const char* name) { return QStringLiteral(SPARSETRACE_SOURCE_DIR "/resources/demo/") + QLatin1String(name); }
QString fixture(const char* name) { return QString::fromStdString((test::fixturesDir() / "traces" / name).string()); }

void clearViewChoices()
{
    QSettings s;
    s.remove("view/forKind");
}

// Opens `path` in `w` and waits until the trace is shown and its views are applied.
bool openAndWait(explorer::MainWindow& w, const QString& path)
{
    QSignalSpy loaded(&w, &explorer::MainWindow::traceLoaded);
    w.openFile(path);
    if (!loaded.wait(20000)) return false;
    QTest::qWait(0); // the deferred end of the view change
    QCoreApplication::processEvents();
    return true;
}

QDockWidget* dockOf(explorer::MainWindow& w, QWidget* view)
{
    for (auto* dock : w.findChildren<QDockWidget*>())
        if (dock->widget() == view) return dock;
    return nullptr;
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

    void eachDemoTraceOpensOnItsView()
    {
        clearViewChoices();
        explorer::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndWait(w, demo("needle-retrieved.sptrace")));
        QCOMPARE(w.traceKind(), QStringLiteral("needle"));
        QCOMPARE(w.shownView(), QStringLiteral("routes"));
        QVERIFY(!dockOf(w, w.routeView())->isHidden());

        QVERIFY(openAndWait(w, demo("needle-failed.sptrace")));
        QCOMPARE(w.shownView(), QStringLiteral("routes"));
        QTRY_VERIFY_WITH_TIMEOUT(!w.routeView()->busy() && w.routeView()->route(), 20000);
        QVERIFY2(w.routeView()->statusText().contains(QStringLiteral("Compare with")), qPrintable(w.routeView()->statusText()));

        QVERIFY(openAndWait(w, fixture("chain-of-thought.sptrace")));
        QCOMPARE(w.traceKind(), QStringLiteral("cot"));
        QCOMPARE(w.shownView(), QStringLiteral("anchors"));
        QTRY_VERIFY_WITH_TIMEOUT(w.anchorsView()->analysis(), 20000);

        for (const char* plain : {"war-and-peace.sptrace", "stories260K-story.sptrace", "sample-synthetic.sptrace"}) {
            QVERIFY(openAndWait(w, demo(plain)));
            QCOMPARE(w.traceKind(), QStringLiteral("plain"));
            QCOMPARE(w.shownView(), QStringLiteral("map"));
            for (QWidget* v : {static_cast<QWidget*>(w.routeView()), static_cast<QWidget*>(w.anchorsView()), static_cast<QWidget*>(w.sweepView())})
                QVERIFY(dockOf(w, v)->isHidden());
            QVERIFY(w.needleLine().isEmpty());
        }

        // The user asks for the routes on a plain trace (Analyses menu): plain traces open there
        // from now on, needle and chain-of-thought traces keep theirs.
        dockOf(w, w.routeView())->toggleViewAction()->trigger();
        QTRY_COMPARE(QSettings().value("view/forKind/plain").toString(), QStringLiteral("routes"));
        QVERIFY(openAndWait(w, demo("war-and-peace.sptrace")));
        QCOMPARE(w.shownView(), QStringLiteral("routes"));
        QVERIFY(openAndWait(w, fixture("chain-of-thought.sptrace")));
        QCOMPARE(w.shownView(), QStringLiteral("anchors"));
        // Closing the dock on a chain of thought: the map alone for that kind.
        dockOf(w, w.anchorsView())->close();
        QTRY_COMPARE(QSettings().value("view/forKind/cot").toString(), QStringLiteral("map"));
        QVERIFY(openAndWait(w, fixture("chain-of-thought.sptrace")));
        QCOMPARE(w.shownView(), QStringLiteral("map"));
        QVERIFY(openAndWait(w, demo("needle-retrieved.sptrace")));
        QCOMPARE(w.shownView(), QStringLiteral("routes"));
        clearViewChoices();
    }

    void needleIsInPlainSight()
    {
        clearViewChoices();
        explorer::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndWait(w, demo("needle-retrieved.sptrace")));
        const auto& needle = w.trace()->info().annotations["needle"];
        const qint64 first = needle["token_start"].get<qint64>(), last = needle["token_end"].get<qint64>() - 1;
        // Text: exactly the annotation's tokens wear the needle colour, named in the legend.
        QCOMPARE(w.textView()->needleSpan(), (std::pair<std::int64_t, std::int64_t>(first, last)));
        int needleSelections = 0;
        for (const auto& sel : w.textView()->editor()->extraSelections())
            if (sel.format.background().color() == widgets::TraceTextView::needleColour()) {
                ++needleSelections;
                QCOMPARE(sel.cursor.selectionStart(), w.textView()->charRange(first).first);
                QCOMPARE(sel.cursor.selectionEnd(), w.textView()->charRange(last).second);
            }
        QCOMPARE(needleSelections, 1);
        QVERIFY(w.textView()->legendText().contains(QStringLiteral("needle")));
        const QString needleText = w.textView()->editor()->toPlainText().mid(w.textView()->charRange(first).first,
                                                                           w.textView()->charRange(last).second - w.textView()->charRange(first).first);
        QVERIFY2(needleText.contains(QString::fromStdString(needle["value"].get<std::string>())), qPrintable(needleText));
        // Map: the needle's key columns on the key axis; overview: its span beside the parameters.
        QCOMPARE(w.map()->needleTokens(), (std::pair<std::int64_t, std::int64_t>(first, last)));
        QTRY_VERIFY_WITH_TIMEOUT(w.map()->snapshot() != nullptr, 10000);
        w.map()->replot();
        QVERIFY(!w.map()->needleMarkRect().isEmpty());
        QVERIFY(w.map()->mapRect().contains(w.map()->needleMarkRect().center().toPoint()));
        QVERIFY2(w.overview()->infoText().contains(QStringLiteral("needle: tokens %1–%2").arg(first).arg(last)), qPrintable(w.overview()->infoText()));
        QVERIFY2(w.overview()->infoText().contains(QStringLiteral("score bound")), qPrintable(w.overview()->infoText()));
        // The summary above the map.
        QTRY_VERIFY_WITH_TIMEOUT(!w.needleLine().isEmpty(), 10000);
        QVERIFY2(w.needleLine().contains(QStringLiteral("retrieved densely and sparsely at sparsity 0.")), qPrintable(w.needleLine()));
        QVERIFY2(w.needleLine().contains(QStringLiteral("K = 8")), qPrintable(w.needleLine())); // the demo's K
        QVERIFY(openAndWait(w, demo("needle-failed.sptrace")));
        QTRY_VERIFY_WITH_TIMEOUT(w.needleLine().contains(QStringLiteral("retrieved densely, lost sparsely")), 10000);
        // A trace without a needle: no line, no marks.
        QVERIFY(openAndWait(w, demo("war-and-peace.sptrace")));
        QVERIFY(w.needleLine().isEmpty());
        QVERIFY(w.map()->needleTokens().second < w.map()->needleTokens().first);
        QVERIFY(w.textView()->needleSpan().second < w.textView()->needleSpan().first);
        QVERIFY(!w.textView()->legendText().contains(QStringLiteral("needle")));
    }

    void demoRouteIsReadableAndComparable()
    {
        clearViewChoices();
        explorer::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy ready(w.routeView(), &RouteView::routeReady);
        QVERIFY(openAndWait(w, demo("needle-retrieved.sptrace")));
        QTRY_VERIFY_WITH_TIMEOUT(!w.routeView()->busy() && w.routeView()->route(), 20000);
        RouteView* v = w.routeView();
        const auto& route = *v->route();
        const auto needleRows = core::needleRows(w.trace()->info());
        QVERIFY(!route.paths.empty());
        QVERIFY(static_cast<int>(route.paths.size()) <= v->pathCount());
        QCOMPARE(v->pathCount(), 5);
        for (const auto& p : route.paths) {
            const auto rows = p.rows();
            QVERIFY(std::find(needleRows.begin(), needleRows.end(), rows.front()) != needleRows.end());
            QCOMPARE(rows.back(), w.trace()->info().queryBlocks() - 1); // the answer row
        }
        // Only the paths' edges are drawn by default: far fewer than the route's edges above tau.
        std::size_t attentionDrawn = 0, attentionOnRoute = 0;
        for (const auto& d : v->drawnEdges()) attentionDrawn += d.edge.residual() ? 0 : 1;
        for (const auto& e : route.edges) attentionOnRoute += e.residual() ? 0 : 1;
        QVERIFY(attentionDrawn <= route.paths.size() * static_cast<std::size_t>(w.trace()->layers()));
        QVERIFY(attentionDrawn < attentionOnRoute);
        for (const auto& d : v->drawnEdges()) QVERIFY(d.path >= 0);
        // The legend sits beside the plot, not over it.
        QVERIFY(v->plot()->legend->visible());
        QVERIFY(!v->plot()->axisRect()->outerRect().intersects(v->plot()->legend->outerRect()));
        // Hover names the edge's layer, head, spans and mass.
        v->plot()->replot();
        std::size_t first = 0;
        while (first < v->drawnEdges().size() && v->drawnEdges()[first].edge.residual()) ++first;
        QVERIFY(first < v->drawnEdges().size());
        QSignalSpy hovered(v, &RouteView::edgeHovered);
        QTest::mouseMove(v->plot(), v->edgeMidpoint(first).toPoint());
        QTRY_VERIFY(!v->hoverText().isEmpty());
        QVERIFY2(v->hoverText().contains(QStringLiteral("layer")) && v->hoverText().contains(QStringLiteral("head")) &&
                     v->hoverText().contains(QStringLiteral("query tokens")) && v->hoverText().contains(QStringLiteral("key tokens")) &&
                     v->hoverText().contains(QStringLiteral("mass")),
                 qPrintable(v->hoverText()));
        // N adjustable.
        v->pathsSpin()->setValue(2);
        QTRY_VERIFY_WITH_TIMEOUT(!v->busy() && v->route() && v->route()->paths.size() <= 2, 20000);
        v->pathsSpin()->setValue(5);
        QTRY_VERIFY_WITH_TIMEOUT(!v->busy() && v->route() && v->route()->paths.size() == route.paths.size(), 20000);

        // Compared with the failed trace: the lost edges of the retrieving route are marked.
        ready.clear();
        v->compareWith(demo("needle-failed.sptrace"));
        QTRY_VERIFY_WITH_TIMEOUT(v->comparison() && !v->busy(), 20000);
        QVERIFY(!v->comparison()->critical.empty());
        int lost = 0;
        for (const auto& d : v->drawnEdges()) lost += d.kind == RouteView::EdgeKind::Critical ? 1 : 0;
        QVERIFY2(lost >= 1, qPrintable(v->statusText()));
        QVERIFY(v->caption().contains(QStringLiteral("needle-failed.sptrace")));

        // The other way round: the failed trace open, the retrieving one compared.
        QVERIFY(openAndWait(w, demo("needle-failed.sptrace")));
        QTRY_VERIFY_WITH_TIMEOUT(!v->busy() && v->route(), 20000);
        v->compareWith(demo("needle-retrieved.sptrace"));
        QTRY_VERIFY_WITH_TIMEOUT(v->comparison() && !v->busy(), 20000);
        QVERIFY(v->comparedIsTheSuccess());
        lost = 0;
        for (const auto& d : v->drawnEdges()) lost += d.kind == RouteView::EdgeKind::Critical ? 1 : 0;
        QVERIFY(lost >= 1);
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
