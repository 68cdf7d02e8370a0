// k search (smallest preserving K within the probe bound), KL divergence.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/k_search.h"
#include "sparsetrace/core/synthetic_trace.h"

#include <QtTest>

#include <cmath>

using namespace sparsetrace;
using namespace sparsetrace::core;

class TstKSearch : public QObject {
    Q_OBJECT
private slots:
    void findsSmallestPreservingK_data()
    {
        QTest::addColumn<int>("kMax");
        QTest::addColumn<int>("threshold"); // smallest K that preserves; > kMax = none
        for (int kMax : {1, 2, 3, 7, 8, 16, 100, 1000})
            for (int threshold : {1, 2, kMax / 2 + 1, kMax, kMax + 1}) {
                if (threshold < 1) continue;
                QTest::addRow("kMax=%d threshold=%d", kMax, threshold) << kMax << threshold;
            }
    }
    void findsSmallestPreservingK()
    {
        QFETCH(int, kMax);
        QFETCH(int, threshold);
        int calls = 0;
        auto outcome = searchSmallestK(kMax, [&](int k) {
            ++calls;
            return KProbe{k, k >= threshold, 1.0 - double(k) / kMax};
        });
        QVERIFY(calls <= maxKSearchProbes(kMax));
        QCOMPARE(static_cast<int>(outcome.probes.size()), calls);
        if (threshold > kMax) {
            QVERIFY(!outcome.found);
            QCOMPARE(calls, 1);
            return;
        }
        QVERIFY(outcome.found);
        QCOMPARE(outcome.k, threshold);
        // The answer preserves, and K - 1 was probed and failed (unless K = 1).
        bool sawKMinus1 = outcome.k == 1;
        for (const auto& p : outcome.probes) {
            QCOMPARE(p.preserved, p.k >= threshold);
            if (p.k == outcome.k - 1) sawKMinus1 = true;
        }
        QVERIFY(sawKMinus1);
    }

    void probeBound()
    {
        QCOMPARE(maxKSearchProbes(1), 1);
        QCOMPARE(maxKSearchProbes(2), 2);
        QCOMPARE(maxKSearchProbes(16), 5);
        QCOMPARE(maxKSearchProbes(17), 6);
    }

    void maxSearchable()
    {
        StreamParams p; // bq = bk = 32, sinks 32, window 64
        // T = 4096: last query 4095, window starts at block (4095-63)/32 = 126, range [1, 126).
        QCOMPARE(maxSearchableK(4096, p), 125);
        QCOMPARE(maxSearchableK(40, p), 1); // nothing to search: still at least 1
    }

    void klDivergence()
    {
        std::vector<float> a = {1.0f, 2.0f, 3.0f};
        QCOMPARE(klDivergenceFromLogits(a, a), 0.0);
        std::vector<float> shifted = {11.0f, 12.0f, 13.0f}; // same distribution
        QVERIFY(klDivergenceFromLogits(a, shifted) < 1e-12);
        std::vector<float> b = {3.0f, 2.0f, 1.0f};
        // Closed form with p = softmax(a), q = softmax(b).
        double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
        double expected = 0;
        for (int i = 0; i < 3; ++i) expected += std::exp(double(a[i])) / z * (double(a[i]) - b[i]);
        QVERIFY(std::abs(klDivergenceFromLogits(a, b) - expected) < 1e-12);
        QCOMPARE(argmaxLogit(a), 2);
        std::vector<float> tie = {5.0f, 5.0f};
        QCOMPARE(argmaxLogit(tie), 0);
        QVERIFY_THROWS_EXCEPTION(ArgumentError, klDivergenceFromLogits(a, tie));
    }
};

QTEST_GUILESS_MAIN(TstKSearch)
#include "tst_k_search.moc"
