// Per-head statistics (definitions in head_stats.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/head_stats.h"

#include "sparsetrace/core/error.h"

#include <cmath>
#include <limits>

namespace sparsetrace::widgets {

namespace {
bool hasCaptured(const core::Trace& t) { return t.layers() > 0 && !t.layer(0).captured.empty(); }
} // namespace

QStringList availableStatistics(const core::Trace& trace)
{
    QStringList names;
    for (const auto& [name, values] : trace.info().headStats) names << QString::fromStdString(name);
    for (const char* n : {"entropy", "kurtosis"})
        if (!names.contains(n)) names << n;
    if (!names.contains("captured_mass")) {
        bool captured = false;
        try {
            captured = hasCaptured(trace);
        } catch (const std::exception&) {
        }
        if (captured) names << "captured_mass";
    }
    return names;
}

bool statisticNeedsComputing(const core::Trace& trace, const QString& name)
{
    return trace.info().headStats.count(name.toStdString()) == 0;
}

std::vector<float> headStatistic(const core::Trace& trace, const QString& name, const std::atomic<bool>* stop)
{
    const auto& info = trace.info();
    if (auto it = info.headStats.find(name.toStdString()); it != info.headStats.end()) return it->second;
    const int L = trace.layers(), H = trace.heads();
    const std::int64_t qb = info.queryBlocks();
    const std::int64_t keyBlocks = (info.promptTokens + info.generatedTokens + info.params.bk - 1) / info.params.bk;
    std::vector<float> out(static_cast<std::size_t>(L) * H, std::numeric_limits<float>::quiet_NaN());
    const bool entropy = name == "entropy", kurtosis = name == "kurtosis", captured = name == "captured_mass";
    if (!entropy && !kurtosis && !captured) throw ArgumentError("unknown head statistic \"" + name.toStdString() + "\"");
    std::vector<double> column; // [keyBlocks] float64
    for (int l = 0; l < L; ++l) {
        if (stop && stop->load()) return {};
        const core::LayerView v = trace.layer(l);
        for (int h = 0; h < H; ++h) {
            double value = std::numeric_limits<double>::quiet_NaN();
            if (captured) {
                if (v.captured.empty()) continue;
                double sum = 0;
                for (std::int64_t r = 0; r < qb; ++r) sum += v.captured[static_cast<std::size_t>(h * v.rows + r)];
                value = qb > 0 ? sum / static_cast<double>(qb) : value;
            } else if (entropy) {
                double sum = 0;
                for (std::int64_t r = 0; r < qb; ++r) {
                    auto idx = v.indexRow(h, r);
                    auto m = v.massRow(h, r);
                    double e = 0;
                    for (int k = 0; k < v.kPrime; ++k)
                        if (idx[k] >= 0 && m[k] > 0) e -= m[k] * std::log(static_cast<double>(m[k]));
                    sum += e;
                }
                value = qb > 0 ? sum / static_cast<double>(qb) : value;
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

} // namespace sparsetrace::widgets
