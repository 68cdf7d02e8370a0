// The seam between a tracing engine and the programs that drive it, without Qt or torch: the
// devices, a model folder's summary, the estimate of a request, and the cancellable run.
// gpu::TraceEngine implements it (libtorch, CPU or CUDA); the explorer's Qt tests implement it
// with a scriptable fake. The request and estimate types are in trace_request.h.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/job_runner.h"
#include "sparsetrace/core/model_folder.h"
#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_request.h"

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace sparsetrace::core {

struct DeviceChoice {
    std::string id;          // "cpu", "cuda:0"
    std::string description; // shown in device lists
};

using ProbeFn = std::function<void(const ProbeReport&)>;
using EstimateFn = std::function<void(const TraceEstimate&)>;

// Each instance is used by one thread at a time (a job runner's worker owns it).
class TraceEngineInterface {
public:
    virtual ~TraceEngineInterface() = default;
    // The CPU first, then every usable accelerator.
    virtual std::vector<DeviceChoice> devices() = 0;
    // Throws (IoError, ModelError) when the folder has no usable config.json.
    virtual ModelFolderSummary inspect(const std::string& modelDir) = 0;
    // Tokenizes and sizes the request; throws ArgumentError / ModelError for requests the
    // engine would refuse outright.
    virtual TraceEstimate estimate(const TraceRequest& request) = 0;
    // Runs the request: tokenizes it once, hands the estimate made from those tokens to
    // `onEstimate` before any heavy work (and refuses, ArgumentError, when it does not fit),
    // checks `stop` between layers (throws Cancelled), reports progress per layer and each
    // k-search probe to `onProbe`. The callbacks are optional.
    virtual std::shared_ptr<OwnedTrace> trace(const TraceRequest& request, const ProgressFn& progress, std::stop_token stop,
                                              const ProbeFn& onProbe = {}, const EstimateFn& onEstimate = {}) = 0;
};

// Called on the runner's worker thread (engines may hold per-thread state such as a device).
using EngineFactory = std::function<std::unique_ptr<TraceEngineInterface>()>;

} // namespace sparsetrace::core
