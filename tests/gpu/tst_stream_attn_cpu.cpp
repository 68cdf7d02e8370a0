// The CPU backend of Stream-Attn (gpu/src/stream_attn/cpu, Eigen) against the core reference, the
// specification: hand-worked index sets (tests/fixtures/stream_attn) under all three score rules,
// random problems of many shapes (masks, masses, outputs, dense layers, fidelity), determinism
// across runs and thread counts, and bad input. Mask rows may differ from the reference only where
// the reference's own scores (or dense masses) at the top-K cut are within 1e-5 relative: a
// float32 near-tie; such rows are listed.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/stream_attn_cpu.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/stream_attn.h"

#include "shared_assets.h"
#include "stream_attn_problem.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

using namespace sparsetrace;
using core::AttentionInputs;
using core::ScoreRule;
using core::StreamParams;

namespace {

// Ties are "near" when the competing values differ by less than this, relative (the contract).
constexpr double kNearTie = 1e-5;
// Masses and captured mass: the contract's 1e-5. Outputs: float32 products of D terms against
// float64, atol 1e-5 + rtol 2e-4 as the CUDA kernels' test argues.
constexpr double kMassTol = 1e-5, kOutAtol = 1e-5, kOutRtol = 2e-4;

using Problem = test::StreamAttnProblem;

struct Shape {
    int heads = 1, kvHeads = 1, headDim = 8;
    std::int64_t keys = 1, queries = -1; // -1: a prefill of all keys (else queries end at the last key)
    int slidingWindow = 0;
};

void makeProblem(Problem& pr, const Shape& s, const StreamParams& p, unsigned seed)
{
    pr.params = p;
    pr.in.heads = s.heads;
    pr.in.kvHeads = s.kvHeads;
    pr.in.keys = s.keys;
    pr.in.queries = s.queries < 0 ? s.keys : s.queries;
    pr.in.queryOffset = s.keys - pr.in.queries;
    pr.in.headDim = s.headDim;
    pr.in.scale = 1.0 / std::sqrt(static_cast<double>(s.headDim));
    pr.in.slidingWindow = s.slidingWindow;
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    pr.q.resize(static_cast<std::size_t>(s.heads * pr.in.queries * s.headDim));
    pr.k.resize(static_cast<std::size_t>(s.kvHeads * s.keys * s.headDim));
    pr.v.resize(pr.k.size());
    // Scaled by 2: sharper softmaxes than unit Gaussians give, as trained models have.
    for (float& x : pr.q)
        x = 2 * normal(rng);
    for (float& x : pr.k)
        x = normal(rng);
    for (float& x : pr.v)
        x = normal(rng);
    pr.bind();
}

double dot(const float* a, const float* b, int n)
{
    double s = 0;
    for (int d = 0; d < n; ++d)
        s += double(a[d]) * double(b[d]);
    return s;
}

bool nearTie(double a, double b)
{
    if (!std::isfinite(a) || !std::isfinite(b)) return false;
    return std::abs(a - b) <= kNearTie * std::max({std::abs(a), std::abs(b), 1e-30});
}

// The reference's child score in float64, computed here from the spec's formulas (the
// representative block's best visible dot product; the bound through the reference's table).
double childScore(const AttentionInputs& in, const StreamParams& p, int head, const std::vector<std::int64_t>& js,
                  int start, int length, const core::BlockEnvelopeTable& table)
{
    const int D = in.headDim;
    double best = -INFINITY;
    if (p.score == ScoreRule::Bound) {
        for (std::int64_t j : js)
            best =
                std::max(best, table.bound(in.q.data() + (head * in.queries + j - in.queryOffset) * D, start, length));
        return best;
    }
    const int rep = p.score == ScoreRule::Centre ? start + length / 2 : start;
    const int kvh = head / (in.heads / in.kvHeads);
    for (std::int64_t j : js)
        for (std::int64_t t = std::int64_t(rep) * p.bk;
             t < std::min<std::int64_t>(std::int64_t(rep + 1) * p.bk, in.keys); ++t)
            if (t <= j && (in.slidingWindow <= 0 || t > j - in.slidingWindow))
                best = std::max(best, dot(in.q.data() + (head * in.queries + j - in.queryOffset) * D,
                                          in.k.data() + (kvh * in.keys + t) * D, D));
    return best;
}

// Replays the reference's search of one (head, row) in float64 and says whether some round's cut
// (the K-th against the (K+1)-th best child) is a near-tie: only there may float32 choose otherwise.
bool searchHasNearTie(const AttentionInputs& in, const StreamParams& p, int head, std::int64_t row)
{
    const core::RowPlan plan = core::planRow(in, p, row);
    const int n = plan.rangeEnd - plan.rangeFirst;
    if (n <= p.k) return false;
    const core::BlockEnvelopeTable table(in, head / (in.heads / in.kvHeads), p.bk);
    const std::vector<std::int64_t> js = core::scoringQueries(plan, p);
    struct Node {
        int start, length;
        double score;
        bool scored;
    };
    std::vector<Node> nodes;
    for (int i = 0; i < p.k; ++i) {
        const int a = plan.rangeFirst + int(std::int64_t(n) * i / p.k),
                  b = plan.rangeFirst + int(std::int64_t(n) * (i + 1) / p.k);
        nodes.push_back({a, b - a, 0, false});
    }
    bool tie = false;
    while (std::any_of(nodes.begin(), nodes.end(), [](const Node& x) { return x.length > 1; })) {
        std::vector<Node> children;
        for (const Node& x : nodes) {
            const int half = x.length / 2;
            if (half > 0) children.push_back({x.start, half, 0, false});
            children.push_back({x.start + half, x.length - half, x.score, half == 0 && x.scored});
        }
        for (Node& c : children)
            if (!c.scored) c = {c.start, c.length, childScore(in, p, head, js, c.start, c.length, table), true};
        std::vector<std::size_t> order(children.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            if (children[a].score != children[b].score) return children[a].score > children[b].score;
            return children[a].start < children[b].start;
        });
        if (order.size() > std::size_t(p.k))
            tie = tie || nearTie(children[order[std::size_t(p.k) - 1]].score, children[order[std::size_t(p.k)]].score);
        order.resize(std::size_t(p.k));
        std::sort(order.begin(), order.end());
        std::vector<Node> kept;
        for (std::size_t c : order)
            kept.push_back(children[c]);
        nodes = kept;
    }
    return tie;
}

