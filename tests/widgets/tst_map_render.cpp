// Colormaps, max-pooling and colouring of the attention map: a single strong block survives
// zoom-out, the causal triangle and pruned area are told apart from low attention.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "planted_trace.h"

#include "sparsetrace/widgets/map_render.h"

#include "sparsetrace/core/error.h"

#include <QtTest>

#include <cmath>

using namespace sparsetrace;
using namespace sparsetrace::widgets;
using sparsetrace::test::Planted;

class TestMapRender : public QObject {
    Q_OBJECT
private slots:
    void colormapEndpoints_data()
    {
        QTest::addColumn<int>("map");
        QTest::addColumn<QRgb>("low");
        QTest::addColumn<QRgb>("high");
        // Ends of the published tables (viridis #440154..#FDE725, magma #000004..#FCFDBF,
        // cividis (0, .135, .305)..(.996, .909, .218), RdBu #053061..#67001F).
        QTest::newRow("viridis") << int(ColormapId::Viridis) << qRgb(0x44, 0x01, 0x54) << qRgb(0xFD, 0xE7, 0x25);
        QTest::newRow("magma") << int(ColormapId::Magma) << qRgb(0x00, 0x00, 0x04) << qRgb(0xFC, 0xFD, 0xBF);
        QTest::newRow("cividis") << int(ColormapId::Cividis) << qRgb(0, 34, 78) << qRgb(254, 232, 56);
        QTest::newRow("diverging") << int(ColormapId::Diverging) << qRgb(0x05, 0x30, 0x61) << qRgb(0x67, 0x00, 0x1F);
    }
    void colormapEndpoints()
    {
        QFETCH(int, map);
        QFETCH(QRgb, low);
        QFETCH(QRgb, high);
        const Colormap& c = Colormap::get(static_cast<ColormapId>(map));
        QCOMPARE(c.map(0.0), low);
        QCOMPARE(c.map(1.0), high);
        QCOMPARE(c.map(-3.0), low);
        QCOMPARE(c.map(std::nan("")), low);
        QCOMPARE(colormapFromName(c.name()), static_cast<ColormapId>(map));
    }

    void viridisMidpointIsTheTableEntry()
    {
        // t = 0.5 is control point 4 of 8: #21908C exactly.
        QCOMPARE(Colormap::get(ColormapId::Viridis).table()[128] & 0xffffff, qRgb(0x21, 0x90, 0x8C) & 0xffffff);
    }

    void strongBlockSurvivesZoomOut_data()
    {
        QTest::addColumn<qint64>("tokens");
        QTest::addColumn<int>("pixels");
        QTest::newRow("4k tokens, 1 block per pixel") << qint64(4096) << 128;
        QTest::newRow("4k tokens, 4x4 blocks per pixel") << qint64(4096) << 32;
        QTest::newRow("4k tokens, 16x16 blocks per pixel") << qint64(4096) << 8;
        QTest::newRow("64k tokens, 8x8 blocks per pixel") << qint64(65536) << 256;
        QTest::newRow("64k tokens, not a multiple") << qint64(65536 - 77) << 301;
    }
    void strongBlockSurvivesZoomOut()
    {
        QFETCH(qint64, tokens);
        QFETCH(int, pixels);
        auto trace = test::makePlantedTrace(tokens);
        auto s = prepareSnapshot(trace, Planted::layer, Planted::head);
        // Early rows hold a single block of mass 1, so the colour scale tops out at 1.
        QCOMPARE(s->maxMass, 1.0f);
        const ViewRect v = fullView(*s);
        const PooledMap p = poolView(*s, v, QSize(pixels, pixels), {});
        const int x = static_cast<int>(std::floor((Planted::keyBlock + 0.5) * pixels / v.width()));
        const int y = static_cast<int>(std::floor((Planted::row + 0.5) * pixels / v.height()));
        QCOMPARE(p.at(x, y), Planted::mass);
        // Colour: that of 0.95 itself; a mean-pooled pixel would be far dimmer.
        const ColorSpec spec = colorSpecFor(*s, ColormapId::Viridis, ColorScale::Linear, false);
        const QImage img = colourise(p, spec);
        QCOMPARE(img.pixel(x, y), spec.colour(Planted::mass));
        QVERIFY(spec.colour(Planted::mass) != spec.colour(Planted::mass / 16));
        // The planted value appears nowhere else: at most the 2 x 2 pixels a block straddles.
        int count = 0;
        for (float f : p.value) count += f == Planted::mass ? 1 : 0;
        QVERIFY(count >= 1);
        if (pixels <= v.width()) QVERIFY(count <= 4);
    }

