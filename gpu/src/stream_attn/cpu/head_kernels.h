// Internals of the CPU backend: Eigen types, the bound rule's envelope table, and the per-head
// passes (mask search, block-sparse attention, streamed dense pass) that stream_attn_cpu.cpp runs
// on one thread per head. Inputs are validated by the caller; these functions trust them.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/stream_attn.h"

#include <Eigen/Core>

#include <cstdint>
#include <vector>

namespace sparsetrace::gpu::cpu {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMatrix>;
using ConstRowMap = Eigen::Map<const RowMatrix>;

inline int kvHeadOf(const core::AttentionInputs& in, int head)
{
    return head / (in.heads / in.kvHeads);
}
inline int keyBlockCount(const core::AttentionInputs& in, int bk)
{
    return static_cast<int>((in.keys + bk - 1) / bk);
}

// The channel-wise min and max of the keys of any range of key blocks of one KV head (the bound
// rule, spec section 2), as core::BlockEnvelopeTable but in Eigen arrays: level l holds, column i,
// the envelope of blocks [i, i + 2^l); a range is the union of two overlapping power-of-two ranges.
class EnvelopeTable {
public:
    EnvelopeTable() = default;
    EnvelopeTable(const core::AttentionInputs& in, int kvHead, int bk);
    // Writes the envelope of blocks [first, first + count) into lo and hi ([D] columns).
    void envelope(int first, int count, Eigen::Ref<Eigen::VectorXf> lo, Eigen::Ref<Eigen::VectorXf> hi) const;

private:
    std::vector<Eigen::MatrixXf> m_lo, m_hi; // [levels] of [D, blocks] float32 (column i valid for i + 2^l <= blocks)
};

// Mask search of one head: writes its kept blocks into index [R, K'] int32 (pre-filled with -1).
// `table` is the head's KV envelope table (bound rule only, else null).
void searchHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const EnvelopeTable* table,
                std::int32_t* index);

// Block-sparse attention of one head over its mask rows index [R, K'] int32 (validated): writes
// output [Tq, D] float32 and mass [R, K'] float32 (pre-filled with 0).
void attendHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const std::int32_t* index,
                float* output, float* mass);

// Dense layer of one head: exact attention output [Tq, D] float32, and per row the K' blocks of
// highest dense mass into index [R, K'] int32 (pre-filled with -1) and mass [R, K'] float32.
void denseHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, float* output,
               std::int32_t* index, float* mass);

// Fidelity of one head's mask rows index [R, K'] int32 (validated): captured [R] float32,
// oracleIndex [R, K'] int32 (pre-filled with -1), oracleMass [R, K'] float32.
void fidelityHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const std::int32_t* index,
                  float* captured, std::int32_t* oracleIndex, float* oracleMass);

} // namespace sparsetrace::gpu::cpu
