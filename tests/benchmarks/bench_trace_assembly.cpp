// The host half of a trace (issue 19) at a model's shape without running the model: the prompt
// of T random token ids prepared with the folder's tokenizer (decoded to text, token strings),
// synthetic records [L, H, R, K'] (sinks, window and K random blocks per row; their making is
// not timed), and core::assembleTrace (provenance, tokens, validation, head statistics), with
// the phase table of core::TraceTimings. A folder with the 1.5B model's config.json and
// tokenizer.json reproduces what a 128k-token trace spends on the CPU, on any machine.
//   bench_trace_assembly --model DIR [--lengths 32768,131072] [--k 16] [--threads 0]
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/model_config.h"
#include "sparsetrace/core/parallel_for.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/core/trace_assembly.h"
#include "sparsetrace/core/trace_timings.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace sparsetrace;

namespace {
std::vector<int> parseList(const std::string& s)
{
    std::vector<int> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
    return out;
}

// One layer's records: per row the sink blocks, K random earlier blocks and the window's blocks,
// ascending, -1 padded, masses normalised.
core::LayerRecord syntheticLayer(const core::StreamParams& p, int heads, std::int64_t T, std::uint32_t seed)
{
    const int kp = p.kPrime();
    const std::int64_t R = (T + p.bq - 1) / p.bq;
    core::LayerRecord layer;
    layer.index.assign(static_cast<std::size_t>(heads * R * kp), -1);
    layer.mass.assign(layer.index.size(), 0.0f);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> weight(0.01f, 1.0f);
    std::vector<std::int32_t> blocks;
    for (int h = 0; h < heads; ++h)
        for (std::int64_t r = 0; r < R; ++r) {
            const auto last = static_cast<std::int32_t>(std::min<std::int64_t>(T - 1, (r + 1) * p.bq - 1) / p.bk);
            blocks.clear();
            for (std::int32_t b = 0; b < p.sinks / p.bk && b <= last; ++b) blocks.push_back(b);
            for (std::int32_t b = std::max<std::int32_t>(0, last - (p.window + p.bk - 1) / p.bk); b <= last; ++b) blocks.push_back(b);
            std::uniform_int_distribution<std::int32_t> any(0, last);
            for (int i = 0; i < p.k && last > 0; ++i) blocks.push_back(any(rng));
            std::sort(blocks.begin(), blocks.end());
            blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
            blocks.resize(std::min<std::size_t>(blocks.size(), static_cast<std::size_t>(kp)));
            const auto at = static_cast<std::size_t>((h * R + r) * kp);
            float total = 0;
            for (std::size_t i = 0; i < blocks.size(); ++i) {
                layer.index[at + i] = blocks[i];
                total += layer.mass[at + i] = weight(rng);
            }
            for (std::size_t i = 0; i < blocks.size(); ++i) layer.mass[at + i] /= total;
        }
    return layer;
}
} // namespace

int main(int argc, char** argv)
{
    std::string model, lengths = "32768,131072";
    int k = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--model") model = argv[i + 1];
        else if (a == "--lengths") lengths = argv[i + 1];
        else if (a == "--k") k = std::stoi(argv[i + 1]);
    }
    if (model.empty()) {
        std::fprintf(stderr, "usage: bench_trace_assembly --model DIR [--lengths 32768,131072] [--k 16]\n");
        return 2;
    }
    try {
        const core::ModelConfig config = core::ModelConfig::load(model);
        std::optional<core::Tokenizer> tokenizer;
        if (std::filesystem::exists(std::filesystem::path(model) / "tokenizer.json"))
            tokenizer.emplace(core::Tokenizer::fromModelDir(model));
        std::printf("%d layers x %d heads, %u hardware threads, tokenizer %s\n", config.layers, config.heads,
                    std::thread::hardware_concurrency(), tokenizer ? "yes" : "no");
        for (int T : parseList(lengths)) {
            core::TraceRequest r;
            r.modelDir = model;
            r.checkTokens = 0;
            r.params.k = k;
            std::mt19937 rng(T);
            std::uniform_int_distribution<int> id(3, static_cast<int>(std::min<std::int64_t>(config.vocab, 30000)) - 1);
            for (int t = 0; t < T; ++t) r.tokenIds.push_back(id(rng));
            core::SparsePassRecords run;
            run.layers.resize(static_cast<std::size_t>(config.layers));
            core::parallelFor(config.layers, [&](std::int64_t l) {
                run.layers[static_cast<std::size_t>(l)] =
                    syntheticLayer(r.params, config.heads, T, static_cast<std::uint32_t>(l + 1));
            });

            core::TraceTimings timings;
            core::PhaseClock clock(&timings);
            const core::PreparedPrompt prompt = core::preparePrompt(r, tokenizer ? &*tokenizer : nullptr);
            clock.lap("prepare prompt");
            core::TraceRunContext context;
            context.request = &r;
            context.config = &config;
            context.tokenizer = tokenizer ? &*tokenizer : nullptr;
            context.prompt = &prompt;
            context.dtype = "bf16 (synthetic records)";
            context.device = "none";
            context.clock = &clock;
            auto trace = core::assembleTrace(context, r.params, std::move(run));
            timings.totalSeconds = clock.elapsed();
            std::printf("T=%d (R=%lld rows, K'=%d): host phases (s)\n%s", T, static_cast<long long>(trace->info().rows()),
                        r.params.kPrime(), timings.table().c_str());
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_trace_assembly: %s\n", e.what());
        return 1;
    }
    return 0;
}
