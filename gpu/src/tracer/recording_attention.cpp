// Recording Stream-Attn backend, observed dense backend, and the recorded-mask check backend.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tracer/recording_attention.h"

#include "stream_attn/stream_attn_op.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/job_runner.h"
#include "sparsetrace/core/parallel_for.h"
#include "sparsetrace/core/stream_attn.h"

#include <algorithm>
#include <future>
#include <thread>
#include <limits>

namespace sparsetrace::gpu {

namespace {
template <class T> std::vector<T> toVector(const torch::Tensor& t)
{
    torch::Tensor c = t.to(torch::kCPU).contiguous();
    const T* p = c.data_ptr<T>();
    return std::vector<T>(p, p + c.numel());
}
} // namespace

StreamAttnRecorder::StreamAttnRecorder(const core::StreamParams& params, int layers, int heads, bool fidelity,
                                       core::CpuBackend cpuBackend, std::stop_token stop, std::function<void(int)> onLayer,
                                       std::int64_t totalRows)
    : m_params(params), m_heads(heads), m_fidelity(fidelity), m_cpuBackend(cpuBackend), m_stop(std::move(stop)),
      m_onLayer(std::move(onLayer)),
      m_layers(static_cast<std::size_t>(layers)), m_rows(static_cast<std::size_t>(layers), 0), m_totalRows(totalRows)
{
}

torch::Tensor StreamAttnRecorder::attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                         const torch::Tensor& v)
{
    core::throwIfStopped(m_stop);
    m_laps.lap("model");
    const auto l = static_cast<std::size_t>(call.layer);
    StreamAttnOptions options;
    options.scale = call.scale;
    options.slidingWindow = call.slidingWindow;
    options.queryOffset = call.queryOffset;
    options.cpuBackend = m_cpuBackend;
    options.dense = std::find(m_params.denseLayers.begin(), m_params.denseLayers.end(), call.layer) !=
                    m_params.denseLayers.end();
    const std::int64_t callRows = (q.size(1) + m_params.bq - 1) / m_params.bq;
    const int kp = m_params.kPrime();
    if (q.is_cuda() && m_totalRows > 0 && m_rows[l] + callRows <= m_totalRows) {
        // The device path: rows go to the layer's slice of the record buffer.
        if (!m_index.defined()) {
            const auto on = torch::TensorOptions().device(q.device());
            const std::int64_t L = static_cast<std::int64_t>(m_layers.size());
            m_index = torch::full({L, m_heads, m_totalRows, kp}, -1, on.dtype(torch::kInt));
            m_mass = torch::zeros({L, m_heads, m_totalRows, kp}, on.dtype(torch::kFloat));
            if (m_fidelity) {
                m_captured = torch::zeros({L, m_heads, m_totalRows}, on.dtype(torch::kFloat));
                m_oracle = torch::full({L, m_heads, m_totalRows, kp}, -1, on.dtype(torch::kInt));
            }
            // The host side of the records (220 MB at 128k tokens), allocated and first touched
            // on half the cores while the model runs: takeLayers only copies into it.
            const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2));
            m_hostMemory = std::async(std::launch::async, [this, threads] { sizeHostRecords(true, threads); });
        }
        const std::int64_t r0 = m_rows[l];
        torch::Tensor indexAt = m_index[static_cast<std::int64_t>(l)].narrow(1, r0, callRows);
        torch::Tensor massAt = m_mass[static_cast<std::int64_t>(l)].narrow(1, r0, callRows);
        // A slice is contiguous when it holds every row of the layer (a prefill without decode
        // steps, or one head): the op writes there directly; otherwise one small device copy.
        if (indexAt.is_contiguous()) {
            options.indexOut = indexAt;
            options.massOut = massAt;
        }
        StreamAttnOutput out = streamAttention(q, k, v, m_params, options);
        if (out.index.data_ptr() != indexAt.data_ptr()) indexAt.copy_(out.index);
        if (out.mass.data_ptr() != massAt.data_ptr()) massAt.copy_(out.mass);
        m_laps.lap("Stream-Attn");
        if (m_fidelity) {
            StreamAttnFidelity f = streamAttentionFidelity(q, k, v, m_params, options, out.index);
            m_captured[static_cast<std::int64_t>(l)].narrow(1, r0, callRows).copy_(f.captured);
            m_oracle[static_cast<std::int64_t>(l)].narrow(1, r0, callRows).copy_(f.oracleIndex);
            m_laps.lap("fidelity");
        }
        m_rows[l] += callRows;
        m_layers[l].dense = options.dense;
        if (m_onLayer) m_onLayer(call.layer);
        return out.output;
    }
    if (m_index.defined())
        throw BackendError("Stream-Attn recorder: layer " + std::to_string(call.layer) + " has more rows than the " +
                           std::to_string(m_totalRows) + " reserved for it");
    StreamAttnOutput out = streamAttention(q, k, v, m_params, options);
    m_laps.lap("Stream-Attn");

    core::StreamAttnResult rows;
    rows.rows = out.index.size(1);
    rows.kPrime = static_cast<int>(out.index.size(2));
    rows.index = toVector<std::int32_t>(out.index);
    rows.mass = toVector<float>(out.mass);
    core::FidelityResult fidelity;
    if (m_fidelity) {
        StreamAttnFidelity f = streamAttentionFidelity(q, k, v, m_params, options, out.index);
        m_laps.lap("fidelity");
        fidelity.captured = toVector<float>(f.captured);
        fidelity.oracleIndex = toVector<std::int32_t>(f.oracleIndex);
    }
    core::appendRows(m_layers[l], m_heads, m_rows[l], rows, m_fidelity ? &fidelity : nullptr);
    m_laps.lap("records to host");
    m_rows[l] += rows.rows;
    m_layers[l].dense = options.dense;
    if (m_onLayer) m_onLayer(call.layer);
    return out.output;
}

