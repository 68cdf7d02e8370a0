// Routes from a needle to the output (spec section 8), read off a trace's block masks: the
// attention edges (with layer, head and mass) and residual edges lying on some path from the
// needle's query blocks before layer 0 to the answer position after the last layer; the strongest
// of those paths; and the difference between a successful and a failed trace of the same prompt.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace sparsetrace::core {

// Node (n, r): the residual stream of query row r after n layers (n = 0: the input).
// An attention edge through trace layer `layer` (0-based) and head `head` goes from node
// (layer, from) to node (layer + 1, to): row `to` keeps key block `keyBlock` with mass >= tau,
// and row `from` holds keys of that block that `to` can see (with bq == bk, from == keyBlock; a
// generated token's row is never read by a prompt row, though its token shares the last prompt
// block). A residual edge
// (head = -1, keyBlock = -1, mass = 1) goes from (layer, r) to (layer + 1, r).
struct RouteEdge {
    int layer = 0;
    int head = -1;
    std::int64_t from = 0;
    std::int64_t to = 0;
    std::int32_t keyBlock = -1;
    float mass = 1.0f;
    bool residual() const { return head < 0; }
    auto operator<=>(const RouteEdge&) const = default;
};

// One path from a source row before layer 0 to the target row after the last layer: one edge per
// layer (edges[l].layer == l; residual or attention). Its strength is the product of its
// attention edges' masses; residual edges carry the row on unchanged and do not count.
struct RoutePath {
    std::vector<RouteEdge> edges; // [L]
    double product = 1.0;
    std::vector<std::int64_t> rows() const;          // [L + 1]: rows()[n] is the row after n layers
    std::vector<RouteEdge> attentionEdges() const;   // the edges that are not residual, by layer
};

struct RouteOptions {
    double tau = 0.05;                      // mass threshold of an attention edge
    int paths = 5;                          // strongest paths kept (0: none)
    std::vector<std::int64_t> sourceRows;   // input rows; empty: the rows of annotations.needle
    std::optional<std::int64_t> targetRow;  // output row; default: the last prompt query block
};

struct Route {
    double tau = 0.05;
    std::vector<std::int64_t> sourceRows;
    std::int64_t targetRow = 0;
    int layers = 0;
    std::vector<RouteEdge> edges; // sorted by (layer, head, from, to, ...); residual edges included
    // The strongest paths over `edges`, at most RouteOptions::paths of them, by falling product;
    // equal products: the path whose edges, compared layer by layer from the input, have the
    // lower (head, from row, to row) wins (a residual edge, head -1, before any head).
    std::vector<RoutePath> paths;
    bool connected() const { return !edges.empty(); }
};

// Rows holding the tokens [tokenStart, tokenEnd) (prompt query blocks or generated rows).
std::vector<std::int64_t> rowsOfTokens(const TraceInfo& info, std::int64_t tokenStart, std::int64_t tokenEnd);
// Rows of annotations.needle {token_start, token_end}; ArgumentError when the trace has none.
std::vector<std::int64_t> needleRows(const TraceInfo& info);

// The strongest paths over a route's edges (dynamic programming over layers: each row keeps its
// `n` best partial paths). Used by extractRoute; exposed for tests.
std::vector<RoutePath> strongestPaths(const Route& route, int n);

// Throws ArgumentError for tau outside [0, 1], paths < 0, rows out of range, or no source rows.
Route extractRoute(const Trace& trace, const RouteOptions& options);

// Success vs failure of the same prompt: both routes and the critical edges (attention edges of
// the successful route whose key block the failed trace does not keep with mass >= tau for the
// same layer, head and row). The traces must share model shape, block sizes and prompt tokens.
struct RouteComparison {
    Route success;
    Route failure;
    std::vector<RouteEdge> critical;     // on the successful route, missing from the failed trace
    std::vector<RouteEdge> failureOnly;  // attention edges of the failed route not on the successful one
    std::vector<RouteEdge> criticalOnPaths; // the critical edges that lie on success.paths (sorted, unique)
};
RouteComparison compareRoutes(const Trace& success, const Trace& failure, const RouteOptions& options);

// Why a row kept an edge's key block (spec sections 2 and 3): the sink blocks, the local window
// of the row's last query, or the search; every block of a dense layer is "dense".
enum class EdgeKind { Residual, Sink, Window, Searched, Dense };
EdgeKind edgeKind(const Trace& trace, const RouteEdge& edge);
const char* edgeKindName(EdgeKind kind); // "residual", "sink", "window", "searched", "dense"

// True when trace keeps `keyBlock` for (layer, head, row) with mass >= tau.
bool keepsEdge(const Trace& trace, int layer, int head, std::int64_t row, std::int32_t keyBlock, double tau);

} // namespace sparsetrace::core
