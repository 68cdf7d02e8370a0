// Mask search of one head (spec section 2): the hierarchical top-k of the core reference, node for
// node, with the children of a round scored by float32 matrix products: centre and first gather
// the keys of a round's new representative blocks for one GEMM (scores memoised per block within
// a row), bound scores every child of a round at once as Q+ x Hi + Q- x Lo.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/head_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sparsetrace::gpu::cpu {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A node of the search: blocks [start, start + length), and its score once scored (a one-block
// node passing a round unchanged keeps the score it won with).
struct Node {
    int start = 0;
    int length = 0;
    float score = 0;
    bool scored = false;
};

// What one head's search reuses from row to row.
class RowSearch {
public:
    RowSearch(const core::AttentionInputs& in, const core::StreamParams& p, int head, const EnvelopeTable* table)
        : m_in(in), m_p(p), m_head(head), m_table(table), m_kvh(kvHeadOf(in, head)),
          m_memo(static_cast<std::size_t>(keyBlockCount(in, p.bk)))
    {
    }

    // The searched blocks of one row, ascending, into `searched`.
    void search(const core::RowPlan& plan, std::vector<int>& searched)
    {
        searched.clear();
        const int n = plan.rangeEnd - plan.rangeFirst;
        const int K = m_p.k;
        if (n <= K) {
            for (int b = plan.rangeFirst; b < plan.rangeEnd; ++b)
                searched.push_back(b);
            return;
        }
        prepareQueries(plan);
        m_nodes.clear();
        for (int i = 0; i < K; ++i) {
            const int start = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * i / K);
            const int next = plan.rangeFirst + static_cast<int>(static_cast<std::int64_t>(n) * (i + 1) / K);
            m_nodes.push_back({start, next - start, 0.0f, false});
        }
        const auto multiBlock = [](const Node& node) { return node.length > 1; };
        while (std::any_of(m_nodes.begin(), m_nodes.end(), multiBlock)) {
            m_children.clear();
            for (const Node& node : m_nodes) {
                const int half = node.length / 2;
                if (half > 0) m_children.push_back({node.start, half, 0.0f, false});
                m_children.push_back({node.start + half, node.length - half, node.score, half == 0 && node.scored});
            }
            scoreChildren();
            m_order.resize(m_children.size());
            std::iota(m_order.begin(), m_order.end(), std::size_t{0});
            std::stable_sort(m_order.begin(), m_order.end(), [&](std::size_t a, std::size_t b) {
                if (m_children[a].score != m_children[b].score) return m_children[a].score > m_children[b].score;
                return m_children[a].start < m_children[b].start;
            });
            m_order.resize(static_cast<std::size_t>(K));
            std::sort(m_order.begin(), m_order.end()); // back to ascending block order
            m_nodes.clear();
            for (std::size_t c : m_order)
                m_nodes.push_back(m_children[c]);
        }
        for (const Node& node : m_nodes)
            searched.push_back(node.start);
    }

