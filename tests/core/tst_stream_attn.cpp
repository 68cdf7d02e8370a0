// Stream-Attn CPU reference: hand-worked index sets (tests/fixtures/stream_attn/*.json, the
// reasoning in each file's "why"), and properties on random inputs: rows sum to 1, the output
// equals a softmax restricted to the kept keys computed independently in double precision,
// dense layers, fidelity, sparsity, decode steps, bad input.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/stream_attn.h"

#include "shared_assets.h"
#include "stream_attn_problem.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {

using Problem = test::StreamAttnProblem;

Problem randomProblem(int H, int Hkv, std::int64_t keys, int D, StreamParams p, unsigned seed,
                      std::int64_t queries = -1, std::int64_t offset = 0, int slidingWindow = 0)
{
    Problem pr;
    pr.params = p;
    pr.in.heads = H;
    pr.in.kvHeads = Hkv;
    pr.in.keys = keys;
    pr.in.queries = queries < 0 ? keys : queries;
    pr.in.queryOffset = offset;
    pr.in.headDim = D;
    pr.in.scale = 1.0 / std::sqrt(static_cast<double>(D));
    pr.in.slidingWindow = slidingWindow;
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    pr.q.resize(static_cast<std::size_t>(H * pr.in.queries * D));
    pr.k.resize(static_cast<std::size_t>(Hkv * keys * D));
    pr.v.resize(pr.k.size());
    for (float& x : pr.q) x = normal(rng);
    for (float& x : pr.k) x = normal(rng);
    for (float& x : pr.v) x = normal(rng);
    pr.bind();
    return pr;
}

// Independent of the reference: for each query, the keys of its row's kept blocks it can see,
// a plain two-pass softmax in double, the output and each block's mass.
struct Restricted {
    std::vector<double> output; // [H, Tq, D]
    std::vector<double> mass;   // [H, R, K']
};

Restricted restrictedSoftmax(const AttentionInputs& in, const StreamParams& p, const std::vector<std::int32_t>& index)
{
    const std::int64_t R = (in.queries + p.bq - 1) / p.bq;
    const int kp = p.kPrime();
    Restricted res;
    res.output.assign(static_cast<std::size_t>(in.heads * in.queries * in.headDim), 0.0);
    res.mass.assign(index.size(), 0.0);
    const int D = in.headDim;
    for (int h = 0; h < in.heads; ++h) {
        const int kvh = h * in.kvHeads / in.heads;
        for (std::int64_t i = 0; i < in.queries; ++i) {
            const std::int64_t pos = in.queryOffset + i, r = i / p.bq;
            const std::int64_t rowQueries = std::min<std::int64_t>(p.bq, in.queries - r * p.bq);
            std::vector<std::int64_t> keys;
            std::vector<int> slotOf;
            for (int s = 0; s < kp; ++s) {
                const int b = index[static_cast<std::size_t>((h * R + r) * kp + s)];
                if (b < 0) continue;
                for (std::int64_t t = std::int64_t(b) * p.bk; t < std::min<std::int64_t>(std::int64_t(b + 1) * p.bk, in.keys); ++t) {
                    if (t > pos || (in.slidingWindow > 0 && t <= pos - in.slidingWindow)) continue;
                    keys.push_back(t);
                    slotOf.push_back(s);
                }
            }
            std::vector<double> logit(keys.size());
            double mx = -INFINITY;
            for (std::size_t a = 0; a < keys.size(); ++a) {
                double d = 0;
                for (int c = 0; c < D; ++c)
                    d += double(in.q[static_cast<std::size_t>((h * in.queries + i) * D + c)]) *
                         double(in.k[static_cast<std::size_t>((kvh * in.keys + keys[a]) * D + c)]);
                logit[a] = in.scale * d;
                mx = std::max(mx, logit[a]);
            }
            double z = 0;
            for (double& l : logit) z += (l = std::exp(l - mx));
            for (std::size_t a = 0; a < keys.size(); ++a) {
                const double prob = logit[a] / z;
                for (int c = 0; c < D; ++c)
                    res.output[static_cast<std::size_t>((h * in.queries + i) * D + c)] +=
                        prob * double(in.v[static_cast<std::size_t>((kvh * in.keys + keys[a]) * D + c)]);
                res.mass[static_cast<std::size_t>((h * R + r) * kp + slotOf[a])] += prob / double(rowQueries);
            }
        }
    }
    return res;
}

