// Tokenizer benchmark (Qt-free, so it also builds on the GPU machine): per tokenizer.json, the
// time and peak memory to load it (measured in a child process each) and the single-thread
// encode speed over one text (War and Peace from ../shared by default). Prints a table; --json
// writes the numbers and --ids-dir the ids and offsets, for scripts/bench/bench-tokenizer-hf.py to
// compare with Hugging Face tokenizers on the same machine.
//   bench_tokenizer [--text FILE] [--json OUT] [--ids-dir DIR] [--repeat N] [NAME=tokenizer.json ...]
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/tokenizer.h"

#include "shared_assets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace sparsetrace;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string readFile(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in) throw IoError(p.string() + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

long statusKiB(const char* key)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
    return -1;
}

// Child mode: load once, print "seconds peak_delta_bytes".
int loadOnly(const std::string& path)
{
    const long before = statusKiB("VmHWM:");
    const auto t0 = Clock::now();
    const core::Tokenizer tok = core::Tokenizer::fromFile(path);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const long after = statusKiB("VmHWM:");
    std::printf("%.6f %ld %zu\n", s, (after - before) * 1024L, tok.vocabSize());
    return 0;
}

struct LoadResult {
    double seconds = 0;
    long peakBytes = 0;
};

LoadResult loadInChild(const std::string& self, const std::string& path)
{
    int fds[2];
    if (pipe(fds) != 0) throw IoError("pipe failed");
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(self.c_str(), self.c_str(), "--load-only", path.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    LoadResult r;
    if (std::sscanf(out.c_str(), "%lf %ld", &r.seconds, &r.peakBytes) != 2)
        throw BackendError("load of " + path + " failed in the child process");
    return r;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() == 2 && args[0] == "--load-only") return loadOnly(args[1]);
        std::string textPath, jsonOut, idsDir;
        int repeat = 3;
        std::vector<std::pair<std::string, std::string>> tokenizers;
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= args.size()) throw ArgumentError(a + " needs a value");
                return args[++i];
            };
            if (a == "--text") textPath = value();
            else if (a == "--json") jsonOut = value();
            else if (a == "--ids-dir") idsDir = value();
            else if (a == "--repeat") repeat = std::max(1, std::stoi(value()));
            else if (a.find('=') != std::string::npos) tokenizers.emplace_back(a.substr(0, a.find('=')), a.substr(a.find('=') + 1));
            else throw ArgumentError("unknown argument " + a);
        }
        if (textPath.empty() || tokenizers.empty()) {
            const auto shared = test::sharedDir();
            if (!shared) {
                std::fprintf(stderr, "bench_tokenizer: ../shared is absent; pass --text FILE and NAME=tokenizer.json\n");
                return 0;
            }
            const fs::path a = *shared / "assets";
            if (textPath.empty()) textPath = test::unpackZstd(a / "text/war-and-peace.txt.zst", "bench-war-and-peace.txt").string();
            if (tokenizers.empty()) {
                tokenizers = {
                    {"deepseek-r1-distill-qwen-1.5b",
                     test::unpackZstd(a / "models/deepseek-r1-distill-qwen-1.5b/tokenizer.json.zst", "bench-ds.json").string()},
                    {"qwen2.5", test::unpackZstd(a / "tokenizers/qwen2.5/tokenizer.json.zst", "bench-qwen.json").string()},
                    {"gemma-3-1b-it", test::unpackZstd(a / "models/gemma-3-1b-it/tokenizer.json.zst", "bench-gemma.json").string()},
                    {"stories260K", (a / "models/stories260K/tokenizer.json").string()},
                };
            }
        }
        const std::string text = readFile(textPath);
        const std::string self = fs::read_symlink("/proc/self/exe").string();
        nlohmann::json results = nlohmann::json::array();
        std::printf("text: %s (%.2f MB)\n", textPath.c_str(), static_cast<double>(text.size()) / 1e6);
        std::printf("%-32s %9s %10s %10s %11s %9s\n", "tokenizer", "tokens", "encode s", "MB/s", "load s", "load MiB");
        for (const auto& [name, path] : tokenizers) {
            const LoadResult load = loadInChild(self, path);
            const core::Tokenizer tok = core::Tokenizer::fromFile(path);
            double best = 1e30;
            core::Encoding enc;
            for (int r = 0; r < repeat; ++r) {
                const auto t0 = Clock::now();
                enc = tok.encode(text);
                best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
            }
            const double mbps = static_cast<double>(text.size()) / 1e6 / best;
            std::printf("%-32s %9zu %10.3f %10.2f %11.3f %9.1f\n", name.c_str(), enc.ids.size(), best, mbps, load.seconds,
                        static_cast<double>(load.peakBytes) / (1024.0 * 1024.0));
            std::fflush(stdout);
            results.push_back({{"name", name}, {"path", path}, {"tokens", enc.ids.size()}, {"encode_s", best},
                               {"mb_per_s", mbps}, {"load_s", load.seconds}, {"load_peak_bytes", load.peakBytes}});
            if (!idsDir.empty()) {
                fs::create_directories(idsDir);
                std::ofstream ids(fs::path(idsDir) / (name + ".ids"), std::ios::binary);
                ids.write(reinterpret_cast<const char*>(enc.ids.data()), static_cast<std::streamsize>(enc.ids.size() * 4));
                std::vector<std::uint32_t> flat;
                for (const auto& [s, e] : enc.offsets) {
                    flat.push_back(s);
                    flat.push_back(e);
                }
                std::ofstream offs(fs::path(idsDir) / (name + ".offsets"), std::ios::binary);
                offs.write(reinterpret_cast<const char*>(flat.data()), static_cast<std::streamsize>(flat.size() * 4));
            }
        }
        if (!jsonOut.empty()) {
            std::ofstream out(jsonOut);
            out << nlohmann::json{{"text", textPath}, {"text_bytes", text.size()}, {"results", results}}.dump(2) << "\n";
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_tokenizer: %s\n", e.what());
        return 1;
    }
}
