// The tracing engine (spec sections 2-5): one forward pass of a model with Stream-Attn in every
// layer and head, recording the masks; the behaviour check against the dense model; the k
// search; the optional fidelity pass. Synchronous, cancellable through a std::stop_token checked
// between layers (throws Cancelled), Qt-free and torch-free in its interface so both the CLI
// and the GUI's facade can hold it: it implements core::TraceEngineInterface, the seam the
// explorer drives. The loaded model stays resident between runs.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/job_runner.h"
#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_engine_interface.h"
#include "sparsetrace/core/trace_request.h"

#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace sparsetrace::gpu {

// The request and estimate types and the engine interface live in core so that the explorer's
// UI library can name them without linking this library.
using core::ProbeReport;
using core::TraceEstimate;
using core::TraceRequest;

class TraceEngine final : public core::TraceEngineInterface {
public:
    TraceEngine();
    ~TraceEngine() override;
    TraceEngine(const TraceEngine&) = delete;
    TraceEngine& operator=(const TraceEngine&) = delete;

    // The CPU, then every CUDA device (availableDevices()).
    std::vector<core::DeviceChoice> devices() override;
    // core::inspectModelFolder.
    core::ModelFolderSummary inspect(const std::string& modelDir) override;

    // Tokenizes and sizes the request against the model's config; throws ModelError /
    // ArgumentError for a bad folder or an over-long prompt. Loads nothing heavy.
    TraceEstimate estimate(const TraceRequest& request) override;

    // Runs the request, tokenizing it once: `onEstimate` (optional) hears the estimate made from
    // those tokens before the model loads. Throws ArgumentError when the estimate says it does
    // not fit (message carries the estimate), Cancelled when `stop` is requested (checked
    // between layers), BackendError for GPU out-of-memory (the engine stays usable) and
    // ModelError for a bad folder. `onProbe` (optional) hears each k-search probe.
    std::shared_ptr<core::OwnedTrace> trace(const TraceRequest& request, const core::ProgressFn& progress, std::stop_token stop,
                                            const core::ProbeFn& onProbe = {}, const core::EstimateFn& onEstimate = {}) override;

    // Frees the resident model (and the CUDA cache).
    void unload();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Makes engines for a job runner's worker (the explorer's runs and examinations).
inline core::EngineFactory traceEngineFactory()
{
    return [] { return std::make_unique<TraceEngine>(); };
}

} // namespace sparsetrace::gpu
