// A scriptable tracing engine for the explorer's Qt tests (behind core::TraceEngineInterface):
// a number of "layers" each taking a set time, progress after each, the stop token checked
// between them, an optional exception at a given layer, and a synthetic trace as the result.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/trace_engine_interface.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sparsetrace::test {

// Shared by every engine the factory makes (the runner makes one per worker thread).
struct FakeEngineScript {
    std::mutex mutex;
    int layers = 6;
    std::chrono::milliseconds perLayer{20};
    int throwAtLayer = -1;            // BackendError thrown before this layer (-1: never)
    std::string throwMessage = "CUDA out of memory while tracing layer 2";
    core::TraceEstimate estimate;     // what estimate() returns (fits by default)
    std::string inspectError;         // inspect() throws ModelError with this when set
    bool withCuda = false;            // devices() lists a CUDA device too
    std::atomic<int> runsStarted{0};
    std::atomic<int> runsCompleted{0};
    std::atomic<int> runsStopped{0};
    std::string lastPrompt;           // the prompt text of the latest trace() call

    FakeEngineScript()
    {
        estimate.promptTokens = 256;
        estimate.seconds = 0.1;
        estimate.peakBytes = 1 << 20;
        estimate.availableBytes = std::int64_t{1} << 33;
        estimate.summary = "256 tokens: about 0.1 s and 1.00 MiB of memory; 8.00 GiB free on cpu";
    }
};

class FakeTraceEngine final : public core::TraceEngineInterface {
public:
    explicit FakeTraceEngine(std::shared_ptr<FakeEngineScript> script) : m_script(std::move(script)) {}

    std::vector<core::DeviceChoice> devices() override
    {
        std::vector<core::DeviceChoice> d{{"cpu", "CPU"}};
        if (m_script->withCuda) d.push_back({"cuda:0", "Fake accelerator, 80.0 GiB"});
        return d;
    }
    core::ModelFolderSummary inspect(const std::string& modelDir) override
    {
        std::lock_guard lock(m_script->mutex);
        if (!m_script->inspectError.empty()) throw ModelError(m_script->inspectError);
        core::ModelFolderSummary s;
        s.dir = modelDir;
        s.config.layers = m_script->layers;
        s.config.heads = 2;
        s.config.kvHeads = 1;
        s.parameters = 260000;
        s.weightBytes = 1 << 20;
        s.weightDtypes = "F32";
        s.weightFiles = 1;
        s.tokenizerFound = true;
        s.tokenizerVocab = 512;
        return s;
    }
    core::TraceEstimate estimate(const core::TraceRequest&) override
    {
        std::lock_guard lock(m_script->mutex);
        return m_script->estimate;
    }
    std::shared_ptr<core::OwnedTrace> trace(const core::TraceRequest& request, const core::ProgressFn& progress,
                                            std::stop_token stop, const core::ProbeFn& = {},
                                            const core::EstimateFn& onEstimate = {}) override
    {
        int layers = 0, throwAt = -1;
        std::chrono::milliseconds perLayer{};
        std::string message;
        {
            std::lock_guard lock(m_script->mutex);
            layers = m_script->layers;
            throwAt = m_script->throwAtLayer;
            perLayer = m_script->perLayer;
            message = m_script->throwMessage;
            m_script->lastPrompt = request.prompt.value_or("");
            if (onEstimate) onEstimate(m_script->estimate);
        }
        ++m_script->runsStarted;
        for (int l = 0; l < layers; ++l) {
            if (stop.stop_requested()) {
                ++m_script->runsStopped;
                throw Cancelled();
            }
            if (l == throwAt) throw BackendError(message);
            std::this_thread::sleep_for(perLayer);
            if (progress) progress({l + 1, layers, "sparse pass, layer " + std::to_string(l + 1)});
        }
        core::SyntheticTraceSpec spec;
        spec.layers = layers;
        spec.heads = 2;
        spec.promptTokens = 256;
        spec.params = request.params;
        spec.seed = static_cast<std::uint64_t>(m_script->runsStarted.load());
        ++m_script->runsCompleted;
        return core::makeSyntheticTrace(spec);
    }

private:
    std::shared_ptr<FakeEngineScript> m_script;
};

inline core::EngineFactory fakeEngineFactory(std::shared_ptr<FakeEngineScript> script)
{
    return [script] { return std::make_unique<FakeTraceEngine>(script); };
}

} // namespace sparsetrace::test
