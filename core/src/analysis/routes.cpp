// Needle-to-output routes over block masks (spec section 8): forward reachability from the
// needle rows intersected with backward reachability from the answer row, layer by layer.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/routes.h"

#include "sparsetrace/core/error.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace sparsetrace::core {

namespace {

std::int64_t totalTokens(const TraceInfo& info) { return info.promptTokens + info.generatedTokens; }

// Rows holding the keys of every key block. [ceil((T+G)/bk)] lists of rows
std::vector<std::vector<std::int64_t>> rowsOfKeyBlocks(const TraceInfo& info)
{
    const std::int64_t total = totalTokens(info);
    const int bk = info.params.bk;
    std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>((total + bk - 1) / bk));
    for (std::size_t j = 0; j < out.size(); ++j) {
        const std::int64_t s = static_cast<std::int64_t>(j) * bk;
        out[j] = rowsOfTokens(info, s, std::min<std::int64_t>(s + bk, total));
    }
    return out;
}

using Rows = std::vector<char>; // [R] 0/1 membership

} // namespace

std::vector<std::int64_t> rowsOfTokens(const TraceInfo& info, std::int64_t tokenStart, std::int64_t tokenEnd)
{
    const std::int64_t total = totalTokens(info);
    if (tokenStart < 0 || tokenEnd > total || tokenStart > tokenEnd)
        throw ArgumentError("token span [" + std::to_string(tokenStart) + ", " + std::to_string(tokenEnd) +
                            ") lies outside the trace's " + std::to_string(total) + " tokens");
    std::vector<std::int64_t> rows;
    const std::int64_t T = info.promptTokens;
    if (tokenStart < std::min(tokenEnd, T))
        for (std::int64_t r = tokenStart / info.params.bq; r <= (std::min(tokenEnd, T) - 1) / info.params.bq; ++r) rows.push_back(r);
    for (std::int64_t t = std::max(tokenStart, T); t < tokenEnd; ++t) rows.push_back(info.queryBlocks() + (t - T));
    return rows;
}

std::vector<std::int64_t> needleRows(const TraceInfo& info)
{
    const auto& a = info.annotations;
    if (!a.is_object() || !a.contains("needle") || !a["needle"].is_object())
        throw ArgumentError("the trace has no needle annotation: give the source rows explicitly");
    const auto& n = a["needle"];
    if (!n.contains("token_start") || !n.contains("token_end") || !n["token_start"].is_number_integer() ||
        !n["token_end"].is_number_integer())
        throw ArgumentError("the trace's needle annotation lacks integer token_start/token_end");
    const auto rows = rowsOfTokens(info, n["token_start"].get<std::int64_t>(), n["token_end"].get<std::int64_t>());
    if (rows.empty()) throw ArgumentError("the trace's needle annotation covers no token");
    return rows;
}

EdgeKind edgeKind(const Trace& trace, const RouteEdge& edge)
{
    if (edge.residual()) return EdgeKind::Residual;
    const TraceInfo& info = trace.info();
    if (trace.layer(edge.layer).dense) return EdgeKind::Dense;
    const StreamParams& p = info.params;
    if (edge.keyBlock < p.sinks / p.bk) return EdgeKind::Sink;
    // The window of a row is that of its last query (spec section 2).
    const std::int64_t last = info.rowQueries(edge.to)[1];
    const std::int64_t windowFirst = std::max<std::int64_t>(0, last - p.window + 1) / p.bk;
    if (edge.keyBlock >= windowFirst && edge.keyBlock <= last / p.bk) return EdgeKind::Window;
    return EdgeKind::Searched;
}

const char* edgeKindName(EdgeKind kind)
{
    switch (kind) {
    case EdgeKind::Residual: return "residual";
    case EdgeKind::Sink: return "sink";
    case EdgeKind::Window: return "window";
    case EdgeKind::Searched: return "searched";
    case EdgeKind::Dense: return "dense";
    }
    return "?";
}

bool keepsEdge(const Trace& trace, int layer, int head, std::int64_t row, std::int32_t keyBlock, double tau)
{
    const LayerView v = trace.layer(layer);
    const auto idx = v.indexRow(head, row);
    const auto mass = v.massRow(head, row);
    for (std::size_t k = 0; k < idx.size(); ++k)
        if (idx[k] == keyBlock) return mass[k] >= tau;
    return false;
}

std::vector<std::int64_t> RoutePath::rows() const
{
    std::vector<std::int64_t> out;
    if (edges.empty()) return out;
    out.push_back(edges.front().from);
    for (const RouteEdge& e : edges) out.push_back(e.to);
    return out;
}