// Every block the row can see: what a dense layer attends to.
std::vector<std::int32_t> allVisibleBlocks(const AttentionInputs& in, const StreamParams& p, int width)
{
    const std::int64_t R = in.rows(p);
    std::vector<std::int32_t> index;
    for (int h = 0; h < in.heads; ++h) {
        for (std::int64_t r = 0; r < R; ++r) {
            const RowPlan plan = planRow(in, p, r);
            int n = 0;
            for (int b = plan.visibleFirst; b <= plan.lastBlock; ++b, ++n) index.push_back(b);
            for (; n < width; ++n) index.push_back(-1);
        }
    }
    return index;
}

template <class F> QString errorOf(F&& f)
{
    try {
        f();
    } catch (const ArgumentError& e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("(no ArgumentError)");
}

} // namespace

class TstStreamAttn : public QObject {
    Q_OBJECT
private slots:
    void handWorkedIndexSets_data()
    {
        QTest::addColumn<QString>("path");
        const auto dir = test::fixturesDir() / "stream_attn";
        std::vector<std::string> paths;
        for (const auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().extension() == ".json") paths.push_back(e.path().string());
        std::sort(paths.begin(), paths.end());
        QVERIFY2(paths.size() >= 5, "at least five hand-worked index sets");
        for (const auto& p : paths)
            QTest::newRow(std::filesystem::path(p).stem().string().c_str()) << QString::fromStdString(p);
    }
    void handWorkedIndexSets()
    {
        QFETCH(QString, path);
        std::ifstream f(path.toStdString());
        const nlohmann::json j = nlohmann::json::parse(f);
        QVERIFY2(j.at("why").get<std::string>().size() > 40, "the reasoning is written down");
        Problem pr = test::fixtureProblem(j);
        const std::vector<std::int32_t> index = estimateMask(pr.in, pr.params);
        const std::int64_t R = pr.in.rows(pr.params);
        const int kp = pr.params.kPrime();
        QCOMPARE(index.size(), static_cast<std::size_t>(pr.in.heads * R * kp));
        for (const auto& e : j.at("expected")) {
            const int h = e.at("head"), r = e.at("row");
            const auto want = e.at("index").get<std::vector<std::int32_t>>();
            QCOMPARE(static_cast<int>(want.size()), kp);
            const std::vector<std::int32_t> got(index.begin() + (h * R + r) * kp, index.begin() + (h * R + r + 1) * kp);
            QVERIFY2(got == want, qPrintable(QStringLiteral("head %1 row %2: got %3").arg(h).arg(r).arg(
                                      QString::fromStdString(nlohmann::json(got).dump()))));
        }
        // The attention over those blocks: rows sum to 1 and match the independent softmax.
        const StreamAttnResult res = attendWithMask(pr.in, pr.params, index);
        const Restricted ind = restrictedSoftmax(pr.in, pr.params, index);
        for (std::size_t i = 0; i < res.output.size(); ++i) QVERIFY(std::abs(res.output[i] - ind.output[i]) < 1e-6);
        for (std::size_t i = 0; i < res.mass.size(); ++i) QVERIFY(std::abs(res.mass[i] - ind.mass[i]) < 1e-6);
    }

