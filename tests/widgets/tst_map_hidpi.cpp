// The map on a HiDPI screen (QT_SCALE_FACTOR=2, set before the application starts): pooled at
// device pixels, one image pixel per physical pixel, drawn at the map's logical size.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "planted_trace.h"

#include "sparsetrace/widgets/attention_map_widget.h"

#include <QApplication>
#include <QtTest>

using namespace sparsetrace;
using namespace sparsetrace::widgets;
using sparsetrace::test::Planted;

class TestMapHiDpi : public QObject {
    Q_OBJECT
private slots:
    void mapIsPooledAtDevicePixels()
    {
        auto trace = test::makePlantedTrace();
        AttentionMapWidget map;
        map.resize(640, 480);
        map.setSnapshot(prepareSnapshot(trace, Planted::layer, Planted::head));
        map.show();
        QVERIFY(QTest::qWaitForWindowExposed(&map));
        QCOMPARE(map.devicePixelRatioF(), 2.0);
        QTRY_VERIFY(map.imageCurrent());
        const QSize logical = map.mapRect().size();
        QCOMPARE(map.mapImage().size(), logical * 2);
        QCOMPARE(map.mapImage().devicePixelRatio(), 2.0);
        QCOMPARE(map.mapImage().deviceIndependentSize().toSize(), logical);
        // The pixels are the figure pooled at the device size.
        QImage expected = map.figure().render(logical * 2);
        expected.setDevicePixelRatio(2.0);
        QCOMPARE(map.mapImage(), expected);
        // The painted window shows the map's device pixels: grab at the device resolution.
        const QImage shot = map.grab().toImage();
        QCOMPARE(shot.devicePixelRatio(), 2.0);
        QCOMPARE(shot.size(), map.size() * 2);
    }
};

int main(int argc, char** argv)
{
    qputenv("QT_SCALE_FACTOR", "2");
    QApplication app(argc, argv);
    TestMapHiDpi test;
    return QTest::qExec(&test, argc, argv);
}
#include "tst_map_hidpi.moc"
