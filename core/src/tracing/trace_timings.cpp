// Phase timings of a trace run (see trace_timings.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/trace_timings.h"

#include <algorithm>
#include <cstdio>

namespace sparsetrace::core {

void TraceTimings::add(std::string_view name, double seconds)
{
    auto it = std::find_if(phases.begin(), phases.end(), [&](const Phase& p) { return p.name == name; });
    if (it == phases.end()) phases.push_back({std::string(name), seconds});
    else it->seconds += seconds;
}

double TraceTimings::sum() const
{
    double s = 0;
    for (const Phase& p : phases) s += p.seconds;
    return s;
}

void TraceTimings::clear()
{
    phases.clear();
    totalSeconds = 0;
}

std::string TraceTimings::table() const
{
    std::string out;
    char buf[160];
    const auto line = [&](const std::string& name, double seconds) {
        std::snprintf(buf, sizeof buf, "  %-32s %9.4f s %6.1f%%\n", name.c_str(), seconds,
                      totalSeconds > 0 ? 100.0 * seconds / totalSeconds : 0.0);
        out += buf;
    };
    for (const Phase& p : phases) line(p.name, p.seconds);
    line("(sum of phases)", sum());
    line("(total)", totalSeconds);
    return out;
}

PhaseClock::PhaseClock(TraceTimings* timings, std::function<void()> synchronise)
    : m_timings(timings), m_synchronise(std::move(synchronise))
{
    if (m_timings) m_start = m_last = Clock::now();
}

void PhaseClock::lap(std::string_view name)
{
    if (!m_timings) return;
    if (m_synchronise) m_synchronise();
    const Clock::time_point now = Clock::now();
    m_timings->add(name, std::chrono::duration<double>(now - m_last).count());
    m_last = now;
}

double PhaseClock::elapsed() const
{
    return m_timings ? std::chrono::duration<double>(Clock::now() - m_start).count() : 0.0;
}

} // namespace sparsetrace::core
