// The attention map widget and the layer/head scrubbing: keys change the selection, the view
// zooms down to single blocks, hover and click describe and lock a block.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "planted_trace.h"

#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"
#include "sparsetrace/widgets/scrubber_widget.h"

#include <QSignalSpy>
#include <QSlider>
#include <QThreadPool>
#include <QtTest>

#include <memory>

using namespace sparsetrace;
using namespace sparsetrace::widgets;
using sparsetrace::test::Planted;

namespace {
// Shows `map` at `size` with the planted head of `trace` and waits for its pooled image.
bool showPlanted(AttentionMapWidget& map, const std::shared_ptr<core::OwnedTrace>& trace, QSize size)
{
    map.resize(size);
    map.setSnapshot(prepareSnapshot(trace, Planted::layer, Planted::head));
    map.show();
    return QTest::qWaitForWindowExposed(&map) && QTest::qWaitFor([&] { return map.imageCurrent(); });
}
} // namespace

class TestMapWidget : public QObject {
    Q_OBJECT
private slots:
    void keyboardScrubbing()
    {
        LayerHeadSelection sel;
        sel.setShape(4, 6);
        AttentionMapWidget map;
        map.setSelection(&sel);
        map.resize(400, 300);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        QSignalSpy spy(&sel, &LayerHeadSelection::changed);
        QTest::keyClick(&map, Qt::Key_Right);
        QCOMPARE(sel.head(), 1);
        QTest::keyClick(&map, Qt::Key_Down);
        QCOMPARE(sel.layer(), 1);
        QTest::keyClick(&map, Qt::Key_End);
        QCOMPARE(sel.head(), 5);
        QTest::keyClick(&map, Qt::Key_Right); // clamps at the last head
        QCOMPARE(sel.head(), 5);
        QTest::keyClick(&map, Qt::Key_Home);
        QCOMPARE(sel.head(), 0);
        QTest::keyClick(&map, Qt::Key_End, Qt::ControlModifier);
        QCOMPARE(sel.layer(), 3);
        QTest::keyClick(&map, Qt::Key_Up);
        QCOMPARE(sel.layer(), 2);
        QTest::keyClick(&map, Qt::Key_Home, Qt::ControlModifier);
        QCOMPARE(sel.layer(), 0);
        QCOMPARE(spy.count(), 7); // the clamped step emitted nothing
        QCOMPARE(spy.last().at(0).toInt(), 0);
        QCOMPARE(spy.last().at(1).toInt(), 0);
    }

    void slidersFollowAndDrive()
    {
        LayerHeadSelection sel;
        sel.setShape(28, 12);
        ScrubberWidget scrub(&sel);
        sel.select(5, 7);
        QCOMPARE(scrub.layerSlider()->value(), 5);
        QCOMPARE(scrub.headSlider()->value(), 7);
        QCOMPARE(scrub.headSlider()->maximum(), 11);
        scrub.headSlider()->setValue(3);
        QCOMPARE(sel.head(), 3);
        scrub.layerSlider()->setValue(27);
        QCOMPARE(sel.layer(), 27);
    }

    void zoomDownToSingleBlockAndPan()
    {
        auto trace = test::makePlantedTrace();
        AttentionMapWidget map;
        map.resize(600, 500);
        map.setSnapshot(prepareSnapshot(trace, Planted::layer, Planted::head));
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        QCOMPARE(map.view(), fullView(*map.snapshot()));
        map.setFocus();
        for (int i = 0; i < 12; ++i) QTest::keyClick(&map, Qt::Key_Plus);
        QVERIFY(std::abs(map.view().width() - 1.0) < 1e-9); // one block fills the map
        QVERIFY(std::abs(map.view().height() - 1.0) < 1e-9);
        map.centreOnTokens(Planted::row * 32, Planted::keyBlock * 32);
        // Pooling runs on a worker: wait for the image of this view.
        QTRY_VERIFY(map.imageCurrent());
        const QPointF centre = map.mapRect().center();
        const BlockHit hit = map.hitAt(centre);
        QVERIFY(hit.kept);
        QCOMPARE(hit.row, Planted::row);
        QCOMPARE(hit.keyBlock, std::int64_t(Planted::keyBlock));
        // The whole map is the planted block's colour.
        const QImage img = map.mapImage();
        QCOMPARE(img.pixel(img.width() / 2, img.height() / 2), map.figure().colorSpec().colour(Planted::mass));
        QCOMPARE(img.pixel(0, 0), img.pixel(img.width() - 1, img.height() - 1));
        const ViewRect before = map.view();
        QTest::keyClick(&map, Qt::Key_Right, Qt::ShiftModifier);
        QVERIFY(map.view().x0 > before.x0);
        QTest::keyClick(&map, Qt::Key_0);
        QCOMPARE(map.view(), fullView(*map.snapshot()));
        // Zoom out never goes beyond the whole map.
        QTest::keyClick(&map, Qt::Key_Minus);
        QCOMPARE(map.view(), fullView(*map.snapshot()));
    }

