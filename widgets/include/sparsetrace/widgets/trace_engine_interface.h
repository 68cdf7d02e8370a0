// What the explorer needs from a tracing engine, without Qt or torch: the devices, a model
// folder's summary, the estimate of a request, and the cancellable run. The explorer implements
// it over gpu::TraceEngine; the Qt tests implement it with a scriptable fake.
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

namespace sparsetrace::widgets {

struct DeviceChoice {
    std::string id;          // "cpu", "cuda:0"
    std::string description; // shown in the device list
};

// Each instance is used by one thread at a time (the runner's worker owns it).
class TraceEngineInterface {
public:
    virtual ~TraceEngineInterface() = default;
    // The CPU first, then every usable accelerator.
    virtual std::vector<DeviceChoice> devices() = 0;
    // Throws (IoError, ModelError) when the folder has no usable config.json.
    virtual core::ModelFolderSummary inspect(const std::string& modelDir) = 0;
    // Throws ArgumentError / ModelError for requests the engine would refuse outright.
    virtual core::TraceEstimate estimate(const core::TraceRequest& request) = 0;
    // Checks `stop` between layers and throws Cancelled; reports progress per layer.
    virtual std::shared_ptr<core::OwnedTrace> trace(const core::TraceRequest& request, const core::ProgressFn& progress,
                                                    std::stop_token stop,
                                                    const std::function<void(const core::ProbeReport&)>& onProbe) = 0;
};

// Called on the runner's worker thread (engines may hold per-thread state such as a device).
using EngineFactory = std::function<std::unique_ptr<TraceEngineInterface>()>;

} // namespace sparsetrace::widgets
