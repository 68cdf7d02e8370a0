// Ctrl-C for the CLI's long commands, built one way: while a StopOnInterrupt lives, SIGINT
// requests a stop on its std::stop_token (the engine checks it between layers and throws
// Cancelled; main() turns that into exit code 130 and writes nothing). The signal handler only
// sets a flag; a watcher thread turns the flag into request_stop(), which is not
// async-signal-safe. The previous handler comes back on destruction.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <stop_token>
#include <thread>

namespace sparsetrace::cli {

class StopOnInterrupt {
public:
    StopOnInterrupt();
    ~StopOnInterrupt();
    StopOnInterrupt(const StopOnInterrupt&) = delete;
    StopOnInterrupt& operator=(const StopOnInterrupt&) = delete;

    std::stop_token token() const { return m_stop.get_token(); }

private:
    std::stop_source m_stop;
    std::atomic<bool> m_done{false};
    void (*m_previous)(int) = nullptr;
    std::thread m_watcher;
};

} // namespace sparsetrace::cli
