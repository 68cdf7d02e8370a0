// k search, behaviour measures and per-head statistics (spec sections 3 and 4).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/k_search.h"

#include "sparsetrace/core/error.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
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

HeadStats computeHeadStats(const TraceInfo& info, int layer, const LayerView& view)
{
    HeadStats out;
    const std::int64_t qb = info.queryBlocks();
    for (int h = 0; h < view.heads; ++h) {
        out.sparsity.push_back(static_cast<float>(headSparsity(info, layer, view, h).sparsity()));
        double entropySum = 0;
        for (std::int64_t r = 0; r < qb; ++r) {
            auto mass = view.massRow(h, r);
            double total = 0;
            for (float m : mass) total += m;
            double e = 0;
            if (total > 0)
                for (float m : mass)
                    if (m > 0) e -= (m / total) * std::log(m / total);
            entropySum += e;
        }
        out.entropy.push_back(static_cast<float>(qb > 0 ? entropySum / static_cast<double>(qb) : 0.0));
    }
    return out;
}

void storeHeadStats(OwnedTrace& trace)
{
    const int L = trace.layers(), H = trace.heads();
    std::vector<float> sparsity(static_cast<std::size_t>(L * H)), entropy(static_cast<std::size_t>(L * H));
    // Layers are independent: one thread per core over them (a 1M-token trace holds 220M masses),
    // each layer's numbers computed as on one thread.
    const auto one = [&](int l) {
        HeadStats s = computeHeadStats(trace.info(), l, trace.layer(l));
        std::copy(s.sparsity.begin(), s.sparsity.end(), sparsity.begin() + l * H);
        std::copy(s.entropy.begin(), s.entropy.end(), entropy.begin() + l * H);
    };
    const int threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, std::max(1, L));
    std::atomic<int> next{0};
    std::exception_ptr failed;
    std::mutex failedLock;
    const auto work = [&] {
        for (int l; (l = next++) < L;) {
            try {
                one(l);
            } catch (...) {
                const std::lock_guard<std::mutex> lock(failedLock);
                if (!failed) failed = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failed) std::rethrow_exception(failed);
    trace.mutableInfo().headStats["sparsity"] = std::move(sparsity);
    trace.mutableInfo().headStats["entropy"] = std::move(entropy);
}

} // namespace sparsetrace::core