std::vector<RouteEdge> RoutePath::attentionEdges() const
{
    std::vector<RouteEdge> out;
    for (const RouteEdge& e : edges)
        if (!e.residual()) out.push_back(e);
    return out;
}

std::vector<RoutePath> strongestPaths(const Route& route, int n)
{
    if (n <= 0 || route.layers < 1) return {};
    // A partial path after `layer` layers ends in some row: its product, the edge that reached
    // it, and the partial it extends (row and rank there). `order` ranks all partials of one
    // layer by their edge sequences from the input, for the ties.
    struct Partial {
        double product = 1.0;
        RouteEdge edge;
        std::int64_t prevRow = -1;
        int prevRank = -1;
        std::size_t order = 0;
    };
    using Layer = std::map<std::int64_t, std::vector<Partial>>; // row -> its best partials, strongest first
    std::vector<Layer> best(static_cast<std::size_t>(route.layers + 1));
    for (std::size_t i = 0; i < route.sourceRows.size(); ++i) best[0][route.sourceRows[i]] = {Partial{1.0, {}, -1, -1, i}};

    std::vector<std::vector<const RouteEdge*>> byLayer(static_cast<std::size_t>(route.layers));
    for (const RouteEdge& e : route.edges)
        if (e.layer >= 0 && e.layer < route.layers) byLayer[static_cast<std::size_t>(e.layer)].push_back(&e);

    auto stronger = [&](const Partial& a, const Partial& b) {
        if (a.product != b.product) return a.product > b.product;
        // Equal products: the lower edge sequence from the input (prefix order, then this edge).
        const std::size_t pa = a.prevRow < 0 ? a.order : best[static_cast<std::size_t>(a.edge.layer)].at(a.prevRow)[static_cast<std::size_t>(a.prevRank)].order;
        const std::size_t pb = b.prevRow < 0 ? b.order : best[static_cast<std::size_t>(b.edge.layer)].at(b.prevRow)[static_cast<std::size_t>(b.prevRank)].order;
        return std::tie(pa, a.edge.head, a.edge.from, a.edge.to, a.edge.keyBlock) <
               std::tie(pb, b.edge.head, b.edge.from, b.edge.to, b.edge.keyBlock);
    };
    for (int l = 0; l < route.layers; ++l) {
        const Layer& cur = best[static_cast<std::size_t>(l)];
        Layer& next = best[static_cast<std::size_t>(l + 1)];
        for (const RouteEdge* e : byLayer[static_cast<std::size_t>(l)]) {
            const auto from = cur.find(e->from);
            if (from == cur.end()) continue;
            const double factor = e->residual() ? 1.0 : static_cast<double>(e->mass);
            for (std::size_t k = 0; k < from->second.size(); ++k)
                next[e->to].push_back({from->second[k].product * factor, *e, e->from, static_cast<int>(k), 0});
        }
        std::vector<std::pair<std::int64_t, std::size_t>> kept; // (row, rank) of every partial kept
        for (auto& [row, partials] : next) {
            std::sort(partials.begin(), partials.end(), stronger);
            if (partials.size() > static_cast<std::size_t>(n)) partials.resize(static_cast<std::size_t>(n));
            for (std::size_t k = 0; k < partials.size(); ++k) kept.emplace_back(row, k);
        }
        // The order of this layer's partials by edge sequence: prefix order, then the last edge.
        auto seq = [&](const std::pair<std::int64_t, std::size_t>& rk) {
            const Partial& p = next.at(rk.first)[rk.second];
            const std::size_t prefix = cur.at(p.prevRow)[static_cast<std::size_t>(p.prevRank)].order;
            return std::make_tuple(prefix, p.edge.head, p.edge.from, p.edge.to, p.edge.keyBlock);
        };
        std::sort(kept.begin(), kept.end(), [&](const auto& a, const auto& b) { return seq(a) < seq(b); });
        for (std::size_t i = 0; i < kept.size(); ++i) next.at(kept[i].first)[kept[i].second].order = i;
    }

    std::vector<RoutePath> out;
    const auto target = best[static_cast<std::size_t>(route.layers)].find(route.targetRow);
    if (target == best[static_cast<std::size_t>(route.layers)].end()) return out;
    for (std::size_t k = 0; k < target->second.size(); ++k) {
        RoutePath path;
        path.product = target->second[k].product;
        path.edges.resize(static_cast<std::size_t>(route.layers));
        std::int64_t row = route.targetRow;
        int rank = static_cast<int>(k);
        for (int l = route.layers; l >= 1; --l) {
            const Partial& p = best[static_cast<std::size_t>(l)].at(row)[static_cast<std::size_t>(rank)];
            path.edges[static_cast<std::size_t>(l - 1)] = p.edge;
            row = p.prevRow;
            rank = p.prevRank;
        }
        out.push_back(std::move(path));
    }
    return out;
}

