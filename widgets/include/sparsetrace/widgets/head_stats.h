// Per-head statistics for the layer x head overview: those stored in the trace (headStats)
// and those computed from the masks on demand (a pass over every layer: run it off the GUI
// thread). Definitions, over the prompt's query rows of a head:
//   entropy:       mean over rows of -sum m ln m over the kept blocks' masses (nats);
//   kurtosis:      excess kurtosis (Fisher, biased: m4/m2^2 - 3) of the key blocks' column
//                  scores (mass received, summed over rows): high for heads with a few
//                  receiver blocks;
//   captured_mass: mean over rows of the captured mass (fidelity traces only).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <QStringList>

#include <atomic>
#include <vector>

namespace sparsetrace::widgets {

// Names of the statistics the overview can show for `trace` (stored ones first).
QStringList availableStatistics(const core::Trace& trace);
// True when the statistic needs a pass over the masks (not stored in the trace).
bool statisticNeedsComputing(const core::Trace& trace, const QString& name);
// [L*H] float32 row-major; NaN where undefined. Throws ArgumentError for an unknown name;
// returns early with an empty vector when *stop becomes true.
std::vector<float> headStatistic(const core::Trace& trace, const QString& name, const std::atomic<bool>* stop = nullptr);

} // namespace sparsetrace::widgets
