// widgets::TraceEngineInterface over gpu::TraceEngine (see gpu_trace_engine.h). No Qt here:
// only the engine's torch-free headers.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "gpu_trace_engine.h"

#include "sparsetrace/gpu/device.h"
#include "sparsetrace/gpu/trace_engine.h"

namespace sparsetrace::explorer {

namespace {

class GpuTraceEngine final : public widgets::TraceEngineInterface {
public:
    std::vector<widgets::DeviceChoice> devices() override
    {
        std::vector<widgets::DeviceChoice> out;
        for (const gpu::DeviceInfo& d : gpu::availableDevices()) out.push_back({d.id, d.description});
        return out;
    }
    core::ModelFolderSummary inspect(const std::string& modelDir) override { return core::inspectModelFolder(modelDir); }
    core::TraceEstimate estimate(const core::TraceRequest& request) override { return m_engine.estimate(request); }
    std::shared_ptr<core::OwnedTrace> trace(const core::TraceRequest& request, const core::ProgressFn& progress,
                                            std::stop_token stop,
                                            const std::function<void(const core::ProbeReport&)>& onProbe) override
    {
        return m_engine.trace(request, progress, stop, onProbe);
    }

private:
    gpu::TraceEngine m_engine;
};

} // namespace

widgets::EngineFactory gpuEngineFactory()
{
    return [] { return std::make_unique<GpuTraceEngine>(); };
}

} // namespace sparsetrace::explorer
