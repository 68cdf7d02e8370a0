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

// The keys and values of one KV head laid out for the vector kernels (simd_kernels.h): keys
// transposed, both zero-padded (head dim to a multiple of kSimdDims, keys by kSimdKeys more), so
// that a tile of any start reads whole vectors. Built once per call and KV head.
struct PackedKv {
    PackedKv() = default;
    PackedKv(const core::AttentionInputs& in, int kvHead);
    int dims = 0, dp = 0;             // head dim D, padded
    std::int64_t keys = 0, ld = 0;    // keys Tk, padded
    std::vector<float> kT;            // [dp, ld] float32
    std::vector<float> v;             // [ld, dp] float32
};

struct SimdKernels;

// One head's attention, a row of queries at a time, with its scratch reused from row to row.
class RowAttention {
public:
    RowAttention(const core::AttentionInputs& in, int head, const PackedKv& kv);
    // Queries [i0, i0 + nq) over key blocks [firstBlock, lastBlock] of bk keys, streamed in tiles:
    // with `output` ([nq, D] float32) the exact attention, with `mass` each block's dense mass
    // averaged over the queries ([lastBlock - firstBlock + 1] float64).
    void dense(std::int64_t i0, int nq, int firstBlock, int lastBlock, int bk, float* output, std::vector<double>* mass);
    // Queries [i0, i0 + nq) over the keys they see in `blocks` (ascending) with one softmax per
    // query: output [nq, D] float32 and mass [blocks.size()] float32 averaged over the queries.
    void sparse(std::int64_t i0, int nq, const std::vector<int>& blocks, int bk, float* output, float* mass);

private:
    void loadQueries(std::int64_t i0, int nq);
    // Sets to -inf the scores (columns [col, col + end - first) of m_s, row stride lds) of keys
    // [first, end) that their query cannot see (causal, sliding window).
    void maskKeys(int nq, std::int64_t firstPos, std::int64_t first, std::int64_t end, int col, int lds);

    const core::AttentionInputs& m_in;
    const PackedKv& m_kv;
    const SimdKernels& m_k;
    int m_head;
    float m_scale;
    int m_nqp = 0;                         // queries padded to kSimdQueries
    std::vector<float> m_q;                // [nqp, dp] float32
    std::vector<float> m_s;                // [nqp, tile] float32: scores, then exps
    std::vector<float> m_bmax, m_bsum;     // [nq, blocks] float32: per (query, block) maximum and exp-sum
    std::vector<float> m_weight;           // [blocks] float32: exp(block max - row max)
    std::vector<double> m_weighted;        // [blocks] float64
    std::vector<double> m_rowMass;         // [blocks] float64
    std::vector<float> m_acc;              // [nqp, dp] float32: output numerators
    std::vector<float> m_runMax, m_runSum; // [nq] float32: running maximum and normaliser
    std::vector<float> m_gk, m_gv;         // gathered keys [dp, n] and values [n, dp]
    std::vector<int> m_starts;             // first column of each block in the tile, then the end
};

// Block-sparse attention of one head over its mask rows index [R, K'] int32 (validated): writes
// output [Tq, D] float32 and mass [R, K'] float32 (pre-filled with 0).
void attendHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const PackedKv& kv,
                const std::int32_t* index, float* output, float* mass);

// Dense layer of one head: exact attention output [Tq, D] float32, and per row the K' blocks of
// highest dense mass into index [R, K'] int32 (pre-filled with -1) and mass [R, K'] float32.
void denseHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const PackedKv& kv, float* output,
               std::int32_t* index, float* mass);

// Fidelity of one head's mask rows index [R, K'] int32 (validated): captured [R] float32,
// oracleIndex [R, K'] int32 (pre-filled with -1), oracleMass [R, K'] float32.
void fidelityHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const PackedKv& kv,
                  const std::int32_t* index, float* captured, std::int32_t* oracleIndex, float* oracleMass);

// Exact causal attention of one head (sliding window respected), output [Tq, D] float32.
void exactHead(const core::AttentionInputs& in, int head, const PackedKv& kv, float* output);

} // namespace sparsetrace::gpu::cpu
