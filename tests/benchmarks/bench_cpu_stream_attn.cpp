// Benchmark of Stream-Attn on the CPU (issue 22): the core reference against the Eigen backend
// (gpu/src/stream_attn/cpu) for one attention call of a model's shape (default: the demo
// retriever, resources/demo-model: 6 query heads, 2 KV heads, head dim 32), on random q, k, v:
// mask estimation, block-sparse attention and the fidelity pass, per score rule. Prints a table.
//   bench_cpu_stream_attn [--model DIR] [--lengths 1024,4096] [--rules centre,first,bound] [--threads N]
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/stream_attn_cpu.h"

#include "sparsetrace/core/model_config.h"
#include "sparsetrace/core/stream_attn.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace sparsetrace;

namespace {

std::vector<std::string> parseList(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ','))
        out.push_back(item);
    return out;
}

template <class F> double secondsOf(F&& f)
{
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv)
{
    std::string model, lengths = "1024,4096", rules = "centre,first,bound";
    int threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--model")
            model = argv[i + 1];
        else if (a == "--lengths")
            lengths = argv[i + 1];
        else if (a == "--rules")
            rules = argv[i + 1];
        else if (a == "--threads")
            threads = std::stoi(argv[i + 1]);
        else {
            std::fprintf(
                stderr, "usage: bench_cpu_stream_attn [--model DIR] [--lengths 1024,4096] [--rules centre,first,bound] "
                        "[--threads N]\n");
            return 2;
        }
    }
    try {
        int heads = 6, kvHeads = 2, headDim = 32; // the demo retriever
        if (!model.empty()) {
            const core::ModelConfig c = core::ModelConfig::load(model);
            heads = c.heads;
            kvHeads = c.kvHeads;
            headDim = c.headDim;
        }
        std::printf(
            "one attention call: H=%d Hkv=%d D=%d, default parameters (bq=bk=32, K=16, S=32, W=64), threads %s, "
            "vector kernels %s\n",
            heads, kvHeads, headDim, threads > 0 ? std::to_string(threads).c_str() : "auto", gpu::cpu::simdName());
        std::printf("%-6s %-7s | %-22s | %-22s | %-22s | %s\n", "T", "rule", "estimation ref/eigen s",
                    "attention ref/eigen s", "fidelity ref/eigen s", "same rows");
        for (const std::string& length : parseList(lengths)) {
            const std::int64_t T = std::stoll(length);
            std::vector<float> q(static_cast<std::size_t>(heads * T * headDim));   // [H, T, D] float32
            std::vector<float> k(static_cast<std::size_t>(kvHeads * T * headDim)); // [Hkv, T, D] float32
            std::vector<float> v(k.size());                                        // [Hkv, T, D] float32
            std::mt19937 rng(static_cast<unsigned>(T));
            std::normal_distribution<float> normal;
            for (float& x : q)
                x = 2 * normal(rng);
            for (float& x : k)
                x = normal(rng);
            for (float& x : v)
                x = normal(rng);
            core::AttentionInputs in;
            in.heads = heads;
            in.kvHeads = kvHeads;
            in.queries = T;
            in.keys = T;
            in.headDim = headDim;
            in.q = q;
            in.k = k;
            in.v = v;
            in.scale = 1.0 / std::sqrt(static_cast<double>(headDim));
            for (const std::string& rule : parseList(rules)) {
                core::StreamParams p;
                p.score = core::scoreRuleFromName(rule);
                std::vector<std::int32_t> refIndex, eigenIndex;
                const double estRef = secondsOf([&] { refIndex = core::estimateMask(in, p); });
                const double estEigen = secondsOf([&] { eigenIndex = gpu::cpu::estimateMask(in, p, threads); });
                const double attRef = secondsOf([&] { core::attendWithMask(in, p, refIndex); });
                const double attEigen = secondsOf([&] { gpu::cpu::attendWithMask(in, p, eigenIndex, threads); });
                const double fidRef = secondsOf([&] { core::measureFidelity(in, p, refIndex); });
                const double fidEigen = secondsOf([&] { gpu::cpu::measureFidelity(in, p, eigenIndex, threads); });
                const int kp = p.kPrime();
                std::size_t same = 0, rows = refIndex.size() / static_cast<std::size_t>(kp);
                for (std::size_t r = 0; r < rows; ++r)
                    same += std::equal(refIndex.begin() + static_cast<std::ptrdiff_t>(r * kp),
                                       refIndex.begin() + static_cast<std::ptrdiff_t>((r + 1) * kp),
                                       eigenIndex.begin() + static_cast<std::ptrdiff_t>(r * kp));
                std::printf("%-6lld %-7s | %8.4f %7.4f %5.1fx | %8.4f %7.4f %5.1fx | %8.3f %7.4f %5.1fx | %zu/%zu\n",
                            static_cast<long long>(T), rule.c_str(), estRef, estEigen, estRef / estEigen, attRef,
                            attEigen, attRef / attEigen, fidRef, fidEigen, fidRef / fidEigen, same, rows);
                std::fflush(stdout);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_cpu_stream_attn: %s\n", e.what());
        return 1;
    }
    return 0;
}
