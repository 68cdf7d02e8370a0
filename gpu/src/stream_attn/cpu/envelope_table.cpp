// The bound rule's sparse table of block envelopes (per-channel min and max of the keys), built
// once per attention call and KV head from all Tk keys, as Eigen arrays.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/head_kernels.h"

#include <algorithm>

namespace sparsetrace::gpu::cpu {

EnvelopeTable::EnvelopeTable(const core::AttentionInputs& in, int kvHead, int bk)
{
    const int D = in.headDim;
    const int blocks = keyBlockCount(in, bk);
    int levels = 1;
    while ((std::int64_t{1} << levels) <= blocks)
        ++levels;
    m_lo.resize(static_cast<std::size_t>(levels));
    m_hi.resize(m_lo.size());
    m_lo[0].resize(D, blocks);
    m_hi[0].resize(D, blocks);
    const ConstRowMap keys(in.k.data() + static_cast<std::int64_t>(kvHead) * in.keys * D, in.keys,
                           D); // [Tk, D] float32
    for (int b = 0; b < blocks; ++b) {
        const std::int64_t first = static_cast<std::int64_t>(b) * bk;
        const std::int64_t count = std::min<std::int64_t>(bk, in.keys - first);
        m_lo[0].col(b) = keys.middleRows(first, count).colwise().minCoeff().transpose();
        m_hi[0].col(b) = keys.middleRows(first, count).colwise().maxCoeff().transpose();
    }
    for (int l = 1; l < levels; ++l) {
        const int span = 1 << l, half = span / 2;
        const int valid = blocks - span + 1; // columns i with i + 2^l <= blocks
        const auto li = static_cast<std::size_t>(l);
        m_lo[li].resize(D, valid);
        m_hi[li].resize(D, valid);
        m_lo[li] = m_lo[li - 1].leftCols(valid).cwiseMin(m_lo[li - 1].middleCols(half, valid));
        m_hi[li] = m_hi[li - 1].leftCols(valid).cwiseMax(m_hi[li - 1].middleCols(half, valid));
    }
}

void EnvelopeTable::envelope(int first, int count, Eigen::Ref<Eigen::VectorXf> lo, Eigen::Ref<Eigen::VectorXf> hi) const
{
    int l = 0;
    while ((2 << l) <= count)
        ++l; // 2^l <= count < 2^(l+1)
    const auto li = static_cast<std::size_t>(l);
    const int second = first + count - (1 << l);
    lo = m_lo[li].col(first).cwiseMin(m_lo[li].col(second));
    hi = m_hi[li].col(first).cwiseMax(m_hi[li].col(second));
}

} // namespace sparsetrace::gpu::cpu