private:
    // The scoring queries of the row as rows of m_queries [nq, D]; for bound also their positive
    // and negative parts.
    void prepareQueries(const core::RowPlan& plan)
    {
        m_positions = core::scoringQueries(plan, m_p);
        const int D = m_in.headDim;
        const auto nq = static_cast<Eigen::Index>(m_positions.size());
        m_queries.resize(nq, D);
        for (Eigen::Index u = 0; u < nq; ++u)
            m_queries.row(u) =
                ConstRowMap(m_in.q.data() + (static_cast<std::int64_t>(m_head) * m_in.queries +
                                             m_positions[static_cast<std::size_t>(u)] - m_in.queryOffset) *
                                                D,
                            1, D);
        if (m_p.score == core::ScoreRule::Bound) {
            m_positive = m_queries.cwiseMax(0.0f);
            m_negative = m_queries.cwiseMin(0.0f);
        } else {
            std::fill(m_memo.begin(), m_memo.end(), std::numeric_limits<float>::quiet_NaN());
        }
    }

    void scoreChildren()
    {
        if (m_p.score == core::ScoreRule::Bound) {
            scoreBounds();
            return;
        }
        // The representatives not scored yet in this row, their keys gathered: one GEMM per round.
        const auto representative = [&](const Node& child) {
            return m_p.score == core::ScoreRule::Centre ? child.start + child.length / 2 : child.start;
        };
        m_reps.clear();
        for (const Node& child : m_children)
            if (!child.scored && std::isnan(m_memo[static_cast<std::size_t>(representative(child))]))
                m_reps.push_back(representative(child));
        std::sort(m_reps.begin(), m_reps.end());
        m_reps.erase(std::unique(m_reps.begin(), m_reps.end()), m_reps.end());
        if (!m_reps.empty()) scoreRepresentatives();
        for (Node& child : m_children) {
            if (child.scored) continue;
            child.score = m_memo[static_cast<std::size_t>(representative(child))];
            child.scored = true;
        }
    }

    // m_memo of every block of m_reps: the max over the scoring queries j and the keys t <= j
    // (inside the sliding window) of the block of q_j . k_t; -inf when there is no such pair.
    void scoreRepresentatives()
    {
        const int D = m_in.headDim, bk = m_p.bk;
        m_gathered.resize(static_cast<Eigen::Index>(m_reps.size()) * bk, D);
        m_columnOf.assign(1, 0);
        for (int b : m_reps) {
            const std::int64_t first = static_cast<std::int64_t>(b) * bk;
            const std::int64_t count = std::min<std::int64_t>(bk, m_in.keys - first);
            m_gathered.middleRows(m_columnOf.back(), count) =
                ConstRowMap(m_in.k.data() + (static_cast<std::int64_t>(m_kvh) * m_in.keys + first) * D, count, D);
            m_columnOf.push_back(m_columnOf.back() + count);
        }
        m_scores.noalias() = m_queries * m_gathered.topRows(m_columnOf.back()).transpose(); // [nq, gathered] float32
        const int sw = m_in.slidingWindow;
        for (std::size_t r = 0; r < m_reps.size(); ++r) {
            const std::int64_t first = static_cast<std::int64_t>(m_reps[r]) * bk;
            const Eigen::Index col = m_columnOf[r], count = m_columnOf[r + 1] - col;
            const std::int64_t last = first + count - 1;
            float& memo = m_memo[static_cast<std::size_t>(m_reps[r])];
            if (last <= m_positions.front() && (sw <= 0 || first > m_positions.back() - sw)) {
                memo = m_scores.middleCols(col, count).maxCoeff();
                continue;
            }
            float best = kNegInf;
            for (std::size_t u = 0; u < m_positions.size(); ++u) {
                const std::int64_t j = m_positions[u];
                const std::int64_t from = std::max(first, sw > 0 ? j - sw + 1 : first);
                const std::int64_t to = std::min(last, j);
                if (from > to) continue;
                best = std::max(
                    best,
                    m_scores.row(static_cast<Eigen::Index>(u)).segment(col + from - first, to - from + 1).maxCoeff());
            }
            memo = best;
        }
    }

    // All unscored children of the round as one product: sum_d max(q_d lo_d, q_d hi_d) =
    // q+ . hi + q- . lo (one of the two terms of each channel is zero).
    void scoreBounds()
    {
        const int D = m_in.headDim;
        m_pending.clear();
        for (std::size_t c = 0; c < m_children.size(); ++c)
            if (!m_children[c].scored) m_pending.push_back(c);
        const auto C = static_cast<Eigen::Index>(m_pending.size());
        if (C == 0) return;
        m_lo.resize(D, C); // [D, C] float32
        m_hi.resize(D, C); // [D, C] float32
        for (Eigen::Index i = 0; i < C; ++i) {
            const Node& child = m_children[m_pending[static_cast<std::size_t>(i)]];
            m_table->envelope(child.start, child.length, m_lo.col(i), m_hi.col(i));
        }
        m_bounds.noalias() = m_positive * m_hi; // [nq, C] float32
        m_bounds.noalias() += m_negative * m_lo;
        for (Eigen::Index i = 0; i < C; ++i) {
            Node& child = m_children[m_pending[static_cast<std::size_t>(i)]];
            child.score = m_bounds.col(i).maxCoeff();
            child.scored = true;
        }
    }

    const core::AttentionInputs& m_in;
    const core::StreamParams& m_p;
    int m_head;
    const EnvelopeTable* m_table;
    int m_kvh;
    std::vector<float> m_memo;             // [blocks] float32: representative scores of the current row (NaN = not yet)
    std::vector<std::int64_t> m_positions; // [nq] positions of the scoring queries
    RowMatrix m_queries, m_positive, m_negative; // [nq, D] float32
    std::vector<int> m_reps;                     // representative blocks to score this round, ascending
    std::vector<Eigen::Index> m_columnOf;        // [reps + 1] first gathered key of each
    RowMatrix m_gathered;                        // [reps * bk, D] float32: their keys
    RowMatrix m_scores;                          // [nq, reps * bk] float32
    Eigen::MatrixXf m_lo, m_hi;                  // [D, C] float32: envelopes of the pending children
    Eigen::MatrixXf m_bounds;                    // [nq, C] float32
    std::vector<Node> m_nodes, m_children;
    std::vector<std::size_t> m_order, m_pending;
};

} // namespace

void searchHead(const core::AttentionInputs& in, const core::StreamParams& p, int head, const EnvelopeTable* table,
                std::int32_t* index)
{
    const std::int64_t R = in.rows(p);
    const int kp = p.kPrime();
    RowSearch rowSearch(in, p, head, table);
    std::vector<int> kept;
    for (std::int64_t r = 0; r < R; ++r) {
        const core::RowPlan plan = core::planRow(in, p, r);
        rowSearch.search(plan, kept);
        for (int b = plan.sinkFirst; b < plan.sinkEnd; ++b)
            kept.push_back(b);
        for (int b = plan.windowFirst; b < plan.windowEnd; ++b)
            kept.push_back(b);
        std::sort(kept.begin(), kept.end());
        kept.erase(std::unique(kept.begin(), kept.end()), kept.end()); // sinks and window may overlap
        std::copy(kept.begin(), kept.begin() + std::min<std::ptrdiff_t>(kp, static_cast<std::ptrdiff_t>(kept.size())),
                  index + r * kp);
    }
}

} // namespace sparsetrace::gpu::cpu
