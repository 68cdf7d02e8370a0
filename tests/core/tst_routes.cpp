// Routes (spec section 8): a planted needle-to-output chain is exactly the route, residual
// steps join attention steps, a removed edge is the critical difference of a failed trace, and
// bad requests give clear errors.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "route_synthetic.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/routes.h"

#include <QtTest>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {
constexpr double kTau = 0.6; // above the uniform mass 1/2 of two-block rows, below the planted 0.9
RouteEdge attention(int l, int h, std::int64_t from, std::int64_t to, float mass = 0.9f)
{
    return {l, h, from, to, static_cast<std::int32_t>(from), mass};
}
RouteEdge residual(int l, std::int64_t r) { return {l, -1, r, r, -1, 1.0f}; }

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
    }

    void badRequests()
    {
        auto trace = test::makeRouteTrace(chainSpec(), 16, 24);
        RouteOptions o;
        o.tau = 1.5;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, extractRoute(*trace, o));
        o.tau = 0.5;
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