void StreamAttnRecorder::sizeHostRecords(bool reserved, int threads)
{
    const auto H = static_cast<std::size_t>(m_heads), kp = static_cast<std::size_t>(m_params.kPrime());
    core::parallelFor(
        static_cast<std::int64_t>(m_layers.size()),
        [&](std::int64_t l) {
            core::LayerRecord& into = m_layers[static_cast<std::size_t>(l)];
            const std::size_t cells = H * static_cast<std::size_t>(reserved ? m_totalRows : m_rows[static_cast<std::size_t>(l)]);
            into.index.resize(cells * kp);
            into.mass.resize(cells * kp);
            if (m_fidelity) {
                into.captured.resize(cells);
                into.oracleIndex.resize(cells * kp);
            }
        },
        threads);
}

std::vector<core::LayerRecord> StreamAttnRecorder::takeLayers(core::PhaseClock* clock)
{
    if (!m_index.defined()) return std::move(m_layers);
    const auto kp = static_cast<std::size_t>(m_params.kPrime());
    const std::size_t L = m_layers.size();
    // The host vectors, sized for every reserved row while the model ran (faulting in their
    // pages on one thread, after the pass, cost more than the copy), then to the rows written.
    if (m_hostMemory.valid()) m_hostMemory.get();
    sizeHostRecords(false, 0);
    if (clock) clock->lap("record host memory");
    // Then each layer's rows [0, rows) of every head straight from the device buffer into them:
    // one copy per record and layer (a contiguous slice when every reserved row was written);
    // no pinned staging buffer (allocated per size and kept by the caching host allocator: 256 MB
    // pinned at 128k tokens, 2 GB at 1M) and no second copy on the host.
    for (std::size_t l = 0; l < L; ++l) {
        const std::int64_t rows = m_rows[l];
        const auto li = static_cast<std::int64_t>(l);
        const auto take = [&](const torch::Tensor& all, auto& into, torch::ScalarType type, bool perBlock) {
            std::vector<std::int64_t> sizes = {m_heads, rows};
            if (perBlock) sizes.push_back(static_cast<std::int64_t>(kp));
            torch::Tensor host = torch::from_blob(into.data(), sizes, torch::TensorOptions().dtype(type).device(torch::kCPU));
            host.copy_(all[li].narrow(1, 0, rows));
        };
        take(m_index, m_layers[l].index, torch::kInt, true);
        take(m_mass, m_layers[l].mass, torch::kFloat, true);
        if (m_fidelity) {
            take(m_captured, m_layers[l].captured, torch::kFloat, false);
            take(m_oracle, m_layers[l].oracleIndex, torch::kInt, true);
        }
    }
    m_index = m_mass = m_captured = m_oracle = torch::Tensor();
    return std::move(m_layers);
}

