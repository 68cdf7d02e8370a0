// Benchmark of the whole tracer (issue 7): a model from its config.json with seeded random
// weights, traced with Stream-Attn in every layer and head, at several prompt lengths; time and
// peak GPU memory for --check-tokens 0 and 2, sparsity, and the trace's storage ratio. Prints a
// table; scripts/bench/bench-hf-prefill.py gives transformers' dense forward on the same shapes. On the
// CPU, --backends compares Stream-Attn backends (eigen, reference) and --fidelity 0,1 adds the
// fidelity pass; the engine's estimate is printed beside each measured time. --repeats N traces
// each cell N times and prints the fastest (a shared machine's other load only adds time).
// Under each row, the fastest run's phases (core::TraceTimings, issue 19: prompt, estimate,
// each forward split into its attention calls and the rest of the model, record copy, assembly,
// head statistics, ...) with their sum against the run's total and the wall time measured here,
// then the same as one JSON line starting "phases_json ". Timing synchronises the device at
// every lap (twice per layer); --phases 0 runs without it, for the plain time.
//   bench_tracer --model DIR [--lengths 8192,32768] [--device cuda] [--k 16] [--check 0,2]
//                [--backends eigen,reference] [--fidelity 0,1] [--weights random|model] [--repeats 1]
//                [--phases 1]
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/model_config.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/core/trace_timings.h"
#include "sparsetrace/gpu/device.h"
#include "sparsetrace/gpu/trace_engine.h"
#include "stream_attn/cpu/stream_attn_cpu.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace sparsetrace;

namespace {
std::vector<std::string> parseWords(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(item);
    return out;
}

std::vector<int> parseList(const std::string& s)
{
    std::vector<int> out;
    for (const std::string& w : parseWords(s)) out.push_back(std::stoi(w));
    return out;
}
} // namespace

int main(int argc, char** argv)
{
    std::string model, device = "cuda", lengths = "8192,32768", checks = "0,2", backends = "eigen", fidelities = "0",
                weights = "random";
    int k = 16, repeats = 1;
    bool phases = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--model") model = argv[i + 1];
        else if (a == "--lengths") lengths = argv[i + 1];
        else if (a == "--device") device = argv[i + 1];
        else if (a == "--k") k = std::stoi(argv[i + 1]);
        else if (a == "--check") checks = argv[i + 1];
        else if (a == "--backends") backends = argv[i + 1];
        else if (a == "--fidelity") fidelities = argv[i + 1];
        else if (a == "--weights") weights = argv[i + 1];
        else if (a == "--repeats") repeats = std::max(1, std::stoi(argv[i + 1]));
        else if (a == "--phases") phases = std::stoi(argv[i + 1]) != 0;
    }
    if (model.empty()) {
        std::fprintf(stderr, "usage: bench_tracer --model DIR [--lengths 8192,32768] [--device cuda] [--k 16] [--check 0,2] "
                             "[--backends eigen,reference] [--fidelity 0,1] [--weights random|model] [--repeats 1] "
                             "[--phases 1]\n");
        return 2;
    }
    try {
        gpu::TraceEngine engine;
        const std::int64_t vocab = core::ModelConfig::load(model).vocab;
        auto request = [&](int T, int check, core::CpuBackend backend = core::CpuBackend::Eigen, bool fidelity = false) {
            gpu::TraceRequest r;
            r.modelDir = model;
            r.device = device;
            r.cpuBackend = backend;
            r.fidelity = fidelity;
            if (weights == "random") r.randomWeightsSeed = 1;
            r.allowBeyondContext = true;
            r.checkTokens = check;
            r.params.k = k;
            std::mt19937 rng(T);
            std::uniform_int_distribution<int> id(3, static_cast<int>(std::min<std::int64_t>(vocab, 30000)) - 1);
            for (int t = 0; t < T; ++t) r.tokenIds.push_back(id(rng));
            return r;
        };
        engine.trace(request(2048, 2), {}, {}); // warm-up: loads the model, compiles nothing twice
        if (device == "cpu")
            std::printf("CPU: %u hardware threads, vector kernels %s; time_s: fastest of %d\n",
                        std::thread::hardware_concurrency(), gpu::cpu::simdName(), repeats);
        std::printf("%-9s %-10s %-9s %-6s %-11s %-10s %-10s %-10s %-12s %-12s\n", "T", "backend", "fidelity", "check",
                    "estimate_s", "time_s", "peak_GiB", "sparsity", "file_MiB", "storage_x");
        for (int T : parseList(lengths))
            for (const std::string& backendName : parseWords(backends))
                for (int fidelity : parseList(fidelities))
                    for (int check : parseList(checks)) {
                        const core::CpuBackend backend = core::cpuBackendFromName(backendName);
                        const gpu::TraceRequest r = request(T, check, backend, fidelity != 0);
                        const double estimate = engine.estimate(r).seconds;
                        gpu::resetPeakDeviceBytes();
                        std::shared_ptr<core::OwnedTrace> trace;
                        double seconds = 0;
                        core::TraceTimings timings, fastest;
                        gpu::TraceRequest timed = r;
                        if (phases) timed.timings = &timings;
                        for (int rep = 0; rep < repeats; ++rep) {
                            trace.reset(); // the previous trace is freed outside the timed call
                            const auto t0 = std::chrono::steady_clock::now();
                            trace = engine.trace(timed, {}, {});
                            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                            if (rep == 0 || s < seconds) fastest = timings;
                            seconds = rep == 0 ? s : std::min(seconds, s);
                        }
                        const double peak = static_cast<double>(gpu::peakDeviceBytes()) / (1024.0 * 1024.0 * 1024.0);
                        const std::string path = (std::filesystem::temp_directory_path() / "bench_tracer.sptrace").string();
                        core::writeTraceFile(*trace, path);
                        const double bytes = static_cast<double>(std::filesystem::file_size(path));
                        std::printf("%-9d %-10s %-9d %-6d %-11.2f %-10.3f %-10.2f %-10.4f %-12.2f %-12.0f\n", T, backendName.c_str(),
                                    fidelity, check, estimate, seconds, peak,
                                    core::traceSparsity(*trace).sparsity(), bytes / 1048576.0,
                                    core::denseCausalBytes(trace->info()) / bytes);
                        if (phases) {
                            std::printf("  phases of the fastest run (s), T=%d check=%d:\n%s  %-32s %9.4f s\n", T, check,
                                        fastest.table().c_str(), "(measured here)", seconds);
                            nlohmann::json j = {{"T", T},
                                                {"backend", backendName},
                                                {"fidelity", fidelity},
                                                {"check", check},
                                                {"time_s", seconds},
                                                {"total_s", fastest.totalSeconds},
                                                {"sum_s", fastest.sum()}};
                            nlohmann::json list = nlohmann::json::array();
                            for (const core::TraceTimings::Phase& p : fastest.phases) list.push_back({p.name, p.seconds});
                            j["phases"] = list;
                            std::printf("phases_json %s\n", j.dump().c_str());
                        }
                        std::fflush(stdout);
                    }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_tracer: %s\n", e.what());
        return 1;
    }
    return 0;
}
