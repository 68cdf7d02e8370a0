// What a trace run asks for and what it is estimated to cost: plain data shared by the tracing
// engine (gpu/), the CLI and the explorer's engine interface, which may not see gpu/'s library.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_timings.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

// Which Stream-Attn runs on the CPU: the Eigen backend (gpu/src/stream_attn/cpu, the default) or
// the core reference (core/stream_attn.h, the specification: slow, for checks). CUDA devices run
// the CUDA kernels; the reference there is refused.
enum class CpuBackend { Eigen, Reference };
std::string_view cpuBackendName(CpuBackend b);             // "eigen" | "reference"
CpuBackend cpuBackendFromName(std::string_view name);      // throws ArgumentError naming both

struct TraceRequest {
    std::string modelDir;
    std::optional<std::string> prompt;   // text (tokenized with the folder's tokenizer.json) ...
    std::vector<std::int32_t> tokenIds;  // ... or token ids (used when prompt is empty)
    bool chat = false;                   // wrap the prompt in the model's chat template
    StreamParams params;
    std::string device = "cpu";          // "cpu", "cuda", "cuda:N"
    std::string dtype;                   // "f32", "bf16"; empty = f32 on CPU, bf16 on CUDA
    CpuBackend cpuBackend = CpuBackend::Eigen; // Stream-Attn on the CPU (Reference: CPU devices only)
    int checkTokens = 2;                 // behaviour check: greedy tokens compared (0 = none)
    bool fidelity = false;               // dense pass measuring captured mass and the oracle
    bool searchK = false;                // smallest K in [1, kMax] preserving behaviour
    int kMax = 0;                        // 0 = the largest searchable K for the prompt
    std::optional<std::uint64_t> randomWeightsSeed; // config.json + seeded random weights
    bool allowBeyondContext = false;     // accept prompts longer than max_position_embeddings
    nlohmann::json annotations = nlohmann::json::object(); // stored in the trace (e.g. needle)
    // When set, the run clears it and fills in its phases' wall times (synchronising the device
    // at each phase boundary); not owned, must outlive the run. Null: no timing at all.
    TraceTimings* timings = nullptr;
};

struct TraceEstimate {
    std::int64_t promptTokens = 0;
    double seconds = 0;            // rough wall time of the whole request
    std::int64_t peakBytes = 0;    // device memory (host memory on the CPU) the run needs
    std::int64_t availableBytes = 0; // what the device has free (0 when unknown)
    bool fits = true;
    std::string summary;           // one line: "about 12 s and 3.1 GiB of 79 GiB free on cuda:0"
};

// One k-search probe as it happens (for progress displays).
struct ProbeReport {
    int k = 0;
    bool preserved = false;
    double sparsity = 0;
};

} // namespace sparsetrace::core