    void properties_data()
    {
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kvHeads");
        QTest::addColumn<int>("keys");
        QTest::addColumn<int>("queries"); // -1: a prefill of all keys
        QTest::addColumn<int>("headDim");
        QTest::addColumn<int>("slidingWindow");
        QTest::addColumn<int>("stride");
        QTest::addColumn<bool>("first");
        // heads kv keys queries D sw stride first
        QTest::newRow("T=1") << 1 << 1 << 1 << -1 << 4 << 0 << 1 << false;
        QTest::newRow("T=37 (not a multiple of bq), gqa 2") << 4 << 2 << 37 << -1 << 8 << 0 << 1 << false;
        QTest::newRow("gqa 6") << 6 << 1 << 90 << -1 << 8 << 0 << 1 << false;
        QTest::newRow("gqa 1") << 3 << 3 << 64 << -1 << 16 << 0 << 1 << false;
        QTest::newRow("one head, stride 3, first") << 1 << 1 << 120 << -1 << 8 << 0 << 3 << true;
        QTest::newRow("sliding window 20") << 2 << 1 << 100 << -1 << 8 << 20 << 1 << false;
        QTest::newRow("decode step") << 2 << 1 << 101 << 1 << 8 << 0 << 2 << false;
        QTest::newRow("decode step, sliding window") << 2 << 2 << 101 << 1 << 8 << 24 << 1 << false;
        QTest::newRow("chunk of 17 queries") << 2 << 1 << 80 << 17 << 8 << 0 << 1 << false;
    }
    void properties()
    {
        QFETCH(int, heads);
        QFETCH(int, kvHeads);
        QFETCH(int, keys);
        QFETCH(int, queries);
        QFETCH(int, headDim);
        QFETCH(int, slidingWindow);
        QFETCH(int, stride);
        QFETCH(bool, first);
        const StreamParams p = test::streamParams(8, 4, 3, 4, 8, stride, first ? ScoreRule::First : ScoreRule::Centre);
        const std::int64_t tq = queries < 0 ? keys : queries;
        Problem pr = randomProblem(heads, kvHeads, keys, headDim, p, 17u + unsigned(keys), tq, keys - tq, slidingWindow);
        const StreamAttnResult res = streamAttentionReference(pr.in, p);
        const std::int64_t R = pr.in.rows(p);
        const int kp = p.kPrime();
        QCOMPARE(res.rows, R);
        QCOMPARE(res.index.size(), static_cast<std::size_t>(heads * R * kp));
        QCOMPARE(res.output.size(), static_cast<std::size_t>(heads * tq * headDim));
        for (int h = 0; h < heads; ++h) {
            for (std::int64_t r = 0; r < R; ++r) {
                const RowPlan plan = planRow(pr.in, p, r);
                const auto at = static_cast<std::size_t>((h * R + r) * kp);
                std::vector<int> kept;
                double sum = 0;
                for (int s = 0; s < kp; ++s) {
                    const int b = res.index[at + s];
                    if (b < 0) {
                        QCOMPARE(res.mass[at + s], 0.0f);
                        continue;
                    }
                    QVERIFY2(kept.size() == std::size_t(s), "padding only at the end");
                    QVERIFY(kept.empty() || b > kept.back());
                    QVERIFY(b >= plan.visibleFirst && b <= plan.lastBlock);
                    kept.push_back(b);
                    sum += res.mass[at + s];
                }
                QVERIFY2(std::abs(sum - 1.0) < 1e-5, qPrintable(QString::number(sum)));
                for (int b = plan.windowFirst; b < plan.windowEnd; ++b)
                    QVERIFY(std::binary_search(kept.begin(), kept.end(), b));
                for (int b = plan.sinkFirst; b < plan.sinkEnd; ++b) QVERIFY(std::binary_search(kept.begin(), kept.end(), b));
                const int searched = static_cast<int>(std::count_if(kept.begin(), kept.end(), [&](int b) {
                    return b >= plan.rangeFirst && b < plan.rangeEnd;
                }));
                QCOMPARE(searched, std::min(p.k, plan.rangeEnd - plan.rangeFirst));
            }
        }
        const Restricted ind = restrictedSoftmax(pr.in, p, res.index);
        for (std::size_t i = 0; i < res.output.size(); ++i)
            QVERIFY2(std::abs(res.output[i] - ind.output[i]) <= 1e-6 + 1e-6 * std::abs(ind.output[i]),
                     qPrintable(QStringLiteral("output %1: %2 vs %3").arg(i).arg(res.output[i]).arg(ind.output[i])));
        for (std::size_t i = 0; i < res.mass.size(); ++i) QVERIFY(std::abs(res.mass[i] - ind.mass[i]) <= 1e-6);

        // Fidelity: captured mass is the dense mass in the kept blocks; the oracle, with the same
        // budget, captures at least as much.
        const FidelityResult fid = measureFidelity(pr.in, p, res.index);
        const std::vector<std::int32_t> dense = allVisibleBlocks(pr.in, p, 0);
        for (int h = 0; h < heads; ++h) {
            for (std::int64_t r = 0; r < R; ++r) {
                const RowPlan plan = planRow(pr.in, p, r);
                const std::vector<double> blockMass = denseBlockMass(pr.in, h, plan, p.bk);
                double total = 0, inMask = 0, inOracle = 0;
                int maskCount = 0, oracleCount = 0;
                for (double m : blockMass) total += m;
                QVERIFY(std::abs(total - 1.0) < 1e-9);
                const auto at = static_cast<std::size_t>((h * R + r) * kp);
                for (int s = 0; s < kp; ++s) {
                    if (int b = res.index[at + s]; b >= 0) {
                        inMask += blockMass[static_cast<std::size_t>(b - plan.visibleFirst)];
                        ++maskCount;
                    }
                    if (int b = fid.oracleIndex[at + s]; b >= 0) {
                        inOracle += blockMass[static_cast<std::size_t>(b - plan.visibleFirst)];
                        QCOMPARE(fid.oracleMass[at + s], static_cast<float>(blockMass[static_cast<std::size_t>(b - plan.visibleFirst)]));
                        ++oracleCount;
                    }
                }
                QCOMPARE(oracleCount, std::min<int>(maskCount, int(blockMass.size())));
                QVERIFY(std::abs(fid.captured[static_cast<std::size_t>(h * R + r)] - inMask) < 1e-6);
                QVERIFY(inOracle >= inMask - 1e-12);
                QVERIFY(fid.captured[static_cast<std::size_t>(h * R + r)] <= 1.0f + 1e-6f);
            }
        }
    }

