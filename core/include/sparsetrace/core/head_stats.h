// Per-head statistics of a trace, one definition each, shared by the tracer (which stores
// sparsity and entropy in every trace it writes) and the explorer's layer x head overview (which
// shows the stored ones and computes the others on demand: a pass over every layer, run it off
// the GUI thread). Over the prompt's query rows of a head (docs/trace-format.md, "Per-head
// statistics"):
//   sparsity:      1 - kept fraction of the causal (query, key) pairs (spec section 3);
//   entropy:       mean over rows of -sum p ln p, p = a kept block's mass / the row's kept mass
//                  (padding left out; a row without mass counts 0), in nats;
//   kurtosis:      excess kurtosis (Fisher, biased: m4/m2^2 - 3) of the key blocks' column
//                  scores (mass received, summed over rows): high for heads with a few
//                  receiver blocks;
//   captured_mass: mean over rows of the captured mass (fidelity traces only).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <atomic>
#include <span>
#include <string>
#include <vector>

namespace sparsetrace::core {

// Entropy in nats of one row's kept blocks: masses of entries with index >= 0, normalised to
// sum 1; 0 when the row keeps no mass.
double rowEntropy(std::span<const std::int32_t> index, std::span<const float> mass);

// Sparsity and entropy of every head of one layer.
struct HeadStats {
    std::vector<float> sparsity; // [H]
    std::vector<float> entropy;  // [H]
};
HeadStats computeHeadStats(const TraceInfo& info, int layer, const LayerView& view);

// Fills info.headStats["sparsity"] and ["entropy"] ([L, H]) for every layer of `trace`.
void storeHeadStats(OwnedTrace& trace);

// Names of the statistics available for `trace`: the stored ones first, then entropy and
// kurtosis, then captured_mass for fidelity traces.
std::vector<std::string> availableHeadStatistics(const Trace& trace);
// True when the statistic is stored in the trace (no pass over the masks needed).
bool headStatisticStored(const Trace& trace, const std::string& name);
// [L*H] float32 row-major; NaN where undefined. The stored values when there are any, else
// computed. Throws ArgumentError for an unknown name; returns an empty vector when *stop
// becomes true.
std::vector<float> headStatistic(const Trace& trace, const std::string& name, const std::atomic<bool>* stop = nullptr);

} // namespace sparsetrace::core