    void zoomedInBlockFillsItsPixels()
    {
        auto trace = test::makePlantedTrace();
        auto s = prepareSnapshot(trace, Planted::layer, Planted::head);
        // A 2 x 2 block view at 100 x 100 pixels: the planted block is the top-left quadrant.
        const ViewRect v{double(Planted::keyBlock), double(Planted::row), Planted::keyBlock + 2.0, Planted::row + 2.0};
        const PooledMap p = poolView(*s, v, QSize(100, 100), {});
        QCOMPARE(p.at(0, 0), Planted::mass);
        QCOMPARE(p.at(49, 49), Planted::mass);
        QVERIFY(p.at(50, 0) != Planted::mass);
    }

    void causalTrianglePrunedAndLowAreDistinct()
    {
        auto trace = test::makePlantedTrace();
        auto s = prepareSnapshot(trace, 0, 0);
        const ViewRect v = fullView(*s);
        const PooledMap p = poolView(*s, v, QSize(128, 128), {});
        // Upper right corner: keys after every query.
        QVERIFY(p.flagsAt(127, 0) & PooledMap::kMasked);
        QVERIFY(std::isnan(p.at(127, 0)));
        // Row 100, block 60: causal; kept only if chosen, else pruned. Find a pruned causal pixel.
        int prunedX = -1;
        for (int x = 2; x < 97; ++x)
            if (std::isnan(p.at(x, 100)) && !(p.flagsAt(x, 100) & PooledMap::kMasked)) prunedX = x;
        QVERIFY(prunedX >= 0);
        ColorSpec spec = colorSpecFor(*s, ColormapId::Viridis, ColorScale::Linear, false);
        const QImage img = colourise(p, spec);
        const QRgb low = spec.colour(0.0);
        QCOMPARE(img.pixel(127, 0), spec.masked);
        QCOMPARE(img.pixel(prunedX, 100), spec.pruned);
        QVERIFY(spec.pruned != low && spec.masked != low && spec.pruned != spec.masked);
        // Diagonal and sinks are kept for every row.
        QVERIFY(!std::isnan(p.at(100, 100)));
        QVERIFY(!std::isnan(p.at(0, 100)));
    }

    void hideSinksRemovesSinkColumn()
    {
        auto trace = test::makePlantedTrace();
        auto s = prepareSnapshot(trace, 0, 0);
        const PooledMap p = poolView(*s, fullView(*s), QSize(128, 128), {true, false});
        QVERIFY(std::isnan(p.at(0, 100)));
        QVERIFY(p.flagsAt(0, 100) & PooledMap::kHidden);
        QVERIFY(!std::isnan(p.at(100, 100)));
    }

    void logScale()
    {
        ColorSpec c;
        c.scale = ColorScale::Log;
        c.vmin = 1e-4;
        c.vmax = 1.0;
        QCOMPARE(c.normalise(1.0), 1.0);
        QCOMPARE(c.normalise(1e-4), 0.0);
        QVERIFY(std::abs(c.normalise(1e-2) - 0.5) < 1e-12);
        QCOMPARE(c.normalise(1e-9), 0.0);
        c.scale = ColorScale::Linear;
        c.vmin = 0;
        QVERIFY(std::abs(c.normalise(0.25) - 0.25) < 1e-12);
    }

