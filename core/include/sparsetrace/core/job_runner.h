// A Qt-free job runner: one long-lived worker thread owns an engine (libtorch's inference mode
// and the CUDA device are per thread, and the loaded model stays resident between runs), runs
// one job at a time with a std::stop_token, throttles progress to about 20 Hz, and drops the
// results of stale jobs by a job counter (a newer start supersedes an older job). Outcomes:
// finished, failed (an exception's one-line message) or cancelled (never reported as failure).
// Callbacks run on the worker thread; a GUI facade marshals them to its own thread.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/error.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

namespace sparsetrace::core {

struct Progress {
    int step = 0;       // completed steps (e.g. layers)
    int total = 0;      // steps in this stage
    std::string stage;  // "dense prefill", "sparse pass", "k search probe K=8", ...
};
using ProgressFn = std::function<void(const Progress&)>;

// Throws Cancelled when a stop was requested; engines call it between layers.
inline void throwIfStopped(const std::stop_token& stop)
{
    if (stop.stop_requested()) throw Cancelled();
}

template <class Engine, class Result> class JobRunner {
public:
    using Job = std::function<Result(Engine&, std::stop_token, const ProgressFn&)>;
    struct Callbacks {
        std::function<void(std::uint64_t job, const Progress&)> progress;
        std::function<void(std::uint64_t job, Result result)> finished;
        std::function<void(std::uint64_t job, const std::string& message)> failed;
        std::function<void(std::uint64_t job)> cancelled;
    };

    // `makeEngine` runs on the worker thread (so per-thread state such as the CUDA device is
    // set up there); an exception from it fails every job with its message.
    JobRunner(std::function<std::unique_ptr<Engine>()> makeEngine, Callbacks callbacks)
        : m_makeEngine(std::move(makeEngine)), m_callbacks(std::move(callbacks)),
          m_thread([this](std::stop_token threadStop) { loop(threadStop); })
    {
    }
    ~JobRunner()
    {
        {
            std::lock_guard lock(m_mutex);
            if (m_current) m_current->request_stop();
            m_pending.reset();
            m_thread.request_stop(); // under the mutex: the worker cannot miss the wake-up
        }
        m_wake.notify_all();
        // jthread joins here; a running job sees its stop token and returns within one step.
    }
    JobRunner(const JobRunner&) = delete;
    JobRunner& operator=(const JobRunner&) = delete;

    // Queues `job`, asking any running job to stop; returns the new job's id. Only the latest
    // job's callbacks are delivered.
    std::uint64_t start(Job job)
    {
        std::lock_guard lock(m_mutex);
        const std::uint64_t id = ++m_latest;
        if (m_current) m_current->request_stop();
        m_pending = Pending{id, std::move(job)};
        m_wake.notify_all();
        return id;
    }
    // Asks the running (or queued) job to stop; it reports `cancelled`.
    void cancel()
    {
        std::lock_guard lock(m_mutex);
        if (m_current) m_current->request_stop();
        if (m_pending) {
            const std::uint64_t id = m_pending->id;
            m_pending.reset();
            m_cancelQueued = id;
            m_wake.notify_all();
        }
    }
    bool busy() const
    {
        std::lock_guard lock(m_mutex);
        return m_running || m_pending.has_value();
    }
    std::uint64_t latestJob() const
    {
        std::lock_guard lock(m_mutex);
        return m_latest;
    }

private:
    struct Pending {
        std::uint64_t id;
        Job job;
    };

    bool isLatest(std::uint64_t id) const
    {
        std::lock_guard lock(m_mutex);
        return id == m_latest;
    }

    void loop(std::stop_token threadStop)
    {
        std::unique_ptr<Engine> engine;
        std::string engineError;
        bool engineTried = false;
        while (true) {
            Pending next;
            std::stop_source jobStop;
            std::optional<std::uint64_t> cancelledQueued;
            {
                std::unique_lock lock(m_mutex);
                m_wake.wait(lock, [&] { return threadStop.stop_requested() || m_pending || m_cancelQueued; });
                if (threadStop.stop_requested()) return;
                if (m_cancelQueued) {
                    cancelledQueued = m_cancelQueued;
                    m_cancelQueued.reset();
                }
                if (m_pending) {
                    next = std::move(*m_pending);
                    m_pending.reset();
                    m_current = &jobStop;
                    m_running = true;
                }
            }
            if (cancelledQueued && isLatest(*cancelledQueued) && m_callbacks.cancelled) m_callbacks.cancelled(*cancelledQueued);
            if (!next.job) continue;
            runOne(next, jobStop, engine, engineError, engineTried);
            std::lock_guard lock(m_mutex);
            m_current = nullptr;
            m_running = false;
        }
    }

    void runOne(Pending& job, std::stop_source& jobStop, std::unique_ptr<Engine>& engine, std::string& engineError,
                bool& engineTried)
    {
        const std::uint64_t id = job.id;
        auto lastReport = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        ProgressFn progress = [&](const Progress& p) {
            const auto now = std::chrono::steady_clock::now();
            const bool last = p.step >= p.total;
            if (!last && now - lastReport < std::chrono::milliseconds(50)) return; // ~20 Hz
            lastReport = now;
            if (isLatest(id) && m_callbacks.progress) m_callbacks.progress(id, p);
        };
        try {
            if (!engineTried) {
                engineTried = true;
                try {
                    engine = m_makeEngine();
                } catch (const std::exception& e) {
                    engineError = e.what();
                }
            }
            if (!engine) throw BackendError(engineError.empty() ? "the engine could not be created" : engineError);
            throwIfStopped(jobStop.get_token());
            Result result = job.job(*engine, jobStop.get_token(), progress);
            if (isLatest(id) && m_callbacks.finished) m_callbacks.finished(id, std::move(result));
        } catch (const Cancelled&) {
            if (isLatest(id) && m_callbacks.cancelled) m_callbacks.cancelled(id);
        } catch (const std::exception& e) {
            if (jobStop.stop_requested()) {
                // An engine that fails while being stopped was still cancelled.
                if (isLatest(id) && m_callbacks.cancelled) m_callbacks.cancelled(id);
            } else if (isLatest(id) && m_callbacks.failed) {
                m_callbacks.failed(id, e.what());
            }
        } catch (...) {
            if (isLatest(id) && m_callbacks.failed) m_callbacks.failed(id, "unknown error");
        }
    }

    std::function<std::unique_ptr<Engine>()> m_makeEngine;
    Callbacks m_callbacks;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::optional<Pending> m_pending;
    std::optional<std::uint64_t> m_cancelQueued;
    std::stop_source* m_current = nullptr;
    bool m_running = false;
    std::uint64_t m_latest = 0;
    std::jthread m_thread; // last member: starts after the others are constructed
};

} // namespace sparsetrace::core
