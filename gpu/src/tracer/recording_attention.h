// The tracer's attention backends: Stream-Attn in every layer, recording each call's kept blocks
// and masses into per-layer records (prefill rows, then one row per decode step), and the dense
// baseline with progress and cancellation between layers. Torch header: gpu/src only.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "model/attention_backend.h"

#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_request.h"
#include "sparsetrace/core/trace_timings.h"

#include <functional>
#include <string>
#include <future>
#include <stop_token>
#include <vector>

namespace sparsetrace::gpu {

// Laps of a forward pass on a run's phase clock (issue 19), split at every attention call:
// "<stage>: model" (what the model did since the last lap) before it and "<stage>: <what>" after.
// Inert without a clock, as in every run that asks for no timings.
struct ForwardLaps {
    core::PhaseClock* clock = nullptr;
    std::string stage;
    void lap(const char* what) const
    {
        if (clock && clock->active()) clock->lap(stage + ": " + what);
    }
};

// On CUDA with `totalRows` given (prefill rows + decode steps), the records of every layer go to
// one device buffer [L, H, totalRows, K'] allocated at the first call and copied to the host once
// by takeLayers(), straight into the layers' vectors; otherwise (CPU, or totalRows 0) each call's rows are
// copied to the host as they come.
class StreamAttnRecorder : public AttentionBackend {
public:
    StreamAttnRecorder(const core::StreamParams& params, int layers, int heads, bool fidelity, core::CpuBackend cpuBackend,
                       std::stop_token stop, std::function<void(int layer)> onLayer, std::int64_t totalRows = 0);
    torch::Tensor attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v) override;
    // The records, [H, rows, K'] per layer; rows() tells how many each holds. On the device
    // path, `clock` (optional) laps "record host memory" once the host vectors are allocated.
    std::vector<core::LayerRecord> takeLayers(core::PhaseClock* clock = nullptr);
    std::int64_t rows(int layer) const { return m_rows.at(static_cast<std::size_t>(layer)); }
    // Laps "<stage>: model", "<stage>: Stream-Attn", "<stage>: fidelity" (and, on the CPU,
    // "<stage>: records to host") at each call from now on.
    void setLaps(ForwardLaps laps) { m_laps = std::move(laps); }

private:
    core::StreamParams m_params;
    int m_heads;
    bool m_fidelity;
    core::CpuBackend m_cpuBackend;
    std::stop_token m_stop;
    std::function<void(int)> m_onLayer;
    std::vector<core::LayerRecord> m_layers;
    std::vector<std::int64_t> m_rows;
    std::int64_t m_totalRows;
    // Device records [L, H, totalRows, K'] (captured: [L, H, totalRows]); undefined until a CUDA call.
    torch::Tensor m_index, m_mass, m_captured, m_oracle;
    ForwardLaps m_laps;
    // Sizes every layer's host vectors for all reserved rows (`reserved`) or for the rows written.
    void sizeHostRecords(bool reserved, int threads);
    // The host vectors being sized for the device path's records while the model runs; last, so
    // that it is waited for before the layers it fills are destroyed.
    std::future<void> m_hostMemory;
};

// Exact attention with a cancellation check and a progress report per layer.
class ObservedDenseAttention : public DenseAttention {
public:
    ObservedDenseAttention(std::stop_token stop, std::function<void(int layer)> onLayer)
        : m_stop(std::move(stop)), m_onLayer(std::move(onLayer))
    {
    }
    torch::Tensor attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v) override;
    // Laps "<stage>: model" and "<stage>: attention" at each call from now on.
    void setLaps(ForwardLaps laps) { m_laps = std::move(laps); }

private:
    std::stop_token m_stop;
    std::function<void(int)> m_onLayer;
    ForwardLaps m_laps;
};

// Dense attention restricted to the blocks recorded in a trace's layers (an additive mask built
// from the recorded indices): the independent check that the tracer really applied its masks.
// Rows are consumed in order (prefill rows, then one per decode step), as the tracer wrote them.
class RecordedMaskAttention : public AttentionBackend {
public:
    RecordedMaskAttention(const core::StreamParams& params, std::vector<core::LayerRecord> layers, int heads,
                          std::int64_t totalRows);
    torch::Tensor attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                         const torch::Tensor& v) override;

private:
    core::StreamParams m_params;
    std::vector<core::LayerRecord> m_layers;
    int m_heads;
    std::int64_t m_totalRows;
    std::vector<std::int64_t> m_rowsUsed;
};

} // namespace sparsetrace::gpu