Route extractRoute(const Trace& trace, const RouteOptions& options)
{
    const TraceInfo& info = trace.info();
    if (!(options.tau >= 0.0 && options.tau <= 1.0))
        throw ArgumentError("route threshold tau must lie in [0, 1], got " + std::to_string(options.tau));
    if (options.paths < 0) throw ArgumentError("the number of route paths must be >= 0, got " + std::to_string(options.paths));
    const std::int64_t R = info.rows();
    if (R < 1) throw ArgumentError("the trace has no query rows");
    Route route;
    route.tau = options.tau;
    route.layers = trace.layers();
    route.sourceRows = options.sourceRows.empty() ? needleRows(info) : options.sourceRows;
    route.targetRow = options.targetRow.value_or(info.queryBlocks() - 1);
    for (std::int64_t r : route.sourceRows)
        if (r < 0 || r >= R) throw ArgumentError("source row " + std::to_string(r) + " out of range [0, " + std::to_string(R) + ")");
    if (route.targetRow < 0 || route.targetRow >= R)
        throw ArgumentError("target row " + std::to_string(route.targetRow) + " out of range [0, " + std::to_string(R) + ")");
    std::sort(route.sourceRows.begin(), route.sourceRows.end());
    route.sourceRows.erase(std::unique(route.sourceRows.begin(), route.sourceRows.end()), route.sourceRows.end());

    const int L = trace.layers(), H = trace.heads();
    const auto blockRows = rowsOfKeyBlocks(info);
    auto rowsOf = [&](std::int32_t block) -> const std::vector<std::int64_t>& {
        static const std::vector<std::int64_t> none;
        return block >= 0 && static_cast<std::size_t>(block) < blockRows.size() ? blockRows[static_cast<std::size_t>(block)] : none;
    };
    // Causality: row `to` reads a row of the key block only when that row's first query comes no
    // later than `to`'s last one. A key block that also holds generated tokens (the last prompt
    // block's) lists their rows too, which the prompt rows never see.
    std::vector<std::int64_t> firstQuery(static_cast<std::size_t>(R)), lastQuery(static_cast<std::size_t>(R));
    for (std::int64_t r = 0; r < R; ++r) {
        const auto q = info.rowQueries(r);
        firstQuery[static_cast<std::size_t>(r)] = q[0];
        lastQuery[static_cast<std::size_t>(r)] = q[1];
    }
    auto sees = [&](std::int64_t to, std::int64_t src) {
        return firstQuery[static_cast<std::size_t>(src)] <= lastQuery[static_cast<std::size_t>(to)];
    };
    std::vector<LayerView> views;
    for (int l = 0; l < L; ++l) views.push_back(trace.layer(l));

    // reach[n], back[n]: rows of node layer n reachable from the inputs / reaching the output.
    std::vector<Rows> reach(static_cast<std::size_t>(L + 1), Rows(static_cast<std::size_t>(R), 0));
    std::vector<Rows> back = reach;
    for (std::int64_t r : route.sourceRows) reach[0][static_cast<std::size_t>(r)] = 1;
    for (int l = 0; l < L; ++l) {
        Rows& next = reach[static_cast<std::size_t>(l + 1)];
        const Rows& cur = reach[static_cast<std::size_t>(l)];
        next = cur;
        for (int h = 0; h < H; ++h)
            for (std::int64_t r = 0; r < R; ++r) {
                if (next[static_cast<std::size_t>(r)]) continue;
                const auto idx = views[static_cast<std::size_t>(l)].indexRow(h, r);
                const auto mass = views[static_cast<std::size_t>(l)].massRow(h, r);
                for (std::size_t k = 0; k < idx.size() && !next[static_cast<std::size_t>(r)]; ++k) {
                    if (idx[k] < 0 || mass[k] < options.tau) continue;
                    for (std::int64_t src : rowsOf(idx[k]))
                        if (cur[static_cast<std::size_t>(src)] && sees(r, src)) next[static_cast<std::size_t>(r)] = 1;
                }
            }
    }
    back[static_cast<std::size_t>(L)][static_cast<std::size_t>(route.targetRow)] = 1;
    for (int l = L - 1; l >= 0; --l) {
        Rows& prev = back[static_cast<std::size_t>(l)];
        const Rows& cur = back[static_cast<std::size_t>(l + 1)];
        prev = cur;
        for (int h = 0; h < H; ++h)
            for (std::int64_t r = 0; r < R; ++r) {
                if (!cur[static_cast<std::size_t>(r)]) continue;
                const auto idx = views[static_cast<std::size_t>(l)].indexRow(h, r);
                const auto mass = views[static_cast<std::size_t>(l)].massRow(h, r);
                for (std::size_t k = 0; k < idx.size(); ++k) {
                    if (idx[k] < 0 || mass[k] < options.tau) continue;
                    for (std::int64_t src : rowsOf(idx[k]))
                        if (sees(r, src)) prev[static_cast<std::size_t>(src)] = 1;
                }
            }
    }

    // An edge lies on an input-to-output path when its source is reachable and its target
    // reaches the output.
    for (int l = 0; l < L; ++l) {
        const Rows& from = reach[static_cast<std::size_t>(l)];
        const Rows& to = back[static_cast<std::size_t>(l + 1)];
        for (std::int64_t r = 0; r < R; ++r)
            if (from[static_cast<std::size_t>(r)] && to[static_cast<std::size_t>(r)]) route.edges.push_back({l, -1, r, r, -1, 1.0f});
        for (int h = 0; h < H; ++h)
            for (std::int64_t r = 0; r < R; ++r) {
                if (!to[static_cast<std::size_t>(r)]) continue;
                const auto idx = views[static_cast<std::size_t>(l)].indexRow(h, r);
                const auto mass = views[static_cast<std::size_t>(l)].massRow(h, r);
                for (std::size_t k = 0; k < idx.size(); ++k) {
                    if (idx[k] < 0 || mass[k] < options.tau) continue;
                    for (std::int64_t src : rowsOf(idx[k]))
                        if (from[static_cast<std::size_t>(src)] && sees(r, src)) route.edges.push_back({l, h, src, r, idx[k], mass[k]});
                }
            }
    }
    std::sort(route.edges.begin(), route.edges.end());
    route.paths = strongestPaths(route, options.paths);
    return route;
}

