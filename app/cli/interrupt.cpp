// Ctrl-C for the CLI (see interrupt.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "interrupt.h"

#include <chrono>
#include <csignal>

namespace sparsetrace::cli {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void onSigint(int) { g_interrupted.store(true); }
} // namespace

StopOnInterrupt::StopOnInterrupt()
{
    g_interrupted.store(false);
    m_previous = std::signal(SIGINT, onSigint);
    m_watcher = std::thread([this] {
        while (!m_done.load()) {
            if (g_interrupted.exchange(false)) m_stop.request_stop();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
}

StopOnInterrupt::~StopOnInterrupt()
{
    m_done.store(true);
    m_watcher.join();
    std::signal(SIGINT, m_previous == SIG_ERR ? SIG_DFL : m_previous);
}

} // namespace sparsetrace::cli
