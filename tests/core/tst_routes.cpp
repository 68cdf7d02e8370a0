// Routes (spec section 8): a planted needle-to-output chain is exactly the route, residual
// steps join attention steps, the strongest paths rank by the product of attention masses with
// ties to the lower edges (hand-worked), a removed edge is the critical difference of a failed
// trace (and lies on the strongest path), and bad requests give clear errors.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "route_synthetic.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/routes.h"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {
constexpr double kTau = 0.6; // above the uniform mass 1/2 of two-block rows, below the planted 0.9
RouteEdge attention(int l, int h, std::int64_t from, std::int64_t to, float mass = 0.9f)
{
    return {l, h, from, to, static_cast<std::int32_t>(from), mass};
}
RouteEdge residual(int l, std::int64_t r) { return {l, -1, r, r, -1, 1.0f}; }
RouteEdge edge(int l, int h, std::int64_t from, std::int64_t to, float mass) { return {l, h, from, to, static_cast<std::int32_t>(from), mass}; }

// A route written by hand: needle rows 2 and 3, answer row 15, three layers.
//   layer 0: h0 2->5 (0.9), h1 3->5 (0.8), h1 2->7 (0.6), residual 2->2
//   layer 1: h0 5->9 (0.5), h1 7->9 (0.9), h0 2->9 (0.4), residual 5->5
//   layer 2: h0 9->15 (1.0), h1 5->15 (0.6)
// Paths and products (residual steps count 1):
//   A 2-5-5-15  0.9 * 0.6       = 0.54    B 2-7-9-15  0.6 * 0.9 * 1.0 = 0.54 (ties A; A's layer-0 head 0 < 1)
//   E 3-5-5-15  0.8 * 0.6       = 0.48    F 2-5-9-15  0.9 * 0.5 * 1.0 = 0.45
//   D 2-2-9-15  0.4 * 1.0       = 0.40    C 3-5-9-15  0.8 * 0.5 * 1.0 = 0.40 (ties D; D's residual first)
Route handRoute()
{
    Route r;
    r.layers = 3;
    r.sourceRows = {2, 3};
    r.targetRow = 15;
    r.edges = {edge(0, 0, 2, 5, 0.9f), edge(0, 1, 3, 5, 0.8f), edge(0, 1, 2, 7, 0.6f), residual(0, 2),
               edge(1, 0, 5, 9, 0.5f), edge(1, 1, 7, 9, 0.9f), edge(1, 0, 2, 9, 0.4f), residual(1, 5),
               edge(2, 0, 9, 15, 1.0f), edge(2, 1, 5, 15, 0.6f)};
    std::sort(r.edges.begin(), r.edges.end());
    return r;
}

// Needle in row 2; layer 0 head 0 moves it to row 5, layer 1 head 1 to row 9, layer 2 head 0
// to the last prompt row 15.
SyntheticTraceSpec chainSpec()
{
    auto spec = test::routeSpec();
    spec.planted = {{0, 0, 5, 2, 0.9f}, {1, 1, 9, 5, 0.9f}, {2, 0, 15, 9, 0.9f}};
    return spec;
}
} // namespace

class TstRoutes : public QObject {
    Q_OBJECT

private slots:
    void plantedChainIsTheRoute()
    {
        auto trace = test::makeRouteTrace(chainSpec(), 16, 24);
        RouteOptions o;
        o.tau = kTau;
        const Route r = extractRoute(*trace, o);
        QCOMPARE(r.sourceRows, (std::vector<std::int64_t>{2}));
        QCOMPARE(r.targetRow, std::int64_t(15));
        const std::vector<RouteEdge> expected = {attention(0, 0, 2, 5), attention(1, 1, 5, 9), attention(2, 0, 9, 15)};
        QCOMPARE(r.edges.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QCOMPARE(r.edges[i].layer, expected[i].layer);
            QCOMPARE(r.edges[i].head, expected[i].head);
            QCOMPARE(r.edges[i].from, expected[i].from);
            QCOMPARE(r.edges[i].to, expected[i].to);
            QCOMPARE(r.edges[i].keyBlock, expected[i].keyBlock);
            QCOMPARE(r.edges[i].mass, 0.9f);
        }
    }

