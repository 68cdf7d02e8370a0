// The search for the smallest K that keeps the model's behaviour (spec section 4), and the
// behaviour measures stored with a trace (per-head statistics: head_stats.h). The search is
// generic over a probe so that it is tested without a model; the tracer supplies a probe that
// runs the model.
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

} // namespace sparsetrace::core
