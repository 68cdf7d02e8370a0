// Synthetic traces with a planted needle-to-output chain for the route tests: every row that is
// not planted spreads its mass uniformly over its kept blocks, so that with tau above 1/2 only
// planted blocks (and one-block rows) form edges.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/synthetic_trace.h"

#include <set>
#include <tuple>

namespace sparsetrace::test {

inline core::SyntheticTraceSpec routeSpec(std::int64_t promptTokens = 128, std::int64_t generated = 0)
{
    core::SyntheticTraceSpec spec;
    spec.layers = 3;
    spec.heads = 2;
    spec.kvHeads = 1;
    spec.params.bq = 8;
    spec.params.bk = 8;
    spec.params.k = 2;
    spec.params.sinks = 8;
    spec.params.window = 16;
    spec.promptTokens = promptTokens;
    spec.generatedTokens = generated;
    return spec;
}

inline std::shared_ptr<core::OwnedTrace> makeRouteTrace(const core::SyntheticTraceSpec& spec, std::int64_t needleStart,
                                                       std::int64_t needleEnd)
{
    auto trace = core::makeSyntheticTrace(spec);
    std::set<std::tuple<int, int, std::int64_t>> planted;
    for (const auto& p : spec.planted) planted.insert({p.layer, p.head, p.row});
    const std::int64_t R = trace->info().rows();
    const int KP = trace->info().kPrime();
    for (int l = 0; l < spec.layers; ++l) {
        auto& rec = trace->mutableLayers()[static_cast<std::size_t>(l)];
        for (int h = 0; h < spec.heads; ++h)
            for (std::int64_t r = 0; r < R; ++r) {
                if (planted.count({l, h, r})) continue;
                const std::size_t base = static_cast<std::size_t>((h * R + r) * KP);
                int kept = 0;
                for (int k = 0; k < KP; ++k) kept += rec.index[base + static_cast<std::size_t>(k)] >= 0 ? 1 : 0;
                for (int k = 0; k < KP; ++k)
                    rec.mass[base + static_cast<std::size_t>(k)] = rec.index[base + static_cast<std::size_t>(k)] >= 0 ? 1.0f / static_cast<float>(kept) : 0.0f;
            }
    }
    trace->mutableInfo().annotations["needle"] = {{"key", "test-key"}, {"value", "1234567"}, {"depth", 10.0},
                                                  {"token_start", needleStart}, {"token_end", needleEnd}};
    return trace;
}

} // namespace sparsetrace::test
