// Shared fixtures of the widget tests: a synthetic trace with one strong planted block, held
// in memory or written to a temporary .sptrace file.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/trace_file.h"

#include <memory>
#include <string>

namespace sparsetrace::test {

// Layer 1, head 2, query block 100 attends to key block 20 with mass 0.95; every other kept
// block of that head holds well under 0.95 (the rest of a row shares 0.05 or 1).
struct Planted {
    static constexpr int layer = 1, head = 2;
    static constexpr std::int64_t row = 100;
    static constexpr std::int32_t keyBlock = 20;
    static constexpr float mass = 0.95f;
};

inline std::shared_ptr<core::OwnedTrace> makePlantedTrace(std::int64_t promptTokens = 4096, bool fidelity = false,
                                                          std::int64_t generated = 0)
{
    core::SyntheticTraceSpec spec;
    spec.layers = 2;
    spec.heads = 3;
    spec.kvHeads = 1;
    spec.promptTokens = promptTokens;
    spec.generatedTokens = generated;
    spec.params.bq = 32;
    spec.params.bk = 32;
    spec.params.k = 4;
    spec.params.sinks = 32;
    spec.params.window = 64;
    spec.withFidelity = fidelity;
    spec.planted = {{Planted::layer, Planted::head, Planted::row, Planted::keyBlock, Planted::mass}};
    return core::makeSyntheticTrace(spec);
}

} // namespace sparsetrace::test