// Whether the top-`count` cut of the reference's dense block masses of (head, row) is a near-tie.
bool massCutHasNearTie(const AttentionInputs& in, const StreamParams& p, int head, std::int64_t row, int count)
{
    const core::RowPlan plan = core::planRow(in, p, row);
    std::vector<double> mass = core::denseBlockMass(in, head, plan, p.bk);
    if (static_cast<int>(mass.size()) <= count || count <= 0) return false;
    std::sort(mass.begin(), mass.end(), std::greater<>());
    return nearTie(mass[std::size_t(count) - 1], mass[std::size_t(count)]);
}

// Rows of width `width` that differ between a and b.
std::vector<std::int64_t> differingRows(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b,
                                        int width)
{
    std::vector<std::int64_t> rows;
    for (std::size_t at = 0; at < a.size(); at += std::size_t(width))
        if (!std::equal(a.begin() + std::ptrdiff_t(at), a.begin() + std::ptrdiff_t(at) + width,
                        b.begin() + std::ptrdiff_t(at)))
            rows.push_back(std::int64_t(at) / width);
    return rows;
}

double worstMassDiff(const std::vector<float>& a, const std::vector<float>& b)
{
    double w = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        w = std::max(w, std::abs(double(a[i]) - double(b[i])));
    return w;
}

// Largest |got - want| - (atol + rtol |want|); <= 0 within tolerance.
double outputExcess(const std::vector<float>& got, const std::vector<float>& want)
{
    double worst = -1;
    for (std::size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::abs(double(got[i]) - double(want[i])) -
                                    (kOutAtol + kOutRtol * std::abs(double(want[i]))));
    return worst;
}

QString rowsText(const std::vector<std::int64_t>& rows)
{
    QStringList s;
    for (std::int64_t r : rows)
        s << QString::number(r);
    return s.join(QLatin1Char(' '));
}

