// Stream-Attn test problems shared by the reference's test (tests/core) and the CPU backend's
// (tests/gpu): a problem owning the tensors its AttentionInputs views, parameters in one call,
// and the hand-worked fixtures (tests/fixtures/stream_attn/*.json) loaded as problems.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/stream_attn.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <vector>

namespace sparsetrace::test {

// Owns the tensors an AttentionInputs views.
struct StreamAttnProblem {
    std::vector<float> q, k, v; // [H, Tq, D], [Hkv, Tk, D], [Hkv, Tk, D] float32
    core::AttentionInputs in;
    core::StreamParams params;

    void bind()
    {
        in.q = q;
        in.k = k;
        in.v = v;
    }
};

inline core::StreamParams streamParams(int bq, int bk, int k, int sinks, int window, int stride = 1,
                                       core::ScoreRule rule = core::ScoreRule::Centre)
{
    core::StreamParams p;
    p.bq = bq;
    p.bk = bk;
    p.k = k;
    p.sinks = sinks;
    p.window = window;
    p.queryStride = stride;
    p.score = rule;
    return p;
}

// A fixture's problem (scale 1). Values do not affect the mask; a fixed pattern lets the output
// checks run too. The expected rows stay in the json ("expected": head, row, index).
inline StreamAttnProblem fixtureProblem(const nlohmann::json& j)
{
    StreamAttnProblem pr;
    pr.params = core::StreamParams::fromJson(j.at("params"));
    pr.in.heads = j.at("heads");
    pr.in.kvHeads = j.at("kv_heads");
    pr.in.headDim = j.at("head_dim");
    pr.in.keys = j.at("keys");
    pr.in.queries = j.at("queries");
    pr.in.queryOffset = j.at("query_offset");
    pr.in.slidingWindow = j.at("sliding_window");
    pr.in.scale = 1.0;
    pr.q = j.at("q").get<std::vector<float>>();
    pr.k = j.at("k").get<std::vector<float>>();
    pr.v.resize(pr.k.size());
    for (std::size_t i = 0; i < pr.v.size(); ++i)
        pr.v[i] = static_cast<float>(std::sin(0.7 * double(i) + 0.3));
    pr.bind();
    return pr;
}

} // namespace sparsetrace::test
