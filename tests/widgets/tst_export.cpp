// Figure export: the PNG has the requested size and DPI and the planted block's colour at its
// pixel; SVG and PDF hold the caption and the axis labels as text.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "planted_trace.h"

#include "sparsetrace/widgets/figure.h"

#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include "sparsetrace/core/error.h"

#include <QtTest>

#include <cmath>

using namespace sparsetrace;
using namespace sparsetrace::widgets;
using sparsetrace::test::Planted;

namespace {
MapFigure plantedFigure(std::int64_t tokens)
{
    MapFigure f;
    f.snapshot = prepareSnapshot(test::makePlantedTrace(tokens), Planted::layer, Planted::head);
    f.view = fullView(*f.snapshot);
    return f;
}
} // namespace

class TestExport : public QObject {
    Q_OBJECT
private slots:
    void pngHasPlantedColourAtItsPixel_data()
    {
        QTest::addColumn<qint64>("tokens");
        QTest::addColumn<QSize>("size");
        QTest::addColumn<int>("dpi");
        QTest::newRow("4k, blocks larger than pixels") << qint64(4096) << QSize(900, 700) << 150;
        QTest::newRow("64k, zoomed out (max-pooled)") << qint64(65536) << QSize(1000, 800) << 300;
        QTest::newRow("small figure") << qint64(4096) << QSize(320, 240) << 96;
    }
    void pngHasPlantedColourAtItsPixel()
    {
        QFETCH(qint64, tokens);
        QFETCH(QSize, size);
        QFETCH(int, dpi);
        QTemporaryDir dir;
        const QString path = dir.filePath("map.png");
        const MapFigure f = plantedFigure(tokens);
        const FigureLayout layout = exportFigure(f, {path, size, double(dpi)});
        QImage img(path);
        QVERIFY(!img.isNull());
        QCOMPARE(img.size(), size);
        QVERIFY(std::abs(img.dotsPerMeterX() - dpi / 0.0254) < 1.0);
        const double sx = layout.map.width() / f.view.width(), sy = layout.map.height() / f.view.height();
        const int x = static_cast<int>(layout.map.left() + std::floor((Planted::keyBlock + 0.5) * sx));
        const int y = static_cast<int>(layout.map.top() + std::floor((Planted::row + 0.5) * sy));
        QCOMPARE(img.pixel(x, y), f.colorSpec().colour(Planted::mass));
        // The corner above the diagonal is the greyed causal triangle.
        QCOMPARE(img.pixel(static_cast<int>(layout.map.right()) - 2, static_cast<int>(layout.map.top()) + 2), ColorSpec{}.masked);
    }

    void svgAndPdfHoldTextLabels()
    {
        QTemporaryDir dir;
        const MapFigure f = plantedFigure(4096);
        const QString caption = figureCaption(f);
        QVERIFY(caption.contains("synthetic"));
        QVERIFY(caption.contains("layer 1/2"));
        QVERIFY(caption.contains("head 2/3"));
        QVERIFY(caption.contains("bq 32, bk 32, K 4"));

        const QString svg = dir.filePath("map.svg");
        exportFigure(f, {svg, QSize(1200, 900), 150});
        QFile file(svg);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(file.readAll());
        for (const char* s : {"key position (tokens)", "query position (tokens)", "attention mass per block", "layer 1/2", "head 2/3"})
            QVERIFY2(text.contains(QString::fromUtf8(s)), s);

        const QString pdf = dir.filePath("map.pdf");
        exportFigure(f, {pdf, QSize(1200, 900), 150});
        QVERIFY(QFileInfo(pdf).size() > 1000);
        const QString pdftotext = QStandardPaths::findExecutable("pdftotext");
        if (pdftotext.isEmpty()) QSKIP("pdftotext (poppler-utils) is not installed");
        QProcess p;
        p.start(pdftotext, {pdf, "-"});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 0);
        const QString extracted = QString::fromUtf8(p.readAllStandardOutput());
        for (const char* s : {"key position (tokens)", "query position (tokens)", "layer 1/2", "head 2/3"})
            QVERIFY2(extracted.contains(QString::fromUtf8(s)), qPrintable(QString(s) + " not in: " + extracted));
    }

    void badRequestsAreClearErrors()
    {
        QTemporaryDir dir;
        const MapFigure f = plantedFigure(4096);
        QVERIFY_THROWS_EXCEPTION(sparsetrace::ArgumentError, exportFigure(f, {dir.filePath("x.bmp"), QSize(800, 600), 100}));
        QVERIFY_THROWS_EXCEPTION(sparsetrace::ArgumentError, exportFigure(f, {dir.filePath("x.png"), QSize(10, 600), 100}));
        QVERIFY_THROWS_EXCEPTION(sparsetrace::ArgumentError, exportFigure(f, {dir.filePath("x.png"), QSize(800, 600), 0}));
        QVERIFY_THROWS_EXCEPTION(sparsetrace::IoError, exportFigure(f, {dir.filePath("missing/dir/x.png"), QSize(800, 600), 100}));
        QVERIFY(!QFile::exists(dir.filePath("x.png")));
    }

    void niceTicksAndTokenLabels()
    {
        QCOMPARE(niceTicks(0, 100, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
        QCOMPARE(formatTokens(4096), QString("4096"));
        QCOMPARE(formatTokens(20000), QString("20k"));
        QCOMPARE(formatTokens(1000000), QString("1M"));
    }
};

QTEST_MAIN(TestExport)
#include "tst_export.moc"