// Largest mass difference over the rows whose indices agree (rows of width `width`).
double worstMassDiffOnEqualRows(const std::vector<std::int32_t>& ia, const std::vector<float>& a,
                                const std::vector<std::int32_t>& ib, const std::vector<float>& b, int width)
{
    const std::vector<std::int64_t> differ = differingRows(ia, ib, width);
    double w = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!std::binary_search(differ.begin(), differ.end(), std::int64_t(i) / width))
            w = std::max(w, std::abs(double(a[i]) - double(b[i])));
    return w;
}

} // namespace

Q_DECLARE_METATYPE(StreamParams)

class TstStreamAttnCpu : public QObject {
    Q_OBJECT

    // Index rows compared over the whole run, and those that differed (all near-ties).
    std::int64_t m_rowsCompared = 0, m_rowsDiffering = 0;

    // Compares the backend's mask with the reference's: each differing row must be a near-tie.
    void compareMasks(const Problem& pr, const std::vector<std::int32_t>& got, const std::vector<std::int32_t>& want,
                      const QString& what)
    {
        const int kp = pr.params.kPrime();
        const std::int64_t R = pr.in.rows(pr.params);
        const std::vector<std::int64_t> differ = differingRows(got, want, kp);
        m_rowsCompared += std::int64_t(want.size()) / kp;
        m_rowsDiffering += std::int64_t(differ.size());
        for (std::int64_t hr : differ)
            QVERIFY2(searchHasNearTie(pr.in, pr.params, int(hr / R), hr % R),
                     qPrintable(what + QStringLiteral(": head %1 row %2 differs from the reference without a near-tie")
                                           .arg(hr / R)
                                           .arg(hr % R)));
        if (!differ.empty())
            qInfo("%s: near-tie rows (head*R + row): %s", qPrintable(what), qPrintable(rowsText(differ)));
    }

private slots:
    void initTestCase() { qInfo("vector kernels: %s", gpu::cpu::simdName()); }