    void residualStepsJoinTheRoute()
    {
        auto spec = test::routeSpec();
        spec.planted = {{0, 0, 5, 2, 0.9f}, {2, 1, 15, 5, 0.9f}}; // layer 1 only carries row 5 forward
        auto trace = test::makeRouteTrace(spec, 16, 24);
        RouteOptions o;
        o.tau = kTau;
        const Route r = extractRoute(*trace, o);
        const std::vector<RouteEdge> expected = {attention(0, 0, 2, 5), residual(1, 5), attention(2, 1, 5, 15)};
        QCOMPARE(r.edges.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QCOMPARE(r.edges[i].layer, expected[i].layer);
            QCOMPARE(r.edges[i].head, expected[i].head);
            QCOMPARE(r.edges[i].from, expected[i].from);
            QCOMPARE(r.edges[i].to, expected[i].to);
        }
        QVERIFY(r.edges[1].residual());
    }

    void noRouteAboveAllMasses()
    {
        auto trace = test::makeRouteTrace(chainSpec(), 16, 24);
        RouteOptions o;
        o.tau = 0.95;
        QVERIFY(!extractRoute(*trace, o).connected());
        // A needle in the target row reaches it through residual edges alone.
        o.sourceRows = {15};
        const Route self = extractRoute(*trace, o);
        QCOMPARE(self.edges.size(), std::size_t(3));
        for (const auto& e : self.edges) QVERIFY(e.residual());
    }

    void strongestPathsRankByProductWithTiesToLowerEdges()
    {
        const Route r = handRoute();
        const std::vector<RoutePath> paths = strongestPaths(r, 5);
        const std::vector<std::vector<std::int64_t>> rows = {{2, 5, 5, 15}, {2, 7, 9, 15}, {3, 5, 5, 15}, {2, 5, 9, 15}, {2, 2, 9, 15}};
        const std::vector<double> products = {0.54, 0.54, 0.48, 0.45, 0.40};
        QCOMPARE(paths.size(), rows.size());
        for (std::size_t i = 0; i < paths.size(); ++i) {
            QCOMPARE(paths[i].rows(), rows[i]);
            QVERIFY2(std::abs(paths[i].product - products[i]) < 1e-6, qPrintable(QString::number(paths[i].product)));
            QCOMPARE(paths[i].edges.size(), std::size_t(3));
            for (int l = 0; l < 3; ++l) QCOMPARE(paths[i].edges[static_cast<std::size_t>(l)].layer, l);
        }
        // A: head 0 at layer 0, a residual step, head 1 at layer 2; its product leaves the residual out.
        QCOMPARE(paths[0].edges[0].head, 0);
        QVERIFY(paths[0].edges[1].residual());
        QCOMPARE(paths[0].edges[2].head, 1);
        QCOMPARE(paths[0].attentionEdges().size(), std::size_t(2));
        // The ties are exact in floating point (same factors), decided by the edges alone.
        QCOMPARE(paths[0].product, paths[1].product);
        QCOMPARE(paths[4].attentionEdges().front().head, 0);
        QCOMPARE(paths[4].attentionEdges().front().from, std::int64_t(2)); // D, not C (3-5-9-15)
        // Fewer paths: the same head of the list; none asked, none given.
        const auto two = strongestPaths(r, 2);
        QCOMPARE(two.size(), std::size_t(2));
        QCOMPARE(two[1].rows(), rows[1]);
        QCOMPARE(strongestPaths(r, 1).front().rows(), rows[0]);
        QVERIFY(strongestPaths(r, 0).empty());
        // All six paths when asked for more: C comes last.
        const auto all = strongestPaths(r, 10);
        QCOMPARE(all.size(), std::size_t(6));
        QCOMPARE(all[5].rows(), (std::vector<std::int64_t>{3, 5, 9, 15}));
        // No edge into the answer row: no path.
        Route cut = r;
        std::erase_if(cut.edges, [](const RouteEdge& e) { return e.layer == 2; });
        QVERIFY(strongestPaths(cut, 5).empty());
    }

    void plantedChainIsTheStrongestPath()
    {
        auto spec = chainSpec();
        // A second, weaker way from row 5 to the answer: layer 1 keeps row 5, layer 2 head 1
        // moves it to row 15 with 0.7 (product 0.63 against the chain's 0.729).
        spec.planted.push_back({2, 1, 15, 5, 0.7f});
        auto trace = test::makeRouteTrace(spec, 16, 24);
        RouteOptions o;
        o.tau = kTau;
        const Route r = extractRoute(*trace, o);
        QCOMPARE(r.paths.size(), std::size_t(2));
        QCOMPARE(r.paths[0].rows(), (std::vector<std::int64_t>{2, 5, 9, 15}));
        QVERIFY(std::abs(r.paths[0].product - 0.9 * 0.9 * 0.9) < 1e-6);
        QCOMPARE(r.paths[1].rows(), (std::vector<std::int64_t>{2, 5, 5, 15}));
        QVERIFY(r.paths[1].edges[1].residual());
        QVERIFY(std::abs(r.paths[1].product - 0.9 * 0.7) < 1e-6);
        for (const auto& p : r.paths) {
            QCOMPARE(p.rows().front(), std::int64_t(2));
            QCOMPARE(p.rows().back(), std::int64_t(15));
            for (const auto& e : p.edges) QVERIFY(std::binary_search(r.edges.begin(), r.edges.end(), e)); // on the route
        }
        o.paths = 1;
        QCOMPARE(extractRoute(*trace, o).paths.size(), std::size_t(1));
        o.tau = 0.95; // nothing above tau: no path
        QVERIFY(extractRoute(*trace, o).paths.empty());
    }

