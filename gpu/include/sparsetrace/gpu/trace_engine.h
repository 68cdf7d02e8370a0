// The tracing engine (spec sections 2-5): one forward pass of a model with Stream-Attn in every
// layer and head, recording the masks; the behaviour check against the dense model; the k
// search; the optional fidelity pass. Synchronous, cancellable through a std::stop_token checked
// between layers (throws Cancelled), Qt-free and torch-free in its interface so both the CLI
// and the GUI's facade can hold it. The loaded model stays resident between runs.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/job_runner.h"
#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_request.h"

#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace sparsetrace::gpu {

// The request and estimate types live in core so that the explorer's engine interface can name
// them without linking this library.
using core::ProbeReport;
using core::TraceEstimate;
using core::TraceRequest;

class TraceEngine {
public:
    TraceEngine();
    ~TraceEngine();
    TraceEngine(const TraceEngine&) = delete;
    TraceEngine& operator=(const TraceEngine&) = delete;

    // Tokenizes and sizes the request against the model's config; throws ModelError /
    // ArgumentError for a bad folder or an over-long prompt. Loads nothing heavy.
    TraceEstimate estimate(const TraceRequest& request);

    // Runs the request. Throws ArgumentError when the estimate says it does not fit (message
    // carries the estimate), Cancelled when `stop` is requested (checked between layers),
    // BackendError for GPU out-of-memory (the engine stays usable) and ModelError for a bad
    // folder. `onProbe` (optional) hears each k-search probe.
    std::shared_ptr<core::OwnedTrace> trace(const TraceRequest& request, const core::ProgressFn& progress,
                                            std::stop_token stop,
                                            const std::function<void(const ProbeReport&)>& onProbe = {});

    // Frees the resident model (and the CUDA cache).
    void unload();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace sparsetrace::gpu