    // A dense layer attends to everything it sees and records its K' heaviest blocks.
    void denseLayer_data()
    {
        QTest::addColumn<int>("keys");
        QTest::addColumn<int>("slidingWindow");
        QTest::newRow("short: every block fits in K'") << 24 << 0;
        QTest::newRow("long: K' of many") << 150 << 0;
        QTest::newRow("long, sliding window 40") << 150 << 40;
    }
    void denseLayer()
    {
        QFETCH(int, keys);
        QFETCH(int, slidingWindow);
        const StreamParams p = test::streamParams(4, 4, 2, 4, 4); // K' = 2 + 1 + 1 + 1 = 5
        Problem pr = randomProblem(2, 1, keys, 8, p, 5u, -1, 0, slidingWindow);
        const StreamAttnResult res = denseAttention(pr.in, p);
        const std::int64_t R = res.rows;
        const int kp = p.kPrime();
        // The output is the full causal softmax: the restricted one over every visible block.
        const int widest = static_cast<int>((keys + p.bk - 1) / p.bk);
        StreamParams wide = p;
        wide.k = widest; // only to give the independent check rows wide enough for all blocks
        const Restricted full = restrictedSoftmax(pr.in, wide, allVisibleBlocks(pr.in, p, wide.kPrime()));
        for (std::size_t i = 0; i < res.output.size(); ++i) QVERIFY(std::abs(res.output[i] - full.output[i]) < 1e-6);
        for (int h = 0; h < 2; ++h) {
            for (std::int64_t r = 0; r < R; ++r) {
                const RowPlan plan = planRow(pr.in, p, r);
                const std::vector<double> blockMass = denseBlockMass(pr.in, h, plan, p.bk);
                const auto at = static_cast<std::size_t>((h * R + r) * kp);
                std::vector<int> kept;
                double sum = 0;
                for (int s = 0; s < kp; ++s) {
                    if (res.index[at + s] < 0) continue;
                    kept.push_back(res.index[at + s]);
                    sum += res.mass[at + s];
                }
                QCOMPARE(static_cast<int>(kept.size()), std::min<int>(kp, int(blockMass.size())));
                QVERIFY(std::is_sorted(kept.begin(), kept.end()));
                // Every recorded block weighs at least as much as every block left out.
                double lightestKept = INFINITY, heaviestLeft = 0;
                for (std::size_t i = 0; i < blockMass.size(); ++i) {
                    const int b = plan.visibleFirst + int(i);
                    if (std::binary_search(kept.begin(), kept.end(), b))
                        lightestKept = std::min(lightestKept, blockMass[i]);
                    else
                        heaviestLeft = std::max(heaviestLeft, blockMass[i]);
                }
                QVERIFY(lightestKept >= heaviestLeft);
                QVERIFY(sum <= 1.0 + 1e-6);
                if (static_cast<int>(blockMass.size()) <= kp) QVERIFY(std::abs(sum - 1.0) < 1e-6);
            }
        }
    }