RouteComparison compareRoutes(const Trace& success, const Trace& failure, const RouteOptions& options)
{
    const TraceInfo& a = success.info();
    const TraceInfo& b = failure.info();
    auto require = [](bool ok, const std::string& what) {
        if (!ok) throw ArgumentError("routes: the failed trace does not match the successful one (" + what + ")");
    };
    require(a.model.layers == b.model.layers && a.model.heads == b.model.heads, "layers x heads differ");
    require(a.params.bq == b.params.bq && a.params.bk == b.params.bk, "block sizes differ");
    require(a.promptTokens == b.promptTokens, "prompt lengths differ");
    require(std::equal(a.tokens.ids.begin(), a.tokens.ids.begin() + std::min<std::ptrdiff_t>(a.promptTokens, static_cast<std::ptrdiff_t>(a.tokens.ids.size())),
                       b.tokens.ids.begin(), b.tokens.ids.begin() + std::min<std::ptrdiff_t>(b.promptTokens, static_cast<std::ptrdiff_t>(b.tokens.ids.size()))),
            "prompt tokens differ");
    RouteComparison c;
    c.success = extractRoute(success, options);
    c.failure = extractRoute(failure, options);
    // Rows beyond the prompt differ between the two runs (their generations differ): an edge
    // into a row the failed trace lacks counts as missing.
    for (const RouteEdge& e : c.success.edges) {
        if (e.residual()) continue;
        const bool present = e.to < b.rows() && keepsEdge(failure, e.layer, e.head, e.to, e.keyBlock, options.tau);
        if (!present) c.critical.push_back(e);
    }
    auto key = [](const RouteEdge& e) { return std::make_tuple(e.layer, e.head, e.from, e.to, e.keyBlock); };
    std::set<decltype(key(RouteEdge{}))> onSuccess;
    for (const RouteEdge& e : c.success.edges) onSuccess.insert(key(e));
    for (const RouteEdge& e : c.failure.edges)
        if (!e.residual() && !onSuccess.count(key(e))) c.failureOnly.push_back(e);
    const std::set<RouteEdge> critical(c.critical.begin(), c.critical.end());
    std::set<RouteEdge> onPaths;
    for (const RoutePath& p : c.success.paths)
        for (const RouteEdge& e : p.edges)
            if (critical.count(e)) onPaths.insert(e);
    c.criticalOnPaths.assign(onPaths.begin(), onPaths.end());
    return c;
}

} // namespace sparsetrace::core
