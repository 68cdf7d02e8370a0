// The job runner with a scriptable fake engine: progress is delivered, cancel gives the
// cancelled outcome and never an error, a second start drops the first's result, an engine
// exception becomes a failure message, destroying the runner mid-run returns promptly, the
// engine is created once on the worker thread and stays resident. Qt-free and torch-free, so
// it also runs under ThreadSanitizer (preset tsan).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/job_runner.h"

#include "harness.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

using namespace sparsetrace;
using namespace sparsetrace::core;
using namespace std::chrono_literals;

namespace {

// A fake engine whose jobs run `steps` steps of `stepTime` each, checking the stop token
// between steps like the real engine does between layers.
struct FakeEngine {
    std::thread::id createdOn = std::this_thread::get_id();
    int runs = 0;
};

struct Recorder {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::uint64_t> finished, cancelled;
    std::vector<std::pair<std::uint64_t, std::string>> failed;
    std::vector<int> finishedValues;
    std::atomic<int> progressCalls{0};
    int lastProgressStep = -1;

    JobRunner<FakeEngine, int>::Callbacks callbacks()
    {
        JobRunner<FakeEngine, int>::Callbacks c;
        c.progress = [this](std::uint64_t, const Progress& p) {
            ++progressCalls;
            std::lock_guard l(mutex);
            lastProgressStep = p.step;
        };
        c.finished = [this](std::uint64_t id, int value) {
            std::lock_guard l(mutex);
            finished.push_back(id);
            finishedValues.push_back(value);
            changed.notify_all();
        };
        c.failed = [this](std::uint64_t id, const std::string& msg) {
            std::lock_guard l(mutex);
            failed.emplace_back(id, msg);
            changed.notify_all();
        };
        c.cancelled = [this](std::uint64_t id) {
            std::lock_guard l(mutex);
            cancelled.push_back(id);
            changed.notify_all();
        };
        return c;
    }
    // Waits until `outcomes` outcomes in total were reported (or 10 s).
    bool waitFor(std::size_t outcomes)
    {
        std::unique_lock l(mutex);
        return changed.wait_for(l, 10s, [&] { return finished.size() + cancelled.size() + failed.size() >= outcomes; });
    }
};

JobRunner<FakeEngine, int>::Job steps(int n, std::chrono::milliseconds stepTime, int value)
{
    return [=](FakeEngine& engine, std::stop_token stop, const ProgressFn& progress) {
        ++engine.runs;
        for (int i = 0; i < n; ++i) {
            throwIfStopped(stop);
            std::this_thread::sleep_for(stepTime);
            progress({i + 1, n, "layers"});
        }
        return value;
    };
}

} // namespace

ST_TEST(finishesWithProgress)
{
    Recorder rec;
    std::thread::id engineThread;
    {
        JobRunner<FakeEngine, int> runner([&] {
            auto e = std::make_unique<FakeEngine>();
            engineThread = e->createdOn;
            return e;
        }, rec.callbacks());
        auto id = runner.start(steps(5, 20ms, 42));
        ST_CHECK(rec.waitFor(1));
        ST_CHECK_EQ(rec.finished.size(), std::size_t(1));
        ST_CHECK_EQ(rec.finished[0], id);
        ST_CHECK_EQ(rec.finishedValues[0], 42);
        ST_CHECK(rec.progressCalls.load() >= 1);
        ST_CHECK_EQ(rec.lastProgressStep, 5); // the last step is always delivered
        ST_CHECK(rec.cancelled.empty() && rec.failed.empty());
    }
    ST_CHECK(engineThread != std::this_thread::get_id()); // the engine lives on the worker
}

ST_TEST(progressIsThrottled)
{
    Recorder rec;
    JobRunner<FakeEngine, int> runner([] { return std::make_unique<FakeEngine>(); }, rec.callbacks());
    runner.start(steps(2000, 0ms, 1)); // 2000 steps as fast as possible
    ST_CHECK(rec.waitFor(1));
    ST_CHECK_MSG(rec.progressCalls.load() < 200, rec.progressCalls.load());
    ST_CHECK_EQ(rec.lastProgressStep, 2000);
}

