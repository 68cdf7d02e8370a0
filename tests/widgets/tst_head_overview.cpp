// The layer x head overview: the table model under QAbstractItemModelTester, clicking a cell
// selects the head (the statistics' definitions are tested in tests/core/tst_head_stats.cpp).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "planted_trace.h"

#include "sparsetrace/widgets/head_overview_widget.h"
#include "sparsetrace/widgets/head_stat_model.h"
#include "sparsetrace/widgets/layer_head_selection.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QHeaderView>
#include <QScrollBar>
#include <QTableView>
#include "sparsetrace/core/error.h"

#include <QtTest>

#include <cmath>

using namespace sparsetrace;
using namespace sparsetrace::widgets;


class TestHeadOverview : public QObject {
    Q_OBJECT
private slots:
    void modelUnderTester()
    {
        HeadStatModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        model.setStatistic("sparsity", 3, 4, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, NAN, 0.0f});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.columnCount(), 4);
        QCOMPARE(model.data(model.index(1, 2)).toString(), QString("0.7"));
        QCOMPARE(model.data(model.index(0, 0)).toString(), QString("0.1"));
        QCOMPARE(model.data(model.index(2, 2)).toString(), QString("–"));
        QVERIFY(std::isnan(model.data(model.index(2, 2), Qt::UserRole).toDouble()));
        QCOMPARE(model.headerData(3, Qt::Horizontal).toString(), QString("H3"));
        QCOMPARE(model.headerData(2, Qt::Vertical).toString(), QString("L2"));
        const QColor top = model.data(model.index(2, 1), Qt::BackgroundRole).value<QBrush>().color();
        QCOMPARE(top.rgb(), Colormap::get(ColormapId::Viridis).map(1.0));
        model.setColormap(ColormapId::Magma);
        QCOMPARE(model.data(model.index(2, 1), Qt::BackgroundRole).value<QBrush>().color().rgb(), Colormap::get(ColormapId::Magma).map(1.0));
        model.setStatistic("bad", 2, 2, {1.0f}); // wrong size: empty model, not a crash
        QCOMPARE(model.rowCount(), 0);
        model.clear();
        QCOMPARE(model.columnCount(), 0);
    }

    void overviewFitsSixteenHeadsWithoutScrolling()
    {
        core::SyntheticTraceSpec spec;
        spec.layers = 4;
        spec.heads = 16;
        spec.kvHeads = 4;
        spec.promptTokens = 256;
        auto t = core::makeSyntheticTrace(spec);
        HeadOverviewWidget overview;
        overview.resize(260, 400); // the dock's width in a 1280 x 800 window
        overview.show();
        QVERIFY(QTest::qWaitForWindowExposed(&overview));
        overview.setTrace(t);
        QTableView* view = overview.view();
        QTRY_COMPARE(view->horizontalHeader()->count(), 16);
        QTRY_VERIFY(view->visualRect(overview.model()->index(0, 15)).right() <= view->viewport()->width());
        QVERIFY(!view->horizontalScrollBar()->isVisible());
        QTRY_VERIFY(!overview.model()->showValues()); // too narrow for "0.000": colours only
        QCOMPARE(overview.model()->data(overview.model()->index(0, 0)).toString(), QString());
        QVERIFY(!overview.model()->data(overview.model()->index(0, 0), Qt::ToolTipRole).toString().isEmpty());
        overview.resize(1400, 400);
        QTRY_VERIFY(overview.model()->showValues());
        QVERIFY(!overview.model()->data(overview.model()->index(0, 0)).toString().isEmpty());
    }

    void overviewClickSelectsAndComputesOnDemand()
    {
        auto t = test::makePlantedTrace();
        LayerHeadSelection sel;
        sel.setShape(t->layers(), t->heads());
        HeadOverviewWidget overview;
        overview.setSelection(&sel);
        QAbstractItemModelTester tester(overview.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        overview.resize(400, 300);
        overview.show();
        overview.setTrace(t);
        QCOMPARE(overview.statistic(), QString("sparsity"));
        QCOMPARE(overview.model()->rowCount(), 2);
        QSignalSpy ready(&overview, &HeadOverviewWidget::statisticReady);
        overview.showStatistic("entropy");
        QVERIFY(ready.wait(10000));
        QCOMPARE(ready.last().at(0).toString(), QString("entropy"));
        QVERIFY(overview.model()->value(1, 2) > 0.0);
        QTableView* view = overview.view();
        const QRect cell = view->visualRect(overview.model()->index(1, 2));
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, cell.center());
        QCOMPARE(sel.layer(), 1);
        QCOMPARE(sel.head(), 2);
        sel.select(0, 1);
        QCOMPARE(view->currentIndex(), overview.model()->index(0, 1));
    }
};

QTEST_MAIN(TestHeadOverview)
#include "tst_head_overview.moc"