    void hoverDescribesAndClickLocks()
    {
        auto trace = test::makePlantedTrace();
        AttentionMapWidget map;
        QVERIFY(showPlanted(map, trace, QSize(700, 600)));
        const QRectF r = map.mapRect();
        const ViewRect v = map.view();
        const QPoint p(static_cast<int>(r.left() + (Planted::keyBlock + 0.5) * r.width() / v.width()),
                       static_cast<int>(r.top() + (Planted::row + 0.5) * r.height() / v.height()));
        QSignalSpy text(&map, &AttentionMapWidget::hoverText);
        QSignalSpy lock(&map, &AttentionMapWidget::lockChanged);
        QTest::mouseMove(&map, p);
        QTRY_VERIFY(text.count() > 0);
        const QString s = text.last().at(0).toString();
        QVERIFY2(s.contains("query 3200–3231"), qPrintable(s));
        QVERIFY2(s.contains("key 640–671"), qPrintable(s));
        QVERIFY2(s.contains("mass 0.94999999"), qPrintable(s)); // float 0.95 to 8 digits
        QTest::mouseClick(&map, Qt::LeftButton, {}, p);
        QCOMPARE(lock.count(), 1);
        QVERIFY(map.locked());
        QCOMPARE(map.lockedBlock().keyBlock, std::int64_t(Planted::keyBlock));
        QTest::mouseClick(&map, Qt::LeftButton, {}, p);
        QVERIFY(!map.locked());
        // The causal upper triangle reads as masked.
        const BlockHit masked = map.hitAt(QPointF(r.right() - 2, r.top() + 2));
        QVERIFY(masked.valid && !masked.causal);
        QVERIFY(map.describe(masked).contains("causally masked"));
    }

    void latestChangeWinsAndScrubbingBackIsCached()
    {
        auto trace = test::makePlantedTrace();
        AttentionMapWidget map;
        map.resize(640, 480);
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        QSignalSpy rendered(&map, &AttentionMapWidget::rendered);
        // Two heads in a row: the first one's pooling is stale when it ends and is dropped.
        map.setSnapshot(prepareSnapshot(trace, Planted::layer, 0));
        map.setSnapshot(prepareSnapshot(trace, Planted::layer, Planted::head));
        QTRY_VERIFY(rendered.count() > 0);
        QVERIFY(map.imageCurrent());
        QCOMPARE(map.mapImage().size(), map.mapRect().size());
        MapFigure expected = map.figure();
        QCOMPARE(map.mapImage(), expected.render(map.mapRect().size()));
        QCOMPARE(map.mapImageView(), map.view());
        // The planted block's colour is where the view puts it.
        const QRectF r = map.mapRect();
        const int x = static_cast<int>(std::floor((Planted::keyBlock + 0.5) * r.width() / map.view().width()));
        const int y = static_cast<int>(std::floor((Planted::row + 0.5) * r.height() / map.view().height()));
        QCOMPARE(map.mapImage().pixel(x, y), map.figure().colorSpec().colour(Planted::mass));
        // Back to head 0, then to the planted head again: the second visit needs no pooling.
        map.setSnapshot(prepareSnapshot(trace, Planted::layer, 0));
        QTRY_VERIFY(map.imageCurrent());
        map.setSnapshot(prepareSnapshot(trace, Planted::layer, Planted::head));
        QVERIFY(map.imageCurrent());
        QCOMPARE(map.mapImage(), expected.render(map.mapRect().size()));
        // A zoom shows the old image stretched at once, then the pooled one.
        rendered.clear();
        map.zoomBy(2.0);
        QVERIFY(!map.imageCurrent());
        QTRY_VERIFY(rendered.count() > 0);
        QVERIFY(map.imageCurrent());
        QCOMPARE(map.mapImageView(), map.view());
    }

