// Helper process of tst_atomic_save: saves a large synthetic trace over PATH with
// writeTraceFile and, once PAUSE_AFTER bytes are in the temporary file, reports
// "paused TEMPORARY WRITTEN" on stdout and waits to be killed (SIGKILL from the test).
// Usage: kill_mid_save_helper PATH PAUSE_AFTER
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/trace_file.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <unistd.h>

namespace {
std::uint64_t g_pauseAfter = 0;

void pauseMidSave(const std::string& temporaryPath, std::uint64_t written)
{
    if (written < g_pauseAfter) return;
    std::printf("paused %s %llu\n", temporaryPath.c_str(), static_cast<unsigned long long>(written));
    std::fflush(stdout);
    for (;;) ::pause(); // only a signal ends this process now
}
} // namespace

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: kill_mid_save_helper PATH PAUSE_AFTER\n");
        return 2;
    }
    g_pauseAfter = std::strtoull(argv[2], nullptr, 10);
    try {
        // 16 layers x 8 heads x 1024 rows x K'=22 blocks: about 23 MB of index and mass.
        sparsetrace::core::SyntheticTraceSpec spec;
        spec.layers = 16;
        spec.heads = 8;
        spec.kvHeads = 2;
        spec.promptTokens = 16384;
        spec.params.bq = 16;
        spec.params.bk = 16;
        spec.params.k = 16;
        spec.params.sinks = 16;
        spec.params.window = 64;
        spec.withText = false;
        const auto trace = sparsetrace::core::makeSyntheticTrace(spec);
        sparsetrace::core::AtomicFileWriter::setWriteObserver(pauseMidSave);
        sparsetrace::core::writeTraceFile(*trace, argv[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kill_mid_save_helper: %s\n", e.what());
        return 1;
    }
    std::printf("finished without pausing\n");
    return 0;
}
