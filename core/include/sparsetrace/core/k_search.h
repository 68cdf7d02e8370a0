// The search for the smallest K that keeps the model's behaviour (spec section 4), and the
// per-head statistics and behaviour measures stored with a trace. The search is generic over a
// probe so that it is tested without a model; the tracer supplies a probe that runs the model.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <functional>
#include <span>
#include <vector>

namespace sparsetrace::core {

// The largest K that can matter for a prompt of T tokens: the number of key blocks between the
// sinks and the local window of the last query block (at least 1).
int maxSearchableK(std::int64_t promptTokens, const StreamParams& params);

struct KSearchOutcome {
    int k = 0;            // smallest K found to preserve behaviour (kMax when none does)
    bool found = false;   // false when even kMax does not preserve behaviour
    std::vector<KProbe> probes; // in the order they ran
};

// Binary search over [1, kMax] assuming monotonicity: probes kMax first, then halves the
// interval; at most ceil(log2 kMax) + 1 probes. `probe(K)` runs the sparse model at K and
// returns {K, preserved, sparsity}; it may throw Cancelled.
KSearchOutcome searchSmallestK(int kMax, const std::function<KProbe(int k)>& probe);

// Upper bound on the probes searchSmallestK makes for kMax.
int maxKSearchProbes(int kMax);

// KL(p || q) in nats between the softmax distributions of two logit vectors, in double.
double klDivergenceFromLogits(std::span<const float> pLogits, std::span<const float> qLogits);
// Index of the largest logit (first one on ties, as greedy decoding picks).
int argmaxLogit(std::span<const float> logits);

// Per-head statistics of one layer over the prompt's query blocks: sparsity (spec section 3)
// and the mean entropy, in nats, of each row's block masses normalised to sum 1.
struct HeadStats {
    std::vector<float> sparsity; // [H]
    std::vector<float> entropy;  // [H]
};
HeadStats computeHeadStats(const TraceInfo& info, int layer, const LayerView& view);

// Fills info.headStats["sparsity"] and ["entropy"] ([L, H]) for every layer of `trace`.
void storeHeadStats(OwnedTrace& trace);

} // namespace sparsetrace::core
