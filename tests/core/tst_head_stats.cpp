// Per-head statistics (core/head_stats.h): the definitions on hand-made traces, the stored
// statistics of storeHeadStats, the one entropy definition (normalised rows, padding left out)
// whether stored or computed, captured mass, unknown names and the stop flag.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/head_stats.h"
#include "sparsetrace/core/synthetic_trace.h"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {
// One layer, one head, T = 8, bq = bk = 4: row 0 keeps block 0 with mass `m0`; row 1 keeps
// blocks 0 and 1 with `m1` each.
std::shared_ptr<OwnedTrace> tinyTrace(float m0 = 1.0f, float m1 = 0.5f)
{
    SyntheticTraceSpec spec;
    spec.layers = 1;
    spec.heads = 1;
    spec.promptTokens = 8;
    spec.params.bq = spec.params.bk = 4;
    spec.params.k = 1;
    spec.params.sinks = 4;
    spec.params.window = 4;
    auto t = makeSyntheticTrace(spec);
    auto& rec = t->mutableLayers()[0];
    const int KP = t->info().kPrime();
    std::fill(rec.index.begin(), rec.index.end(), -1);
    std::fill(rec.mass.begin(), rec.mass.end(), 0.0f);
    rec.index[0] = 0;
    rec.mass[0] = m0;
    rec.index[KP] = 0;
    rec.index[KP + 1] = 1;
    rec.mass[KP] = rec.mass[KP + 1] = m1;
    return t;
}
} // namespace

class TstHeadStats : public QObject {
    Q_OBJECT
private slots:
    void definitions()
    {
        auto t = tinyTrace();
        const auto names = availableHeadStatistics(*t);
        auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
        QVERIFY(has("sparsity"));
        QVERIFY(has("entropy"));
        QVERIFY(has("kurtosis"));
        QVERIFY(!has("captured_mass"));
        // Entropy: mean of 0 and ln 2.
        t->mutableInfo().headStats.erase("entropy");
        QVERIFY(!headStatisticStored(*t, "entropy"));
        QVERIFY(std::abs(headStatistic(*t, "entropy")[0] - std::log(2.0) / 2) < 1e-6);
        // Column scores 1.5 and 0.5: deviations +-0.5, m4 / m2^2 - 3 = -2.
        QVERIFY(std::abs(headStatistic(*t, "kurtosis")[0] + 2.0) < 1e-6);
        QVERIFY(headStatisticStored(*t, "sparsity"));
        QCOMPARE(headStatistic(*t, "sparsity"), t->info().headStats.at("sparsity"));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, headStatistic(*t, "nonsense"));
        std::atomic<bool> stop{true};
        QVERIFY(headStatistic(*t, "entropy", &stop).empty());
    }

    void entropyIsOfNormalisedRows()
    {
        // A dense layer records only its top blocks, whose masses need not sum to 1: the row is
        // normalised first, so the entropy is that of the kept blocks' shares.
        auto t = tinyTrace(0.25f, 0.2f);
        t->mutableInfo().headStats.clear();
        QVERIFY(std::abs(headStatistic(*t, "entropy")[0] - std::log(2.0) / 2) < 1e-6);
        storeHeadStats(*t);
        QVERIFY(std::abs(t->info().headStats.at("entropy")[0] - std::log(2.0) / 2) < 1e-6);
        // Padding (index -1) is left out even when it carries mass.
        const std::int32_t index[] = {0, 1, -1};
        const float mass[] = {0.5f, 0.5f, 7.0f};
        QVERIFY(std::abs(rowEntropy(index, mass) - std::log(2.0)) < 1e-12);
        const float none[] = {0.0f, 0.0f, 0.0f};
        QCOMPARE(rowEntropy(index, none), 0.0);
    }

    void storedStatistics()
    {
        SyntheticTraceSpec spec;
        spec.layers = 2;
        spec.heads = 2;
        spec.promptTokens = 64;
        spec.params.bq = 4;
        spec.params.bk = 4;
        spec.params.k = 1;
        spec.params.sinks = 4;
        spec.params.window = 4;
        auto trace = makeSyntheticTrace(spec);
        // Layer 0, head 0: every row puts all its mass on one block -> entropy 0.
        LayerRecord& rec = trace->mutableLayers()[0];
        const int kp = trace->info().kPrime();
        const std::int64_t rows = trace->info().rows();
        for (std::int64_t r = 0; r < rows; ++r)
            for (int i = 0; i < kp; ++i) rec.mass[static_cast<std::size_t>(r * kp + i)] = i == 0 ? 1.0f : 0.0f;
        storeHeadStats(*trace);
        const auto& entropy = trace->info().headStats.at("entropy");
        const auto& sparsity = trace->info().headStats.at("sparsity");
        QCOMPARE(entropy.size(), std::size_t(4));
        QCOMPARE(entropy[0], 0.0f);
        QVERIFY(entropy[1] > 0.0f);
        for (float s : sparsity) QVERIFY(s > 0.3f && s < 1.0f);
        QCOMPARE(sparsity[0], static_cast<float>(headSparsity(trace->info(), 0, trace->layer(0), 0).sparsity()));
        // Stored and computed entropy agree: one definition.
        const std::vector<float> stored = entropy;
        trace->mutableInfo().headStats.erase("entropy");
        const auto computed = headStatistic(*trace, "entropy");
        for (std::size_t i = 0; i < stored.size(); ++i) QVERIFY(std::abs(stored[i] - computed[i]) < 1e-6f);
    }

    void capturedMassWhenPresent()
    {
        SyntheticTraceSpec spec;
        spec.layers = 2;
        spec.heads = 3;
        spec.promptTokens = 1024;
        spec.params.bq = spec.params.bk = 32;
        spec.params.k = 4;
        spec.params.sinks = 32;
        spec.params.window = 64;
        spec.withFidelity = true;
        auto t = makeSyntheticTrace(spec);
        const auto names = availableHeadStatistics(*t);
        QVERIFY(std::find(names.begin(), names.end(), "captured_mass") != names.end());
        const auto v = headStatistic(*t, "captured_mass");
        QCOMPARE(v.size(), std::size_t(6));
        for (float x : v) QVERIFY(x >= 0.0f && x <= 1.0f);
    }
};

QTEST_GUILESS_MAIN(TstHeadStats)
#include "tst_head_stats.moc"
