// Synthetic traces with planted structure, for tests, benchmarks and file-format fixtures.
// They are labelled as synthetic in their provenance (model name "synthetic"); nothing here
// pretends to be a model's attention.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparsetrace::core {

struct PlantedBlock {
    int layer = 0;
    int head = 0;
    std::int64_t row = 0;      // query block (or generated-token row)
    std::int32_t keyBlock = 0; // must be causal for the row
    float mass = 0.9f;         // mass given to it; the rest of the row shares 1 - mass
};

struct SyntheticTraceSpec {
    int layers = 2;
    int heads = 2;
    int kvHeads = 1;
    int headDim = 16;
    std::int64_t promptTokens = 256;
    std::int64_t generatedTokens = 0;
    StreamParams params;
    std::uint64_t seed = 1;
    std::vector<PlantedBlock> planted;
    bool withFidelity = false; // adds captured mass and an oracle index
    bool withText = true;      // words as text and tokens (else empty strings, offsets 0)
    // When not empty: the text of every token (promptTokens + generatedTokens entries), used
    // verbatim instead of the built-in words, so that tests can lay out sentences on blocks.
    std::vector<std::string> tokenTexts;
};

// Builds a valid trace: every row keeps its sinks, window and up to K pseudo-random searched
// blocks (ascending, -1 padded); masses sum to 1 per row of a sparse layer.
std::shared_ptr<OwnedTrace> makeSyntheticTrace(const SyntheticTraceSpec& spec);

} // namespace sparsetrace::core