    void differenceOfTwoTraces()
    {
        auto a = test::makePlantedTrace();
        auto b = test::makePlantedTrace();
        b->mutableInfo().provenance.modelName = "b";
        // Drop the planted block's strength in b: difference at that pixel is 0.95 - m_b > 0.
        auto& rec = b->mutableLayers()[Planted::layer];
        const int KP = b->info().kPrime();
        const std::size_t base = static_cast<std::size_t>((Planted::head * b->info().rows() + Planted::row) * KP);
        for (int k = 0; k < KP; ++k)
            if (rec.index[base + k] == Planted::keyBlock) rec.mass[base + k] = 0.25f;
        auto sa = prepareSnapshot(a, Planted::layer, Planted::head);
        auto sb = prepareSnapshot(b, Planted::layer, Planted::head);
        const ViewRect v = fullView(*sa);
        const PooledMap d = poolDifference(poolView(*sa, v, QSize(128, 128), {}), poolView(*sb, v, QSize(128, 128), {}));
        QVERIFY(std::abs(d.at(Planted::keyBlock, Planted::row) - 0.70f) < 1e-6f);
        QCOMPARE(d.at(100, 100), 0.0f); // same elsewhere
        const ColorSpec spec = differenceColorSpec(*sa, *sb, false);
        QCOMPARE(spec.vmin, -spec.vmax);
        QCOMPARE(spec.colour(0.0), Colormap::get(ColormapId::Diverging).map(0.5));
    }

    void strongestBlockUnderAPixel()
    {
        auto trace = test::makePlantedTrace();
        auto s = prepareSnapshot(trace, Planted::layer, Planted::head);
        const BlockHit hit = strongestBlock(*s, 96, 104, 16, 24, false);
        QVERIFY(hit.valid && hit.kept);
        QCOMPARE(hit.row, Planted::row);
        QCOMPARE(hit.keyBlock, std::int64_t(Planted::keyBlock));
        QCOMPARE(hit.mass, Planted::mass);
        const BlockHit masked = strongestBlock(*s, 0, 1, 100, 101, false);
        QVERIFY(masked.valid && !masked.kept && !masked.causal);
    }

    void fidelityOracleOnlyOutlines()
    {
        auto trace = test::makePlantedTrace(4096, true);
        // Make the oracle keep a block the mask does not: row 50 of head 0, block 10.
        auto& rec = trace->mutableLayers()[0];
        const int KP = trace->info().kPrime();
        const std::size_t base = static_cast<std::size_t>(50 * KP);
        std::vector<std::int32_t> row(rec.index.begin() + base, rec.index.begin() + base + KP);
        std::int32_t missing = -1;
        for (std::int32_t b = 2; b < 48 && missing < 0; ++b)
            if (std::find(row.begin(), row.end(), b) == row.end()) missing = b;
        QVERIFY(missing >= 0);
        rec.oracleIndex[base + 2] = missing; // replaces a kept block in the oracle's list
        std::sort(rec.oracleIndex.begin() + base, rec.oracleIndex.begin() + base + KP,
                  [](int a, int b) { return (a < 0 ? INT32_MAX : a) < (b < 0 ? INT32_MAX : b); });
        auto s = prepareSnapshot(trace, 0, 0);
        QVERIFY(s->hasCaptured && s->hasOracle);
        const PooledMap p = poolView(*s, fullView(*s), QSize(128, 128), {false, true});
        QVERIFY(p.flagsAt(missing, 50) & PooledMap::kOracleOnly);
        QVERIFY(!std::isnan(p.captured[50]));
        const BlockHit hit = strongestBlock(*s, 50, 51, missing, missing + 1, false);
        QVERIFY(hit.oracleOnly && !hit.kept);
        const QImage img = colourise(p, colorSpecFor(*s, ColormapId::Viridis, ColorScale::Linear, false));
        QCOMPARE(img.pixel(missing, 50), ColorSpec{}.oracle);
    }

    void badLayerOrHeadIsAnArgumentError()
    {
        auto trace = test::makePlantedTrace();
        QVERIFY_THROWS_EXCEPTION(sparsetrace::ArgumentError, prepareSnapshot(trace, 2, 0));
        QVERIFY_THROWS_EXCEPTION(sparsetrace::ArgumentError, prepareSnapshot(trace, 0, -1));
    }
};

QTEST_MAIN(TestMapRender)
#include "tst_map_render.moc"
