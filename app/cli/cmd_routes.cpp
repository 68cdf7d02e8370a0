// `sparsetrace routes TRACE [--compare FAILED_TRACE] [--tau 0.05] [--paths 5] --json OUT`: the
// route from the needle to the answer position (spec section 8) with its strongest paths (the
// explorer's Routes view draws the same), and with --compare the critical edges a failed trace
// of the same prompt lacks.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_json.h"
#include "commands.h"

#include "sparsetrace/core/routes.h"
#include "sparsetrace/core/trace_file.h"

#include <cstdio>

namespace sparsetrace::cli {

namespace {

struct RoutesOptions {
    std::string trace;
    std::string compare;
    double tau = 0.05;
    int paths = core::RouteOptions{}.paths;
    std::vector<std::int64_t> sourceRows;
    std::int64_t targetRow = -1;
    std::string json;
};

// `trace` is the trace the edges were read from: it tells why each key block was kept.
nlohmann::json edgesJson(const std::vector<core::RouteEdge>& edges, const core::Trace& trace)
{
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : edges) {
        if (e.residual())
            out.push_back({{"layer", e.layer}, {"from", e.from}, {"to", e.to}, {"residual", true}});
        else
            out.push_back({{"layer", e.layer}, {"head", e.head}, {"from", e.from}, {"to", e.to}, {"key_block", e.keyBlock},
                           {"mass", e.mass}, {"residual", false}, {"kind", core::edgeKindName(core::edgeKind(trace, e))}});
    }
    return out;
}

// Each path: its rows (L + 1, the row after each layer), its attention edges' layers, heads and
// masses, and their product.
nlohmann::json pathsJson(const std::vector<core::RoutePath>& paths)
{
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : paths) {
        std::vector<int> layers, heads;
        std::vector<float> masses;
        for (const auto& e : p.attentionEdges()) {
            layers.push_back(e.layer);
            heads.push_back(e.head);
            masses.push_back(e.mass);
        }
        out.push_back({{"rows", p.rows()}, {"layers", layers}, {"heads", heads}, {"masses", masses}, {"product", p.product}});
    }
    return out;
}

nlohmann::json routeJson(const core::Route& r, const std::string& file, const core::Trace& trace)
{
    std::size_t attention = 0;
    for (const auto& e : r.edges) attention += e.residual() ? 0 : 1;
    return {{"file", file},
            {"tau", r.tau},
            {"layers", r.layers},
            {"source_rows", r.sourceRows},
            {"target_row", r.targetRow},
            {"connected", r.connected()},
            {"attention_edges", attention},
            {"residual_edges", r.edges.size() - attention},
            {"paths", pathsJson(r.paths)},
            {"edges", edgesJson(r.edges, trace)}};
}

int runRoutes(const RoutesOptions& o)
{
    core::RouteOptions ro;
    ro.tau = o.tau;
    ro.paths = o.paths;
    ro.sourceRows = o.sourceRows;
    if (o.targetRow >= 0) ro.targetRow = o.targetRow;
    auto trace = core::TraceFile::open(o.trace);
    nlohmann::json out;
    if (o.compare.empty()) {
        const core::Route r = core::extractRoute(*trace, ro);
        out = routeJson(r, o.trace, *trace);
        if (o.json != "-")
            std::printf("route: %zu edges from %zu source rows to row %lld%s; %zu strongest paths%s\n", r.edges.size(),
                        r.sourceRows.size(), static_cast<long long>(r.targetRow), r.connected() ? "" : " (not connected at this tau)",
                        r.paths.size(), r.paths.empty() ? "" : (", the first with product " + std::to_string(r.paths.front().product)).c_str());
    } else {
        auto failed = core::TraceFile::open(o.compare);
        const core::RouteComparison c = core::compareRoutes(*trace, *failed, ro);
        out = {{"tau", o.tau},
               {"success", routeJson(c.success, o.trace, *trace)},
               {"failure", routeJson(c.failure, o.compare, *failed)},
               {"critical", edgesJson(c.critical, *trace)},
               {"failure_only", edgesJson(c.failureOnly, *failed)},
               {"critical_on_paths", edgesJson(c.criticalOnPaths, *trace)}};
        if (o.json != "-")
            std::printf("routes: %zu edges on the successful route, %zu on the failed one, %zu critical\n",
                        c.success.edges.size(), c.failure.edges.size(), c.critical.size());
    }
    writeJsonOutput(out, o.json);
    return 0;
}

} // namespace

void addRoutesCommand(CLI::App& app, Runner& run)
{
    auto* cmd = app.add_subcommand("routes", "Needle-to-output routes of a trace, and the difference to a failed trace");
    auto o = std::make_shared<RoutesOptions>();
    cmd->add_option("trace", o->trace, "A .sptrace file (successful retrieval)")->required();
    cmd->add_option("--compare", o->compare, "A failed trace of the same prompt");
    cmd->add_option("--tau", o->tau, "Mass threshold of an attention edge")->capture_default_str()->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--paths", o->paths, "Strongest needle-to-answer paths listed (ranked by the product of their attention masses)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1000));
    cmd->add_option("--source-rows", o->sourceRows, "Input rows (default: the rows of the trace's needle annotation)")->delimiter(',');
    cmd->add_option("--target-row", o->targetRow, "Output row (default: the last prompt query block)");
    cmd->add_option("--json", o->json, "Output JSON file (\"-\": stdout)")->required();
    cmd->callback([&run, o] { run = [o] { return runRoutes(*o); }; });
}

} // namespace sparsetrace::cli
