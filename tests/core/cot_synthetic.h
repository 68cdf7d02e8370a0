// A synthetic chain-of-thought trace for the thought-anchors tests: a prompt block ending in
// <think>, then sentences of exactly one key block each, so that sentence attention is exact.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/synthetic_trace.h"

#include <string>
#include <vector>

namespace sparsetrace::test {

inline constexpr int kCotBlock = 8;

// Sentence s occupies block s + 1 (tokens (s+1)*8 .. (s+1)*8+7).
inline core::SyntheticTraceSpec cotSpec(int sentences, int layers, int heads)
{
    core::SyntheticTraceSpec spec;
    spec.layers = layers;
    spec.heads = heads;
    spec.kvHeads = 1;
    spec.params.bq = kCotBlock;
    spec.params.bk = kCotBlock;
    spec.params.k = 2;
    spec.params.sinks = kCotBlock;
    spec.params.window = 2 * kCotBlock;
    spec.promptTokens = static_cast<std::int64_t>(sentences + 1) * kCotBlock;
    spec.tokenTexts = {"Solve", " it", ".", " Solution", ":", " ", "\n", "<think>"};
    for (int s = 0; s < sentences; ++s) {
        spec.tokenTexts.push_back((s == 0 ? "\nS" : " S") + std::to_string(s));
        for (int w = 1; w <= 5; ++w) spec.tokenTexts.push_back(" w" + std::to_string(w));
        spec.tokenTexts.push_back(" end");
        spec.tokenTexts.push_back(".");
    }
    return spec;
}

// Every row of a sentence after `anchor` gives `mass` to the anchor's block in (layer, head).
inline void plantAnchor(core::SyntheticTraceSpec& spec, int layer, int head, int anchor, int sentences, float mass)
{
    for (int s = anchor + 1; s < sentences; ++s)
        spec.planted.push_back({layer, head, static_cast<std::int64_t>(s + 1), static_cast<std::int32_t>(anchor + 1), mass});
}

} // namespace sparsetrace::test