    // Spec section 3: with bq = bk = 4 and K = 2 (S = 4, W = 8), a 400-token prompt keeps under
    // half of its causal (query, key) pairs.
    // The bound rule's sparse table: every range's envelope equals the brute-force channel-wise
    // min and max of its keys (the last block partial), and the bound is at least every dot
    // product of the query with a key inside.
    void envelopeTableMatchesBruteForce()
    {
        const int bk = 3, D = 5;
        Problem pr = randomProblem(2, 2, 41, D, test::streamParams(3, bk, 2, 3, 3), 7); // 14 blocks, last holds 2 keys
        for (int kvh = 0; kvh < 2; ++kvh) {
            const BlockEnvelopeTable table(pr.in, kvh, bk);
            QCOMPARE(table.blocks(), 14);
            QCOMPARE(table.levels(), 4); // 1, 2, 4, 8 blocks
            std::vector<double> lo(D), hi(D);
            for (int first = 0; first < 14; ++first) {
                for (int count = 1; first + count <= 14; ++count) {
                    table.envelope(first, count, lo, hi);
                    for (int d = 0; d < D; ++d) {
                        double mn = INFINITY, mx = -INFINITY;
                        for (std::int64_t t = first * bk; t < std::min<std::int64_t>((first + count) * bk, 41); ++t) {
                            const double x = pr.k[static_cast<std::size_t>((kvh * 41 + t) * D + d)];
                            mn = std::min(mn, x);
                            mx = std::max(mx, x);
                        }
                        QCOMPARE(lo[static_cast<std::size_t>(d)], mn);
                        QCOMPARE(hi[static_cast<std::size_t>(d)], mx);
                    }
                    const float* q0 = pr.q.data() + static_cast<std::size_t>(kvh * 41 * D); // head kvh, query 0
                    const double b = table.bound(q0, first, count);
                    for (std::int64_t t = first * bk; t < std::min<std::int64_t>((first + count) * bk, 41); ++t) {
                        double dotted = 0;
                        for (int d = 0; d < D; ++d)
                            dotted += double(q0[d]) * double(pr.k[static_cast<std::size_t>((kvh * 41 + t) * D + d)]);
                        QVERIFY(b >= dotted - 1e-12);
                    }
                }
            }
        }
        QVERIFY(errorOf([&] { BlockEnvelopeTable(pr.in, 0, bk).envelope(13, 2, {}, {}); }).contains("out of bounds"));
    }

    // A one-block node that passes a round unchanged keeps its score: the needle fixture's row
    // 11 (K = 2, 11 blocks) needs 4 + 4 + 2 scorings, not 4 + 4 + 3 (block 2, or block 8 for
    // centre, passes round 3 unchanged), for every rule. Masks stay what the fixtures say.
    void aPassingNodeKeepsItsScore_data()
    {
        QTest::addColumn<int>("rule");
        QTest::newRow("centre") << int(ScoreRule::Centre);
        QTest::newRow("first") << int(ScoreRule::First);
        QTest::newRow("bound") << int(ScoreRule::Bound);
    }
    void aPassingNodeKeepsItsScore()
    {
        QFETCH(int, rule);
        Problem pr;
        pr.params = test::streamParams(2, 2, 2, 0, 2, 1, ScoreRule(rule));
        pr.in.heads = pr.in.kvHeads = pr.in.headDim = 1;
        pr.in.keys = pr.in.queries = 24;
        pr.q.assign(24, 1.0f);
        for (int t = 0; t < 24; ++t) pr.k.push_back(0.1f * float(t / 2));
        pr.k[4] = 5.0f;
        pr.v = pr.k;
        pr.bind();
        SearchStats stats;
        const std::vector<int> searched = searchBlocks(pr.in, pr.params, 0, planRow(pr.in, pr.params, 11), nullptr, &stats);
        QCOMPARE(stats.rounds, std::int64_t(3));
        QCOMPARE(stats.childScores, std::int64_t(10));
        // first scores [2,5) by block 2, the needle's block; centre by block 3 and loses it.
        QCOMPARE(searched, ScoreRule(rule) == ScoreRule::Centre ? std::vector<int>({9, 10}) : std::vector<int>({2, 10}));
    }

