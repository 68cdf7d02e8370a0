// One loop over independent items on every core (a trace's host work at 128k tokens and more:
// head statistics, the records' copy, the prompt's decoding; issue 19).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace sparsetrace::core {

// Runs fn(i) for every i in [0, count) on min(threads, count) threads, the calling thread one of
// them (threads 0: one per hardware thread). Items are handed out one at a time, so uneven items
// balance; each runs whole on one thread, so results do not depend on the thread count. After
// every thread stops, the first exception thrown is rethrown.
template <class Fn> void parallelFor(std::int64_t count, const Fn& fn, int threads = 0)
{
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const auto n = static_cast<int>(std::min<std::int64_t>(threads, count));
    if (n <= 1) {
        for (std::int64_t i = 0; i < count; ++i) fn(i);
        return;
    }
    std::atomic<std::int64_t> next{0};
    std::exception_ptr failed;
    std::mutex failedLock;
    const auto work = [&] {
        for (std::int64_t i; (i = next++) < count;) {
            try {
                fn(i);
            } catch (...) {
                const std::lock_guard<std::mutex> lock(failedLock);
                if (!failed) failed = std::current_exception();
                next = count; // the rest is not started
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(n - 1));
    for (int t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
    if (failed) std::rethrow_exception(failed);
}

} // namespace sparsetrace::core
