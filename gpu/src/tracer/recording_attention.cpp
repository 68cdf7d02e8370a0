// Recording Stream-Attn backend, observed dense backend, and the recorded-mask check backend.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tracer/recording_attention.h"

#include "stream_attn/stream_attn_op.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/job_runner.h"
#include "sparsetrace/core/stream_attn.h"

#include <algorithm>
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
                                       core::CpuBackend cpuBackend, std::stop_token stop, std::function<void(int)> onLayer)
    : m_params(params), m_heads(heads), m_fidelity(fidelity), m_cpuBackend(cpuBackend), m_stop(std::move(stop)),
      m_onLayer(std::move(onLayer)),
      m_layers(static_cast<std::size_t>(layers)), m_rows(static_cast<std::size_t>(layers), 0)
{
}

torch::Tensor StreamAttnRecorder::attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                         const torch::Tensor& v)
{
    core::throwIfStopped(m_stop);
    const auto l = static_cast<std::size_t>(call.layer);
    StreamAttnOptions options;
    options.scale = call.scale;
    options.slidingWindow = call.slidingWindow;
    options.queryOffset = call.queryOffset;
    options.cpuBackend = m_cpuBackend;
    options.dense = std::find(m_params.denseLayers.begin(), m_params.denseLayers.end(), call.layer) !=
                    m_params.denseLayers.end();
    StreamAttnOutput out = streamAttention(q, k, v, m_params, options);

    core::StreamAttnResult rows;
    rows.rows = out.index.size(1);
    rows.kPrime = static_cast<int>(out.index.size(2));
    rows.index = toVector<std::int32_t>(out.index);
    rows.mass = toVector<float>(out.mass);
    core::FidelityResult fidelity;
    if (m_fidelity) {
        StreamAttnFidelity f = streamAttentionFidelity(q, k, v, m_params, options, out.index);
        fidelity.captured = toVector<float>(f.captured);
        fidelity.oracleIndex = toVector<std::int32_t>(f.oracleIndex);
    }
    core::appendRows(m_layers[l], m_heads, m_rows[l], rows, m_fidelity ? &fidelity : nullptr);
    m_rows[l] += rows.rows;
    m_layers[l].dense = options.dense;
    if (m_onLayer) m_onLayer(call.layer);
    return out.output;
}

std::vector<core::LayerRecord> StreamAttnRecorder::takeLayers() { return std::move(m_layers); }

torch::Tensor ObservedDenseAttention::attend(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v)
{
    core::throwIfStopped(m_stop);
    torch::Tensor out = DenseAttention::attend(call, q, k, v);
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