    void sparsityOf400Tokens()
    {
        const StreamParams p = test::streamParams(4, 4, 2, 4, 8);
        Problem pr = randomProblem(2, 1, 400, 16, p, 11u);
        const StreamAttnResult res = streamAttentionReference(pr.in, p);
        TraceInfo info;
        info.params = p;
        info.promptTokens = 400;
        info.model.layers = 1;
        info.model.heads = 2;
        LayerView view{2, res.rows, res.kPrime, false, res.index, res.mass, {}, {}};
        for (int h = 0; h < 2; ++h) {
            const SparsitySummary s = headSparsity(info, 0, view, h);
            QCOMPARE(s.causalPairs, 400.0 * 401.0 / 2.0);
            qInfo("head %d: sparsity %.3f", h, s.sparsity());
            QVERIFY(s.sparsity() > 0.5);
        }
    }

    // A decode step is the same row as a one-query block of a prefill with bq = 1.
    void decodeStepIsASingleQueryRow()
    {
        const StreamParams p = test::streamParams(1, 4, 3, 4, 8);
        Problem prefill = randomProblem(4, 2, 60, 8, p, 23u);
        const StreamAttnResult all = streamAttentionReference(prefill.in, p);
        Problem step = prefill;
        step.in.queries = 1;
        step.in.queryOffset = 59;
        step.q.clear();
        for (int h = 0; h < 4; ++h)
            for (int d = 0; d < 8; ++d) step.q.push_back(prefill.q[static_cast<std::size_t>((h * 60 + 59) * 8 + d)]);
        step.bind();
        const StreamAttnResult one = streamAttentionReference(step.in, p);
        const int kp = p.kPrime();
        QCOMPARE(one.rows, std::int64_t(1));
        for (int h = 0; h < 4; ++h) {
            for (int s = 0; s < kp; ++s) {
                QCOMPARE(one.index[static_cast<std::size_t>(h * kp + s)], all.index[static_cast<std::size_t>((h * 60 + 59) * kp + s)]);
                QCOMPARE(one.mass[static_cast<std::size_t>(h * kp + s)], all.mass[static_cast<std::size_t>((h * 60 + 59) * kp + s)]);
            }
            for (int d = 0; d < 8; ++d)
                QCOMPARE(one.output[static_cast<std::size_t>(h * 8 + d)], all.output[static_cast<std::size_t>((h * 60 + 59) * 8 + d)]);
        }
        // The tracer's layout: prompt rows then one row per generated token, per head.
        LayerRecord layer;
        appendRows(layer, 4, 0, all);
        appendRows(layer, 4, all.rows, one);
        QCOMPARE(layer.index.size(), static_cast<std::size_t>(4 * 61 * kp));
        for (int h = 0; h < 4; ++h)
            for (int s = 0; s < kp; ++s)
                QCOMPARE(layer.index[static_cast<std::size_t>((h * 61 + 60) * kp + s)], one.index[static_cast<std::size_t>(h * kp + s)]);
        QVERIFY(errorOf([&] { appendRows(layer, 4, 5, one); }).contains("rows said to be in it"));
    }

    void badInputGivesOneClearMessage()
    {
        const StreamParams p = test::streamParams(4, 4, 2, 4, 8);
        Problem pr = randomProblem(4, 2, 20, 8, p, 1u);
        Problem bad = pr;
        bad.in.kvHeads = 3;
        QVERIFY(errorOf([&] { estimateMask(bad.in, p); }).contains("multiple of kv heads"));
        bad = pr;
        bad.q.pop_back();
        bad.bind();
        QVERIFY(errorOf([&] { estimateMask(bad.in, p); }).contains("q must hold [H, Tq, D]"));
        bad = pr;
        bad.in.queryOffset = 1;
        QVERIFY(errorOf([&] { streamAttentionReference(bad.in, p); }).contains("need their keys"));
        bad = pr;
        bad.in.scale = 0;
        QVERIFY(errorOf([&] { denseAttention(bad.in, p); }).contains("scale"));
        StreamParams badParams = p;
        badParams.sinks = 3;
        QVERIFY(errorOf([&] { estimateMask(pr.in, badParams); }).contains("sinks"));
        std::vector<std::int32_t> index = estimateMask(pr.in, p);
        index[1] = 99;
        QVERIFY(errorOf([&] { attendWithMask(pr.in, p, index); }).contains("past the last key block"));
        index.pop_back();
        QVERIFY(errorOf([&] { measureFidelity(pr.in, p, index); }).contains("[H, R, K']"));
    }
};

QTEST_GUILESS_MAIN(TstStreamAttn)
#include "tst_stream_attn.moc"