ST_TEST(cancelGivesCancelledNotError)
{
    Recorder rec;
    JobRunner<FakeEngine, int> runner([] { return std::make_unique<FakeEngine>(); }, rec.callbacks());
    auto id = runner.start(steps(1000, 5ms, 1));
    std::this_thread::sleep_for(30ms);
    auto t0 = std::chrono::steady_clock::now();
    runner.cancel();
    ST_CHECK(rec.waitFor(1));
    ST_CHECK(std::chrono::steady_clock::now() - t0 < 1s); // within about one step
    ST_CHECK_EQ(rec.cancelled.size(), std::size_t(1));
    ST_CHECK_EQ(rec.cancelled[0], id);
    ST_CHECK(rec.failed.empty() && rec.finished.empty());
}

ST_TEST(secondStartDropsFirstResult)
{
    Recorder rec;
    JobRunner<FakeEngine, int> runner([] { return std::make_unique<FakeEngine>(); }, rec.callbacks());
    auto first = runner.start(steps(200, 5ms, 1));
    std::this_thread::sleep_for(20ms);
    auto second = runner.start(steps(3, 5ms, 2));
    ST_CHECK(second > first);
    ST_CHECK(rec.waitFor(1));
    std::this_thread::sleep_for(50ms);
    std::lock_guard l(rec.mutex);
    ST_CHECK_EQ(rec.finished.size(), std::size_t(1));
    ST_CHECK_EQ(rec.finished[0], second);
    ST_CHECK_EQ(rec.finishedValues[0], 2);
    ST_CHECK(rec.cancelled.empty()); // the superseded job reports nothing at all
    ST_CHECK(rec.failed.empty());
}

ST_TEST(exceptionBecomesFailure)
{
    Recorder rec;
    JobRunner<FakeEngine, int> runner([] { return std::make_unique<FakeEngine>(); }, rec.callbacks());
    auto id = runner.start([](FakeEngine&, std::stop_token, const ProgressFn&) -> int {
        throw BackendError("CUDA out of memory during sparse attention");
    });
    ST_CHECK(rec.waitFor(1));
    ST_CHECK_EQ(rec.failed.size(), std::size_t(1));
    ST_CHECK_EQ(rec.failed[0].first, id);
    ST_CHECK_EQ(rec.failed[0].second, std::string("CUDA out of memory during sparse attention"));
    // The runner stays usable after a failure.
    runner.start(steps(2, 1ms, 7));
    ST_CHECK(rec.waitFor(2));
    ST_CHECK_EQ(rec.finishedValues.back(), 7);
}

ST_TEST(engineStaysResidentAndCreationFailureIsReported)
{
    Recorder rec;
    std::atomic<int> created{0};
    FakeEngine* seen = nullptr;
    {
        JobRunner<FakeEngine, int> runner([&] {
            ++created;
            return std::make_unique<FakeEngine>();
        }, rec.callbacks());
        for (int i = 0; i < 3; ++i) {
            runner.start([&seen](FakeEngine& e, std::stop_token, const ProgressFn&) {
                seen = &e;
                return ++e.runs;
            });
            ST_CHECK(rec.waitFor(static_cast<std::size_t>(i + 1)));
        }
    }
    ST_CHECK_EQ(created.load(), 1);
    ST_CHECK_EQ(rec.finishedValues.back(), 3);

    Recorder bad;
    JobRunner<FakeEngine, int> broken([]() -> std::unique_ptr<FakeEngine> { throw ModelError("config.json: missing"); },
                                      bad.callbacks());
    broken.start(steps(1, 1ms, 1));
    ST_CHECK(bad.waitFor(1));
    ST_CHECK_EQ(bad.failed.size(), std::size_t(1));
    ST_CHECK_EQ(bad.failed[0].second, std::string("config.json: missing"));
}

ST_TEST(destroyingMidRunReturnsPromptly)
{
    Recorder rec;
    auto t0 = std::chrono::steady_clock::now();
    {
        JobRunner<FakeEngine, int> runner([] { return std::make_unique<FakeEngine>(); }, rec.callbacks());
        runner.start(steps(100000, 2ms, 1));
        std::this_thread::sleep_for(20ms);
    }
    ST_CHECK(std::chrono::steady_clock::now() - t0 < 2s);
}

ST_MAIN()