    void removedEdgeIsTheDifference()
    {
        auto success = test::makeRouteTrace(chainSpec(), 16, 24);
        auto failedSpec = chainSpec();
        failedSpec.planted.erase(failedSpec.planted.begin() + 1); // layer 1 no longer moves row 5 to row 9
        auto failed = test::makeRouteTrace(failedSpec, 16, 24);
        RouteOptions o;
        o.tau = kTau;
        const RouteComparison c = compareRoutes(*success, *failed, o);
        QCOMPARE(c.success.edges.size(), std::size_t(3));
        QVERIFY(!c.failure.connected());
        QCOMPARE(c.critical.size(), std::size_t(1));
        QCOMPARE(c.critical[0].layer, 1);
        QCOMPARE(c.critical[0].head, 1);
        QCOMPARE(c.critical[0].from, std::int64_t(5));
        QCOMPARE(c.critical[0].to, std::int64_t(9));
        QVERIFY(c.failureOnly.empty());
        QCOMPARE(c.success.paths.size(), std::size_t(1));
        QCOMPARE(c.criticalOnPaths.size(), std::size_t(1));
        QCOMPARE(c.criticalOnPaths[0], c.critical[0]);
        // The same trace twice: nothing is critical.
        QVERIFY(compareRoutes(*success, *success, o).critical.empty());
    }

    void rowsOfTokensCoverBlocksAndGeneratedTokens()
    {
        auto trace = test::makeRouteTrace(test::routeSpec(100, 3), 10, 20);
        const TraceInfo& info = trace->info();
        QCOMPARE(rowsOfTokens(info, 10, 20), (std::vector<std::int64_t>{1, 2}));
        QCOMPARE(rowsOfTokens(info, 96, 103), (std::vector<std::int64_t>{12, 13, 14, 15})); // block 12, then G rows
        QCOMPARE(needleRows(info), (std::vector<std::int64_t>{1, 2}));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, rowsOfTokens(info, 0, 104));
        // Generated rows are nodes too: the answer row can be a generated token.
        RouteOptions o;
        o.tau = 0.0;
        o.sourceRows = {12}; // the last prompt block, inside the generated token's window
        o.targetRow = 15;
        QVERIFY(extractRoute(*trace, o).connected());
        // Causality: block 12 holds prompt tokens 96-99 and generated tokens 100-102, and the
        // last prompt row 12 keeps it (its window), yet it never reads the generated rows.
        o.sourceRows = {14}; // generated token 101
        o.targetRow = 12;
        QVERIFY(!extractRoute(*trace, o).connected());
        o.sourceRows = {13}; // generated token 100 reaches generated token 102, not back
        o.targetRow = 15;
        const Route forward = extractRoute(*trace, o);
        QVERIFY(forward.connected());
        for (const auto& e : forward.edges) QVERIFY(e.from <= e.to);
    }

    void badRequests()
    {
        auto trace = test::makeRouteTrace(chainSpec(), 16, 24);
        RouteOptions o;
        o.tau = 1.5;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, extractRoute(*trace, o));
        o.tau = 0.5;
        o.paths = -1;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, extractRoute(*trace, o));
        o.paths = 5;
        o.targetRow = 99;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, extractRoute(*trace, o));
        o.targetRow.reset();
        o.sourceRows = {-1};
        QVERIFY_THROWS_EXCEPTION(ArgumentError, extractRoute(*trace, o));
        auto plain = makeSyntheticTrace(test::routeSpec());
        QVERIFY_THROWS_EXCEPTION(ArgumentError, extractRoute(*plain, RouteOptions{}));
        auto shorter = test::makeRouteTrace(test::routeSpec(120), 16, 24);
        QVERIFY_THROWS_EXCEPTION(ArgumentError, compareRoutes(*trace, *shorter, RouteOptions{}));
    }
};

QTEST_GUILESS_MAIN(TstRoutes)
#include "tst_routes.moc"
