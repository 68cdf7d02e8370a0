// Figure export: the PNG has the requested size and DPI and the planted block's colour at its
// pixel; SVG and PDF hold the caption and the axis labels as text; the "generated" label sits in
// the margin beside the map, off its rows.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "planted_trace.h"

#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/widgets/figure.h"

#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include "sparsetrace/core/error.h"

#include <QtTest>

#include <algorithm>
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
    void generatedLabelStaysOffTheMap()
    {
        // 8 prompt rows and 8 generated rows: each row is tens of pixels tall.
        core::SyntheticTraceSpec spec;
        spec.layers = 1;
        spec.heads = 1;
        spec.kvHeads = 1;
        spec.promptTokens = 256;
        spec.generatedTokens = 8;
        spec.params.bq = spec.params.bk = 32;
        spec.params.k = 2;
        spec.params.sinks = 32;
        spec.params.window = 32;
        MapFigure f;
        f.snapshot = prepareSnapshot(core::makeSyntheticTrace(spec), 0, 0);
        f.view = fullView(*f.snapshot);
        QTemporaryDir dir;
        const QString path = dir.filePath("generated.png");
        const FigureLayout layout = exportFigure(f, {path, QSize(900, 700), 100});
        const QImage img = QImage(path).convertToFormat(QImage::Format_RGB32);
        const QRect map = layout.map.toAlignedRect();
        const double rowHeight = map.height() / f.view.height();
        const int separator = map.top() + static_cast<int>(std::lround(8 * rowHeight));
        auto dark = [&](int x, int y) { // text ink (black), not a map colour (viridis starts at 68, 1, 84)
            const QRgb c = img.pixel(x, y);
            return std::max({qRed(c), qGreen(c), qBlue(c)}) < 40;
        };
        // The first generated row (inside it, off the dashed separator) holds no ink.
        for (int y = separator + 3; y < separator + static_cast<int>(rowHeight) - 2; ++y)
            for (int x = map.left() + 1; x < map.right(); ++x) QVERIFY2(!dark(x, y), qPrintable(QStringLiteral("ink at %1,%2").arg(x).arg(y)));
        // The label is in the margin right of the map, beside the separator.
        int ink = 0;
        for (int y = separator; y < std::min(img.height(), separator + static_cast<int>(3 * rowHeight)); ++y)
            for (int x = map.right() + 2; x < std::min(img.width(), map.right() + 24); ++x) ink += dark(x, y) ? 1 : 0;
        QVERIFY2(ink > 20, qPrintable(QString::number(ink)));
    }

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
