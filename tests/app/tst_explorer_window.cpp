// The explorer window: loading in a worker, a broken file shows one clear message and leaves
// the previous trace open, keys on the map scrub heads, recent files are remembered, a dropped
// file opens, hidden analysis views stay quiet, and Export View asks for size and resolution.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "main_window.h"

#include "shared_assets.h"

#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"
#include "sparsetrace/widgets/route_view.h"
#include "sparsetrace/widgets/trace_text_view.h"

#include <QAction>
#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QLineEdit>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QtTest>

using namespace sparsetrace;
using widgets::BlockHit;

namespace {
QString fixture(const char* name) { return QString::fromStdString((test::fixturesDir() / "traces" / name).string()); }
} // namespace

class TestExplorerWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("SparseTraceTest");
        QApplication::setApplicationName("tst_explorer_window");
    }

    void brokenFileKeepsPreviousTrace_data()
    {
        QTest::addColumn<QString>("broken");
        QTest::newRow("truncated") << "truncated.sptrace";
        QTest::newRow("bad header") << "bad-header.sptrace";
        QTest::newRow("wrong dtype") << "wrong-dtype.sptrace";
        QTest::newRow("foreign safetensors") << "foreign.safetensors";
        QTest::newRow("missing") << "does-not-exist.sptrace";
    }
    void brokenFileKeepsPreviousTrace()
    {
        QFETCH(QString, broken);
        explorer::MainWindow w;
        w.show();
        QSignalSpy loaded(&w, &explorer::MainWindow::traceLoaded);
        QSignalSpy shown(&w, &explorer::MainWindow::snapshotShown);
        w.openFile(fixture("sample-small.sptrace"));
        QVERIFY(loaded.wait(10000));
        QVERIFY(shown.count() > 0 || shown.wait(10000));
        const auto before = w.trace();
        QVERIFY(before);
        QVERIFY(w.map()->snapshot());

        QSignalSpy failed(&w, &explorer::MainWindow::loadFailed);
        QElapsedTimer timer;
        timer.start();
        w.openFile(fixture(broken.toUtf8().constData()));
        QTRY_VERIFY_WITH_TIMEOUT(failed.count() > 0, 30000);
        qInfo("failed after %lld ms", timer.elapsed());
        QCOMPARE(w.trace(), before);                     // the previous trace stays open
        QVERIFY(w.tracePath().endsWith("sample-small.sptrace"));
        QVERIFY(w.map()->snapshot());
        QVERIFY(w.errorBox());
        QTRY_VERIFY(w.errorBox()->isVisible());
        const QString message = w.errorBox()->text();
        QVERIFY2(message.contains(broken), qPrintable(message)); // names the file
        QVERIFY2(!message.contains('\n'), qPrintable(message));  // one line
        QCOMPARE(failed.count(), 1);
    }

    void keysOnTheMapScrubHeads()
    {
        explorer::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy loaded(&w, &explorer::MainWindow::traceLoaded);
        QSignalSpy shown(&w, &explorer::MainWindow::snapshotShown);
        w.openFile(fixture("sample-small.sptrace"));
        QVERIFY(loaded.wait(10000));
        QTRY_VERIFY(shown.count() > 0);
        const int heads = w.trace()->heads();
        QVERIFY(heads >= 2);
        w.map()->setFocus();
        shown.clear();
        QTest::keyClick(w.map(), Qt::Key_Right);
        QTRY_VERIFY(shown.count() > 0);
        QCOMPARE(shown.last().at(1).toInt(), 1);
        QCOMPARE(w.map()->snapshot()->head, 1);
        QTest::keyClick(w.map(), Qt::Key_End);
        QTRY_COMPARE(w.map()->snapshot()->head, heads - 1);
        QVERIFY(w.recentFiles().first().endsWith("sample-small.sptrace"));
    }

    void mapAndTextAreLinkedBothWays()
    {
        explorer::MainWindow w;
        w.resize(1200, 800);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy shown(&w, &explorer::MainWindow::snapshotShown);
        w.openFile(fixture("sample-small.sptrace"));
        QTRY_VERIFY(shown.count() > 0);
        w.map()->repaint();
        // A click on a kept block locks it: the text view highlights its query and key spans.
        const QRectF r = w.map()->mapRect();
        BlockHit hit;
        for (double fy = 0.9; fy > 0.1 && !hit.valid; fy -= 0.05) {
            const QPointF p(r.left() + 3, r.top() + r.height() * fy); // the sink column of a late row
            const BlockHit h = w.map()->hitAt(p);
            if (h.valid && h.causal) {
                QTest::mouseClick(w.map(), Qt::LeftButton, {}, p.toPoint());
                hit = h;
            }
        }
        QVERIFY(hit.valid);
        QVERIFY(w.map()->locked());
        const auto q = w.trace()->info().rowQueries(hit.row);
        QVERIFY(w.textView()->laidOut(q[0]));
        QVERIFY(w.textView()->laidOut(0)); // the sink keys
        QVERIFY(w.textView()->editor()->extraSelections().size() >= 2);
        // The generated tokens are the last rows: a block there links to the generated token.
        const auto& info = w.trace()->info();
        QVERIFY(info.generatedTokens > 0); // the fixture has generated tokens
        {
            w.map()->unlock();
            const QPointF last(r.left() + 3, r.bottom() - 1);
            const BlockHit g = w.map()->hitAt(last);
            QVERIFY(g.valid);
            QCOMPARE(g.row, info.rows() - 1);
            QTest::mouseClick(w.map(), Qt::LeftButton, {}, last.toPoint());
            const auto gq = info.rowQueries(g.row);
            QCOMPARE(gq[0], static_cast<std::int64_t>(info.tokens.size()) - 1);
            QVERIFY(gq[0] >= info.promptTokens);
            QVERIFY(w.textView()->laidOut(gq[0]));
        }
        // Selecting text highlights those tokens on the map.
        QTextCursor c(w.textView()->editor()->document());
        c.setPosition(w.textView()->charRange(3).first);
        c.setPosition(w.textView()->charRange(5).second, QTextCursor::KeepAnchor);
        w.textView()->editor()->setTextCursor(c);
        QCOMPARE(w.map()->highlightedTokens(), std::make_pair(std::int64_t(3), std::int64_t(5)));
    }

    void viewSettingsAreRemembered()
    {
        QSettings().clear();
        {
            explorer::MainWindow w;
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            QCOMPARE(w.map()->figure().colormap, widgets::ColormapId::Viridis);
            for (QAction* a : w.findChildren<QAction*>()) {
                if (a->text() == QStringLiteral("magma")) a->trigger();
                if (a->text() == QStringLiteral("&Log Colour Scale")) a->setChecked(true);
            }
            QCOMPARE(w.map()->figure().colormap, widgets::ColormapId::Magma);
            w.resize(900, 650);
            w.close(); // saves the window's geometry and state
        }
        explorer::MainWindow again;
        QCOMPARE(again.map()->figure().colormap, widgets::ColormapId::Magma);
        QCOMPARE(again.map()->figure().scale, widgets::ColorScale::Log);
        QCOMPARE(again.size(), QSize(900, 650));
        QSettings().clear();
    }

    void droppedFileOpens()
    {
        explorer::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy loaded(&w, &explorer::MainWindow::traceLoaded);
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(fixture("sample-small.sptrace"))});
        const QPoint at(w.width() / 2, w.height() / 2);
        QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &drop);
        QVERIFY(loaded.wait(10000));
        QVERIFY(w.tracePath().endsWith("sample-small.sptrace"));
        // Something that is not a file is refused at the door.
        QMimeData text;
        text.setText(QStringLiteral("not a file"));
        QDragEnterEvent refused(at, Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &refused);
        QVERIFY(!refused.isAccepted());
    }

    void exportViewAsksSizeAndResolution()
    {
        explorer::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.showAnalysisView(QStringLiteral("routes")));
        QSignalSpy routed(w.routeView(), &widgets::RouteView::routeReady);
        w.openFile(QStringLiteral(SPARSETRACE_SOURCE_DIR "/resources/demo/needle-retrieved.sptrace"));
        QVERIFY(routed.wait(20000));
        QVERIFY(w.routeView()->hasContent());
        QTemporaryDir dir;
        const QString png = dir.filePath("route.png");
        bool answered = false;
        QTimer::singleShot(300, &w, [&] {
            auto* d = qobject_cast<QDialog*>(QApplication::activeModalWidget());
            if (!d) return;
            d->findChild<QLineEdit*>()->setText(png);
            const auto spins = d->findChildren<QSpinBox*>();
            if (spins.size() != 3) return;
            spins[0]->setValue(640);
            spins[1]->setValue(480);
            spins[2]->setValue(100);
            answered = true;
            d->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Save)->click();
        });
        for (QAction* a : w.findChildren<QAction*>())
            if (a->text() == QStringLiteral("Export &View…")) a->trigger();
        QVERIFY(answered);
        QCOMPARE(QImage(png).size(), QSize(640, 480));
        QVERIFY(w.lastError().isEmpty());
    }

    void hiddenViewsDoNotTalkInTheStatusBar()
    {
        // A trace without a needle: the routes view (behind the anchors tab) has no route, and
        // says so in its own pane, not in the window's status bar.
        explorer::MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.showAnalysisView(QStringLiteral("anchors")));
        QSignalSpy loaded(&w, &explorer::MainWindow::traceLoaded);
        QSignalSpy routed(w.routeView(), &widgets::RouteView::routeReady);
        w.openFile(fixture("sample-small.sptrace"));
        QVERIFY(loaded.wait(10000));
        QVERIFY(routed.wait(10000));
        QCoreApplication::processEvents();
        QVERIFY(w.routeView()->statusText().contains(QStringLiteral("needle")));
        QVERIFY2(!w.statusBar()->currentMessage().contains(QStringLiteral("Routes")), qPrintable(w.statusBar()->currentMessage()));
        // In front, it does.
        QVERIFY(w.showAnalysisView(QStringLiteral("routes")));
        w.openFile(fixture("sample-small.sptrace"));
        QTRY_VERIFY_WITH_TIMEOUT(w.statusBar()->currentMessage().contains(QStringLiteral("Routes")), 10000);
    }

    void comparisonOfTheSameTrace()
    {
        explorer::MainWindow w;
        w.show();
        QSignalSpy loaded(&w, &explorer::MainWindow::traceLoaded);
        w.openFile(fixture("sample-small.sptrace"));
        QVERIFY(loaded.wait(10000));
        w.openCompare(fixture("sample-small.sptrace"));
        QTRY_VERIFY(w.compareMap()->isVisible());
        QTRY_VERIFY(w.compareMap()->snapshot() != nullptr);
        QCOMPARE(w.compareMap()->view(), w.map()->view());
        w.map()->zoomBy(2.0);
        QCOMPARE(w.compareMap()->view(), w.map()->view()); // views stay linked
        w.closeCompare();
        QVERIFY(!w.compareMap()->isVisible());
    }
};

QTEST_MAIN(TestExplorerWindow)
#include "tst_explorer_window.moc"
