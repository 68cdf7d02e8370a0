// Deterministic synthetic traces (see synthetic_trace.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/synthetic_trace.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/utf8.h"
#include "sparsetrace/core/version.h"

#include <algorithm>
#include <random>
#include <set>

namespace sparsetrace::core {

std::shared_ptr<OwnedTrace> makeSyntheticTrace(const SyntheticTraceSpec& spec)
{
    spec.params.validate();
    TraceInfo info;
    info.provenance.toolVersion = kVersion;
    info.provenance.created = "1970-01-01T00:00:00Z";
    info.provenance.modelName = "synthetic";
    info.provenance.architecture = "synthetic";
    info.provenance.dtype = "f32";
    info.provenance.device = "none (synthetic)";
    info.model = {"synthetic", spec.layers, spec.heads, spec.kvHeads, spec.headDim, {}};
    info.params = spec.params;
    info.promptTokens = spec.promptTokens;
    info.generatedTokens = spec.generatedTokens;

    const std::int64_t total = spec.promptTokens + spec.generatedTokens;
    if (!spec.tokenTexts.empty() && static_cast<std::int64_t>(spec.tokenTexts.size()) != total)
        throw ArgumentError("synthetic trace: " + std::to_string(spec.tokenTexts.size()) + " token texts for " +
                            std::to_string(total) + " tokens");
    static const char* words[] = {"the", "model", "reads", "a", "long", "context", "and", "finds", "needle",
                                  "in", "haystack", "while", "attention", "stays", "sparse", "."};
    std::int32_t chars = 0;
    for (std::int64_t t = 0; t < total; ++t) {
        std::string w = !spec.tokenTexts.empty() ? spec.tokenTexts[static_cast<std::size_t>(t)]
                        : spec.withText ? std::string(t == 0 ? "" : " ") + words[t % 16]
                                        : std::string();
        info.text += w;
        info.tokens.ids.push_back(static_cast<std::int32_t>(t % 16));
        // Offsets count code points (the words are ASCII; given texts may not be).
        const auto width = static_cast<std::int32_t>(codePointCount(w));
        info.tokens.offsets.push_back({chars, chars + width});
        chars += width;
        std::string tokenString = w;
        if (!tokenString.empty() && tokenString[0] == ' ') tokenString = "\xC4\xA0" + tokenString.substr(1); // "Ġ"
        info.tokens.strings.push_back(tokenString);
    }

    const StreamParams& p = spec.params;
    const int H = spec.heads, KP = p.kPrime();
    const std::int64_t R = info.rows();
    std::mt19937_64 rng(spec.seed);
    std::vector<LayerRecord> layers(static_cast<std::size_t>(spec.layers));
    for (int l = 0; l < spec.layers; ++l) {
        LayerRecord& rec = layers[static_cast<std::size_t>(l)];
        rec.index.assign(static_cast<std::size_t>(H * R * KP), -1);
        rec.mass.assign(rec.index.size(), 0.0f);
        if (spec.withFidelity) {
            rec.captured.assign(static_cast<std::size_t>(H * R), 0.0f);
            rec.oracleIndex.assign(rec.index.size(), -1);
        }
        for (int h = 0; h < H; ++h) {
            for (std::int64_t r = 0; r < R; ++r) {
                auto [qa, qb] = info.rowQueries(r);
                (void)qa;
                const std::int32_t lastBlock = static_cast<std::int32_t>(qb / p.bk);
                std::set<std::int32_t> kept;
                for (std::int32_t b = 0; b < p.sinks / p.bk && b <= lastBlock; ++b) kept.insert(b);
                std::int32_t w0 = static_cast<std::int32_t>(std::max<std::int64_t>(0, qb - p.window + 1) / p.bk);
                for (std::int32_t b = w0; b <= lastBlock; ++b) kept.insert(b);
                std::int32_t rangeLo = p.sinks / p.bk;
                std::int32_t rangeN = std::max<std::int32_t>(0, w0 - rangeLo);
                std::vector<std::int32_t> candidates;
                for (std::int32_t b = rangeLo; b < rangeLo + rangeN; ++b) candidates.push_back(b);
                std::shuffle(candidates.begin(), candidates.end(), rng);
                if (static_cast<int>(candidates.size()) > p.k) candidates.resize(static_cast<std::size_t>(p.k));
                const PlantedBlock* plant = nullptr;
                for (const auto& pb : spec.planted)
                    if (pb.layer == l && pb.head == h && pb.row == r) plant = &pb;
                if (plant) {
                    if (plant->keyBlock > lastBlock) throw ArgumentError("planted block is not causal for its row");
                    if (!kept.count(plant->keyBlock) &&
                        std::find(candidates.begin(), candidates.end(), plant->keyBlock) == candidates.end()) {
                        if (!candidates.empty()) candidates.back() = plant->keyBlock;
                        else kept.insert(plant->keyBlock);
                    }
                }
                kept.insert(candidates.begin(), candidates.end());
                std::vector<std::int32_t> row(kept.begin(), kept.end());
                if (static_cast<int>(row.size()) > KP) row.resize(static_cast<std::size_t>(KP));
                std::vector<float> m(row.size());
                std::exponential_distribution<float> expo(1.0f);
                float sum = 0;
                for (auto& v : m) sum += (v = expo(rng) * 0.05f + 1e-4f);
                float rest = 1.0f;
                std::size_t plantedAt = row.size();
                if (plant) {
                    plantedAt = static_cast<std::size_t>(std::find(row.begin(), row.end(), plant->keyBlock) - row.begin());
                    rest = 1.0f - plant->mass;
                    sum -= m[plantedAt];
                }
                for (std::size_t i = 0; i < row.size(); ++i)
                    m[i] = i == plantedAt ? plant->mass : m[i] / sum * rest;
                const std::size_t base = static_cast<std::size_t>((h * R + r) * KP);
                std::copy(row.begin(), row.end(), rec.index.begin() + static_cast<std::ptrdiff_t>(base));
                std::copy(m.begin(), m.end(), rec.mass.begin() + static_cast<std::ptrdiff_t>(base));
                if (spec.withFidelity) {
                    rec.captured[static_cast<std::size_t>(h * R + r)] = 0.8f + 0.2f * std::generate_canonical<float, 24>(rng);
                    std::copy(row.begin(), row.end(), rec.oracleIndex.begin() + static_cast<std::ptrdiff_t>(base));
                }
            }
        }
    }
    std::vector<float> sparsity(static_cast<std::size_t>(spec.layers * H));
    auto trace = std::make_shared<OwnedTrace>(std::move(info), std::move(layers));
    for (int l = 0; l < spec.layers; ++l)
        for (int h = 0; h < H; ++h)
            sparsity[static_cast<std::size_t>(l * H + h)] =
                static_cast<float>(headSparsity(trace->info(), l, trace->layer(l), h).sparsity());
    trace->mutableInfo().headStats["sparsity"] = std::move(sparsity);
    return trace;
}

} // namespace sparsetrace::core