    void handWorkedIndexSets_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("rule");
        std::vector<std::string> paths;
        for (const auto& e : std::filesystem::directory_iterator(test::fixturesDir() / "stream_attn"))
            if (e.path().extension() == ".json") paths.push_back(e.path().string());
        std::sort(paths.begin(), paths.end());
        QVERIFY(paths.size() >= 5);
        for (const auto& path : paths)
            for (int rule : {-1, int(ScoreRule::Centre), int(ScoreRule::First), int(ScoreRule::Bound)}) {
                const std::string name =
                    std::filesystem::path(path).stem().string() + " " +
                    (rule < 0 ? std::string("as written") : std::string(core::scoreRuleName(ScoreRule(rule))));
                QTest::newRow(name.c_str()) << QString::fromStdString(path) << rule;
            }
    }
    // rule -1: the fixture's own rule against its hand-worked rows; else every rule against the reference.
    void handWorkedIndexSets()
    {
        QFETCH(QString, path);
        QFETCH(int, rule);
        std::ifstream f(path.toStdString());
        const nlohmann::json j = nlohmann::json::parse(f);
        Problem pr = test::fixtureProblem(j);
        if (rule >= 0) pr.params.score = ScoreRule(rule);
        const std::vector<std::int32_t> index = gpu::cpu::estimateMask(pr.in, pr.params);
        const int kp = pr.params.kPrime();
        const std::int64_t R = pr.in.rows(pr.params);
        if (rule < 0) {
            for (const auto& e : j.at("expected")) {
                const int h = e.at("head"), r = e.at("row");
                const auto want = e.at("index").get<std::vector<std::int32_t>>();
                const std::vector<std::int32_t> got(index.begin() + (h * R + r) * kp,
                                                    index.begin() + (h * R + r + 1) * kp);
                QVERIFY2(got == want, qPrintable(QStringLiteral("head %1 row %2: got %3")
                                                     .arg(h)
                                                     .arg(r)
                                                     .arg(QString::fromStdString(nlohmann::json(got).dump()))));
            }
        }
        // Fixtures are small integers: float32 is exact there, so every row equals the reference's.
        QCOMPARE(index, core::estimateMask(pr.in, pr.params));
        const core::StreamAttnResult got = gpu::cpu::streamAttention(pr.in, pr.params);
        const core::StreamAttnResult want = core::attendWithMask(pr.in, pr.params, index);
        QCOMPARE(got.index, index);
        QVERIFY2(worstMassDiff(got.mass, want.mass) <= kMassTol, "masses as the reference's");
        QVERIFY2(outputExcess(got.output, want.output) <= 0, "outputs as the reference's");
    }

    void againstReference_data()
    {
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("kvHeads");
        QTest::addColumn<int>("keys");
        QTest::addColumn<int>("queries"); // -1: a prefill; else the last `queries` positions
        QTest::addColumn<int>("headDim");
        QTest::addColumn<int>("slidingWindow");
        QTest::addColumn<StreamParams>("params");
        struct Row {
            const char* name;
            int heads, kvHeads, keys, queries, headDim, slidingWindow;
            int bq, bk, k, sinks, window, stride;
        };
        const Row rows[] = {
            // clang-format off
            // name                                  H  Hkv      T    Tq    D    sw   bq   bk    K    S    W  sq
            {"T=1",                                  1,   1,     1,   -1,   8,    0,  16,  16,   4,  16,  32,  1},
            {"T=37 (not a multiple of bq), gqa 2",   4,   2,    37,   -1,   8,    0,   8,   8,   2,   8,  16,  1},
            {"gqa 1, T=300",                         3,   3,   300,   -1,  16,    0,  16,  16,   4,  16,  32,  1},
            {"D=12 (padded), bk=24",                 2,   1,   300,   -1,  12,    0,  16,  24,   4,  24,  48,  1},
            {"gqa 2, T=517, bq != bk",               4,   2,   517,   -1,  32,    0,  32,  16,   5,  32,  64,  1},
            {"gqa 6, T=400",                         6,   1,   400,   -1,  32,    0,   8,   8,   6,   8,  16,  1},
            {"bq=64 bk=16: keys after a query",      2,   1,   400,   -1,  16,    0,  64,  16,   4,  16,  16,  1},
            {"stride 2",                             6,   2,   500,   -1,  32,    0,  16,  16,   4,  16,  32,  2},
            {"stride 3, T=301",                      2,   1,   301,   -1,  16,    0,  16,  16,   3,  16,  32,  3},
            {"sliding window 200",                   4,   2,   600,   -1,  32,  200,  16,  16,   4,  16,  32,  1},
            {"sliding window 50, bq=32 bk=8",        2,   2,   300,   -1,  16,   50,  32,   8,   3,   8,   8,  1},
            {"decode step",                          4,   2,   777,    1,  32,    0,  16,  16,   6,  16,  32,  4},
            {"decode step, sliding window",          4,   2,   777,    1,  32,  256,  16,  16,   6,  16,  32,  1},
            {"chunk of 100 queries at 333",          2,   1,   433,  100,  32,    0,  16,  16,   4,  16,  32,  1},
            {"defaults, T=2000",                     2,   1,  2000,   -1,  32,    0,  32,  32,  16,  32,  64,  1},
            // clang-format on
        };
        for (const Row& r : rows)
            for (ScoreRule rule : {ScoreRule::Centre, ScoreRule::First, ScoreRule::Bound}) {
                const std::string name = std::string(r.name) + ", " + std::string(core::scoreRuleName(rule));
                QTest::newRow(name.c_str())
                    << r.heads << r.kvHeads << r.keys << r.queries << r.headDim << r.slidingWindow
                    << test::streamParams(r.bq, r.bk, r.k, r.sinks, r.window, r.stride, rule);
            }
    }
    // Random problems: mask, sparse attention, fidelity and a dense layer against the reference.
    void againstReference()
    {
        QFETCH(int, heads);
        QFETCH(int, kvHeads);
        QFETCH(int, keys);
        QFETCH(int, queries);
        QFETCH(int, headDim);
        QFETCH(int, slidingWindow);
        QFETCH(StreamParams, params);
        Problem pr;
        makeProblem(pr, {heads, kvHeads, headDim, keys, queries, slidingWindow}, params, 7u + unsigned(keys));
        const QString what = QString::fromLatin1(QTest::currentDataTag());
        const int kp = params.kPrime();

        // Mask.
        const std::vector<std::int32_t> want = core::estimateMask(pr.in, params);
        const core::StreamAttnResult got = gpu::cpu::streamAttention(pr.in, params);
        compareMasks(pr, got.index, want, what);
        QCOMPARE(got.index, gpu::cpu::estimateMask(pr.in, params));

        // Attention over one mask (the backend's), so that near-tie rows are compared too.
        const core::StreamAttnResult ref = core::attendWithMask(pr.in, params, got.index);
        QVERIFY2(worstMassDiff(got.mass, ref.mass) <= kMassTol,
                 qPrintable(QStringLiteral("mass off by %1").arg(worstMassDiff(got.mass, ref.mass))));
        QVERIFY2(outputExcess(got.output, ref.output) <= 0, "outputs as the reference's");
        for (std::size_t at = 0; at < got.mass.size(); at += std::size_t(kp)) { // rows of a sparse layer sum to 1
            const double sum =
                std::accumulate(got.mass.begin() + std::ptrdiff_t(at), got.mass.begin() + std::ptrdiff_t(at) + kp, 0.0);
            QVERIFY2(std::abs(sum - 1.0) < 1e-5, qPrintable(QStringLiteral("row mass sums to %1").arg(sum)));
        }

        // Fidelity of that mask.
        const core::FidelityResult fw = core::measureFidelity(pr.in, params, got.index);
        const core::FidelityResult fg = gpu::cpu::measureFidelity(pr.in, params, got.index);
        QVERIFY2(worstMassDiff(fg.captured, fw.captured) <= kMassTol, "captured mass as the reference's");
        const std::int64_t R = pr.in.rows(params);
        for (std::int64_t hr : differingRows(fg.oracleIndex, fw.oracleIndex, kp)) {
            const int count = int(std::count_if(got.index.begin() + hr * kp, got.index.begin() + (hr + 1) * kp,
                                                [](std::int32_t b) { return b >= 0; }));
            QVERIFY2(massCutHasNearTie(pr.in, params, int(hr / R), hr % R, count),
                     qPrintable(QStringLiteral("oracle row %1 differs without a near-tie").arg(hr)));
        }
        QVERIFY2(worstMassDiffOnEqualRows(fg.oracleIndex, fg.oracleMass, fw.oracleIndex, fw.oracleMass, kp) <= kMassTol,
                 "oracle masses as the reference's");

        // A dense layer.
        const core::StreamAttnResult dw = core::denseAttention(pr.in, params);
        const core::StreamAttnResult dg = gpu::cpu::denseAttention(pr.in, params);
        QVERIFY2(outputExcess(dg.output, dw.output) <= 0, "dense outputs as the reference's");
        const std::vector<std::int64_t> denseDiffer = differingRows(dg.index, dw.index, kp);
        for (std::int64_t hr : denseDiffer)
            QVERIFY2(massCutHasNearTie(pr.in, params, int(hr / R), hr % R, kp),
                     qPrintable(QStringLiteral("dense row %1 differs without a near-tie").arg(hr)));
        QVERIFY2(worstMassDiffOnEqualRows(dg.index, dg.mass, dw.index, dw.mass, kp) <= kMassTol,
                 "dense masses as the reference's");

        // Exact attention (the dense model's on the CPU) is the dense layer's output.
        QVERIFY2(outputExcess(gpu::cpu::exactAttention(pr.in), dw.output) <= 0, "exact attention as the reference's");
    }

    // Every index row compared above: at least 99.9% identical to the reference.
    void identicalRowsOverall()
    {
        QVERIFY(m_rowsCompared > 1000);
        qInfo("index rows compared: %lld, differing (near-ties): %lld", static_cast<long long>(m_rowsCompared),
              static_cast<long long>(m_rowsDiffering));
        QVERIFY(double(m_rowsDiffering) <= 0.001 * double(m_rowsCompared));
    }

    void deterministicAcrossRunsAndThreads_data()
    {
        QTest::addColumn<int>("rule");
        QTest::addColumn<int>("slidingWindow");
        QTest::newRow("centre") << int(ScoreRule::Centre) << 0;
        QTest::newRow("first, sliding window") << int(ScoreRule::First) << 150;
        QTest::newRow("bound") << int(ScoreRule::Bound) << 0;
    }
    void deterministicAcrossRunsAndThreads()
    {
        QFETCH(int, rule);
        QFETCH(int, slidingWindow);
        Problem pr;
        makeProblem(pr, {6, 2, 32, 700, -1, slidingWindow}, test::streamParams(16, 16, 6, 16, 32, 1, ScoreRule(rule)),
                    99);
        const core::StreamAttnResult a = gpu::cpu::streamAttention(pr.in, pr.params, 2);
        const core::FidelityResult fa = gpu::cpu::measureFidelity(pr.in, pr.params, a.index, 2);
        const core::StreamAttnResult da = gpu::cpu::denseAttention(pr.in, pr.params, 2);
        for (int threads : {2, 1, 3, 6, 8}) {
            const core::StreamAttnResult b = gpu::cpu::streamAttention(pr.in, pr.params, threads);
            QCOMPARE(b.index, a.index);
            QCOMPARE(b.mass, a.mass);
            QCOMPARE(b.output, a.output);
            const core::FidelityResult fb = gpu::cpu::measureFidelity(pr.in, pr.params, b.index, threads);
            QCOMPARE(fb.captured, fa.captured);
            QCOMPARE(fb.oracleIndex, fa.oracleIndex);
            QCOMPARE(fb.oracleMass, fa.oracleMass);
            const core::StreamAttnResult db = gpu::cpu::denseAttention(pr.in, pr.params, threads);
            QCOMPARE(db.index, da.index);
            QCOMPARE(db.mass, da.mass);
            QCOMPARE(db.output, da.output);
        }
    }

    // The bound rule keeps the block of a planted key (a needle) in a long range, as the reference.
    void boundFindsAPlantedKey()
    {
        Problem pr;
        makeProblem(pr, {1, 1, 16, 1024, -1, 0}, test::streamParams(32, 32, 2, 32, 32, 1, ScoreRule::Bound), 5);
        // Key 18 * 32 + 3 points along the last row's queries.
        const std::int64_t needle = 18 * 32 + 3, lastRow = 1024 / 32 - 1;
        for (int d = 0; d < 16; ++d) {
            float sum = 0;
            for (std::int64_t i = lastRow * 32; i < 1024; ++i)
                sum += pr.q[std::size_t(i * 16 + d)];
            pr.k[std::size_t(needle * 16 + d)] = sum;
        }
        const int kp = pr.params.kPrime();
        const auto rowOf = [&](const std::vector<std::int32_t>& index) {
            return std::vector<std::int32_t>(index.begin() + lastRow * kp, index.begin() + (lastRow + 1) * kp);
        };
        const std::vector<std::int32_t> bound = rowOf(gpu::cpu::estimateMask(pr.in, pr.params));
        QVERIFY(std::find(bound.begin(), bound.end(), 18) != bound.end());
        QCOMPARE(bound, rowOf(core::estimateMask(pr.in, pr.params)));
    }

    void badInputGivesTheReferenceMessage()
    {
        Problem pr;
        makeProblem(pr, {2, 1, 8, 100, -1, 0}, test::streamParams(16, 16, 2, 16, 32, 1, ScoreRule::Centre), 3);
        std::vector<std::int32_t> index = core::estimateMask(pr.in, pr.params);
        const auto messageOf = [](auto&& f) {
            try {
                f();
            } catch (const ArgumentError& e) {
                return std::string(e.what());
            }
            return std::string("(no ArgumentError)");
        };
        index[0] = 99; // past the last key block
        const std::string want = messageOf([&] { core::attendWithMask(pr.in, pr.params, index); });
        QVERIFY(want.find("past the last key block") != std::string::npos);
        QCOMPARE(messageOf([&] { gpu::cpu::attendWithMask(pr.in, pr.params, index); }), want);
        QCOMPARE(messageOf([&] { gpu::cpu::measureFidelity(pr.in, pr.params, index); }), want);
        index.pop_back();
        QVERIFY(messageOf([&] { gpu::cpu::attendWithMask(pr.in, pr.params, index); }).find("[H, R, K']") !=
                std::string::npos);
        pr.in.kvHeads = 3; // 2 query heads over 3 KV heads
        QCOMPARE(messageOf([&] { gpu::cpu::estimateMask(pr.in, pr.params); }),
                 messageOf([&] { core::estimateMask(pr.in, pr.params); }));
    }
};

QTEST_GUILESS_MAIN(TstStreamAttnCpu)
#include "tst_stream_attn_cpu.moc"