torch::Tensor ObservedDenseAttention::attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v)
{
    core::throwIfStopped(m_stop);
    m_laps.lap("model");
    torch::Tensor out = DenseAttention::attend(call, q, k, v);
    m_laps.lap("attention");
    if (m_onLayer) m_onLayer(call.layer);
    return out;
}

RecordedMaskAttention::RecordedMaskAttention(const core::StreamParams& params, std::vector<core::LayerRecord> layers,
                                             int heads, std::int64_t totalRows)
    : m_params(params), m_layers(std::move(layers)), m_heads(heads), m_totalRows(totalRows),
      m_rowsUsed(m_layers.size(), 0)
{
}

torch::Tensor RecordedMaskAttention::attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                            const torch::Tensor& v)
{
    // Plain masked softmax in float32 on the CPU: [H, Tq, Tk] is fine for the small prompts this
    // check runs on (tests), and it shares no code with the Stream-Attn op it checks.
    const auto l = static_cast<std::size_t>(call.layer);
    const int H = static_cast<int>(q.size(0));
    const std::int64_t Tq = q.size(1), Tk = k.size(1);
    const int group = H / static_cast<int>(k.size(0));
    const int kp = m_params.kPrime();
    const core::LayerRecord& rec = m_layers.at(l);
    const std::int64_t callRows = (Tq + m_params.bq - 1) / m_params.bq;
    torch::Tensor qf = q.to(torch::kCPU, torch::kFloat32), kf = k.to(torch::kCPU, torch::kFloat32),
                  vf = v.to(torch::kCPU, torch::kFloat32);
    torch::Tensor allowed = torch::zeros({H, Tq, Tk}, torch::kBool);
    auto a = allowed.accessor<bool, 3>();
    for (int h = 0; h < H; ++h)
        for (std::int64_t r = 0; r < callRows; ++r) {
            const std::int64_t row = m_rowsUsed[l] + r;
            for (int i = 0; i < kp; ++i) {
                const std::int32_t blk = rec.index[static_cast<std::size_t>((h * m_totalRows + row) * kp + i)];
                if (blk < 0) continue;
                for (std::int64_t qi = r * m_params.bq; qi < std::min<std::int64_t>(Tq, r * m_params.bq + m_params.bq); ++qi) {
                    const std::int64_t pos = call.queryOffset + qi;
                    for (std::int64_t t = static_cast<std::int64_t>(blk) * m_params.bk;
                         t < std::min<std::int64_t>(Tk, static_cast<std::int64_t>(blk + 1) * m_params.bk); ++t) {
                        const bool causal = t <= pos;
                        const bool inWindow = call.slidingWindow <= 0 || t > pos - call.slidingWindow;
                        if (causal && inWindow) a[h][qi][t] = true;
                    }
                }
            }
        }
    m_rowsUsed[l] += callRows;
    torch::Tensor kExp = kf.repeat_interleave(group, 0), vExp = vf.repeat_interleave(group, 0);
    torch::Tensor scores = torch::matmul(qf, kExp.transpose(1, 2)) * call.scale;
    scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
    torch::Tensor out = torch::matmul(torch::softmax(scores, -1), vExp);
    return out.to(q.device(), q.scalar_type());
}

} // namespace sparsetrace::gpu
