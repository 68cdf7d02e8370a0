// k search and behaviour measures (spec section 4).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/k_search.h"

#include "sparsetrace/core/error.h"

#include <algorithm>
#include <cmath>

namespace sparsetrace::core {

int maxSearchableK(std::int64_t promptTokens, const StreamParams& p)
{
    const std::int64_t last = promptTokens - 1;
    const std::int64_t firstWindowBlock = std::max<std::int64_t>(0, last - p.window + 1) / p.bk;
    const std::int64_t range = firstWindowBlock - p.sinks / p.bk;
    return static_cast<int>(std::clamp<std::int64_t>(range, 1, 1 << 24));
}

int maxKSearchProbes(int kMax)
{
    int rounds = 0;
    while ((1 << rounds) < kMax) ++rounds;
    return rounds + 1;
}

KSearchOutcome searchSmallestK(int kMax, const std::function<KProbe(int)>& probe)
{
    if (kMax < 1) throw ArgumentError("k search: the largest K must be at least 1");
    KSearchOutcome out;
    auto run = [&](int k) {
        KProbe p = probe(k);
        p.k = k;
        out.probes.push_back(p);
        return p.preserved;
    };
    if (!run(kMax)) {
        out.k = kMax;
        out.found = false;
        return out;
    }
    int lo = 1, hi = kMax; // invariant: hi preserves; every K < lo was found not to
    while (lo < hi) {
        const int mid = lo + (hi - lo) / 2;
        if (run(mid)) hi = mid;
        else lo = mid + 1;
    }
    out.k = hi;
    out.found = true;
    return out;
}

double klDivergenceFromLogits(std::span<const float> p, std::span<const float> q)
{
    if (p.size() != q.size() || p.empty()) throw ArgumentError("KL divergence: logit vectors differ in size");
    auto logSumExp = [](std::span<const float> x) {
        double m = *std::max_element(x.begin(), x.end());
        double s = 0;
        for (float v : x) s += std::exp(static_cast<double>(v) - m);
        return m + std::log(s);
    };
    const double lp = logSumExp(p), lq = logSumExp(q);
    double kl = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const double logP = p[i] - lp;
        const double logQ = q[i] - lq;
        kl += std::exp(logP) * (logP - logQ);
    }
    return std::max(0.0, kl);
}

int argmaxLogit(std::span<const float> logits)
{
    if (logits.empty()) throw ArgumentError("argmax of no logits");
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

} // namespace sparsetrace::core
