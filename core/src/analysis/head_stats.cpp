// Per-head statistics (definitions in head_stats.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/head_stats.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <vector>

namespace sparsetrace::core {

namespace {
bool hasCaptured(const Trace& t) { return t.layers() > 0 && !t.layer(0).captured.empty(); }

// Mean row entropy of head h over the prompt's query blocks.
double meanEntropy(const TraceInfo& info, const LayerView& v, int h)
{
    const std::int64_t qb = info.queryBlocks();
    double sum = 0;
    for (std::int64_t r = 0; r < qb; ++r) sum += rowEntropy(v.indexRow(h, r), v.massRow(h, r));
    return qb > 0 ? sum / static_cast<double>(qb) : 0.0;
}
} // namespace

double rowEntropy(std::span<const std::int32_t> index, std::span<const float> mass)
{
    const std::size_t n = std::min(index.size(), mass.size());
    double total = 0;
    for (std::size_t k = 0; k < n; ++k)
        if (index[k] >= 0 && mass[k] > 0) total += mass[k];
    if (!(total > 0)) return 0.0;
    double e = 0;
    for (std::size_t k = 0; k < n; ++k)
        if (index[k] >= 0 && mass[k] > 0) {
            const double p = mass[k] / total;
            e -= p * std::log(p);
        }
    return e;
}

HeadStats computeHeadStats(const TraceInfo& info, int layer, const LayerView& view)
{
    HeadStats out;
    for (int h = 0; h < view.heads; ++h) {
        out.sparsity.push_back(static_cast<float>(headSparsity(info, layer, view, h).sparsity()));
        out.entropy.push_back(static_cast<float>(meanEntropy(info, view, h)));
    }
    return out;
}

void storeHeadStats(OwnedTrace& trace)
{
    const int L = trace.layers(), H = trace.heads();
    std::vector<float> sparsity(static_cast<std::size_t>(L * H)), entropy(static_cast<std::size_t>(L * H));
    // Heads are independent: every core over the L x H heads (a 128k-token trace of 28 x 12
    // heads holds 28M masses; over layers alone, 28 layers kept 16 cores two rounds busy), each
    // head's numbers computed as computeHeadStats does.
    const TraceInfo& info = trace.info();
    parallelFor(static_cast<std::int64_t>(L) * H, [&](std::int64_t i) {
        const int l = static_cast<int>(i / H), h = static_cast<int>(i % H);
        const LayerView view = trace.layer(l);
        sparsity[static_cast<std::size_t>(i)] = static_cast<float>(headSparsity(info, l, view, h).sparsity());
        entropy[static_cast<std::size_t>(i)] = static_cast<float>(meanEntropy(info, view, h));
    });
    trace.mutableInfo().headStats["sparsity"] = std::move(sparsity);
    trace.mutableInfo().headStats["entropy"] = std::move(entropy);
}

std::vector<std::string> availableHeadStatistics(const Trace& trace)
{
    std::vector<std::string> names;
    auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    for (const auto& [name, values] : trace.info().headStats) names.push_back(name);
    for (const char* n : {"entropy", "kurtosis"})
        if (!has(n)) names.emplace_back(n);
    if (!has("captured_mass")) {
        bool captured = false;
        try {
            captured = hasCaptured(trace);
        } catch (const std::exception&) {
        }
        if (captured) names.emplace_back("captured_mass");
    }
    return names;
}

bool headStatisticStored(const Trace& trace, const std::string& name) { return trace.info().headStats.count(name) != 0; }

std::vector<float> headStatistic(const Trace& trace, const std::string& name, const std::atomic<bool>* stop)
{
    const auto& info = trace.info();
    if (auto it = info.headStats.find(name); it != info.headStats.end()) return it->second;
    const int L = trace.layers(), H = trace.heads();
    const std::int64_t qb = info.queryBlocks();
    const std::int64_t keyBlocks = (info.promptTokens + info.generatedTokens + info.params.bk - 1) / info.params.bk;
    std::vector<float> out(static_cast<std::size_t>(L) * H, std::numeric_limits<float>::quiet_NaN());
    const bool entropy = name == "entropy", kurtosis = name == "kurtosis", captured = name == "captured_mass";
    if (!entropy && !kurtosis && !captured) throw ArgumentError("unknown head statistic \"" + name + "\"");
    std::vector<double> column; // [keyBlocks] float64
    for (int l = 0; l < L; ++l) {
        if (stop && stop->load()) return {};
        const LayerView v = trace.layer(l);
        for (int h = 0; h < H; ++h) {
            double value = std::numeric_limits<double>::quiet_NaN();
            if (captured) {
                if (v.captured.empty()) continue;
                double sum = 0;
                for (std::int64_t r = 0; r < qb; ++r) sum += v.captured[static_cast<std::size_t>(h * v.rows + r)];
                value = qb > 0 ? sum / static_cast<double>(qb) : value;
            } else if (entropy) {
                if (qb > 0) value = meanEntropy(info, v, h);
            } else {
                column.assign(static_cast<std::size_t>(keyBlocks), 0.0);
                for (std::int64_t r = 0; r < qb; ++r) {
                    auto idx = v.indexRow(h, r);
                    auto m = v.massRow(h, r);
                    for (int k = 0; k < v.kPrime; ++k)
                        if (idx[k] >= 0) column[static_cast<std::size_t>(idx[k])] += m[k];
                }
                double mean = 0;
                for (double c : column) mean += c;
                mean /= static_cast<double>(std::max<std::int64_t>(1, keyBlocks));
                double m2 = 0, m4 = 0;
                for (double c : column) {
                    const double d = (c - mean) * (c - mean);
                    m2 += d;
                    m4 += d * d;
                }
                m2 /= static_cast<double>(keyBlocks);
                m4 /= static_cast<double>(keyBlocks);
                if (m2 > 0) value = m4 / (m2 * m2) - 3.0;
            }
            out[static_cast<std::size_t>(l * H + h)] = static_cast<float>(value);
        }
    }
    return out;
}

} // namespace sparsetrace::core