    void axesAndColourBarAreQCustomPlot()
    {
        auto trace = test::makePlantedTrace();
        AttentionMapWidget map;
        QVERIFY(showPlanted(map, trace, QSize(700, 500)));
        // Axis coordinates are blocks and rows; query rows run down.
        QCOMPARE(map.xAxis->range().lower, map.view().x0);
        QCOMPARE(map.yAxis->range().upper, map.view().y1);
        QVERIFY(map.yAxis->rangeReversed());
        QCOMPARE(map.xAxis->label(), QString("key position (tokens)"));
        // Tick labels are token positions: a tick at block b reads b * bk.
        const QVector<double> ticks = map.xAxis->tickVector();
        const QVector<QString> labels = map.xAxis->tickVectorLabels();
        QVERIFY(ticks.size() >= 2);
        for (int i = 0; i < ticks.size(); ++i) QCOMPARE(labels[i], formatTokens(std::llround(ticks[i] * 32)));
        // The colour bar uses our viridis table and the head's mass range.
        QCPColorScale* bar = nullptr;
        for (QCPLayoutElement* e : map.plotLayout()->elements(true))
            if (auto* s = qobject_cast<QCPColorScale*>(e)) bar = s;
        QVERIFY(bar);
        QCOMPARE(bar->dataRange().upper, double(map.figure().colorSpec().vmax));
        QVERIFY(bar->axis()->label().contains("attention mass per block"));
        QCOMPARE(bar->gradient().color(1.0, QCPRange(0, 1)), Colormap::get(ColormapId::Viridis).table()[255]);
        QCOMPARE(bar->gradient().color(0.0, QCPRange(0, 1)), Colormap::get(ColormapId::Viridis).table()[0]);
        map.setScale(ColorScale::Log);
        QCOMPARE(bar->dataScaleType(), QCPAxis::stLogarithmic);
    }

    void closingDuringARenderDropsItsResult()
    {
        // A view closed while its worker pools must not receive (or abort on) the result.
        auto trace = test::makePlantedTrace();
        auto map = std::make_unique<AttentionMapWidget>();
        map->resize(640, 480);
        map->show();
        QVERIFY(QTest::qWaitForWindowExposed(map.get()));
        map->setSnapshot(prepareSnapshot(trace, Planted::layer, Planted::head));
        QVERIFY(!map->imageCurrent()); // the render is in flight
        map.reset();
        QVERIFY(QThreadPool::globalInstance()->waitForDone(30000));
        QCoreApplication::processEvents(); // what the finished worker posted is delivered now
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        // The next view works as before.
        AttentionMapWidget next;
        QVERIFY(showPlanted(next, trace, QSize(400, 300)));
    }

    void wheelZoomsAtTheCursor()
    {
        auto trace = test::makePlantedTrace();
        AttentionMapWidget map;
        map.resize(600, 500);
        map.setSnapshot(prepareSnapshot(trace, 0, 0));
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        map.repaint();
        // The middle of block (3, 3): a pixel there pools that block alone (a pixel on a block
        // edge would pool its strongest neighbour), before and after the zoom.
        const QRectF r = map.mapRect();
        const QPointF at(r.left() + 3.5 * r.width() / map.view().width(), r.top() + 3.5 * r.height() / map.view().height());
        const BlockHit before = map.hitAt(at);
        QWheelEvent wheel(at, map.mapToGlobal(at), QPoint(), QPoint(0, 120 * 4), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(&map, &wheel);
        QVERIFY(map.view().width() < fullView(*map.snapshot()).width());
        map.repaint();
        const BlockHit after = map.hitAt(at);
        QCOMPARE(after.row, before.row); // the block under the cursor stays under it
        QCOMPARE(after.keyBlock, before.keyBlock);
    }
};

QTEST_MAIN(TestMapWidget)
#include "tst_map_widget.moc"
