// core::parallelFor: every item runs exactly once whatever the thread count (more threads than
// items, one thread, none to do), and the first exception comes back after every thread stopped.
// Qt-free and torch-free, so it also runs under ThreadSanitizer (preset tsan).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/parallel_for.h"

#include "harness.h"

#include <atomic>
#include <stdexcept>
#include <vector>

using namespace sparsetrace;

ST_TEST(everyItemRunsOnce)
{
    for (int threads : {0, 1, 3, 64}) {
        std::vector<std::atomic<int>> seen(1000);
        core::parallelFor(static_cast<std::int64_t>(seen.size()), [&](std::int64_t i) { ++seen[static_cast<std::size_t>(i)]; },
                          threads);
        for (const auto& s : seen) ST_CHECK_EQ(s.load(), 1);
    }
    int calls = 0;
    core::parallelFor(0, [&](std::int64_t) { ++calls; });
    ST_CHECK_EQ(calls, 0);
}

ST_TEST(firstExceptionIsRethrown)
{
    std::atomic<int> ran{0};
    bool caught = false;
    try {
        core::parallelFor(
            100,
            [&](std::int64_t i) {
                ++ran;
                if (i == 7) throw std::runtime_error("item 7");
            },
            4);
    } catch (const std::runtime_error& e) {
        caught = std::string(e.what()) == "item 7";
    }
    ST_CHECK(caught);
    ST_CHECK(ran.load() >= 1 && ran.load() <= 100);
}

ST_MAIN()
