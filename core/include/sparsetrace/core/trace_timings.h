// Where a trace run's wall time goes (issue 19): named phases in the order they ran, filled
// only when a request carries a TraceTimings to fill (TraceRequest::timings). The engine then
// synchronises its device at each lap (phase boundaries, and around every attention call of a
// forward pass) so that a phase holds its own device work; without one it reads no clock and
// synchronises nothing.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

struct TraceTimings {
    struct Phase {
        std::string name;
        double seconds = 0;
    };
    std::vector<Phase> phases; // in the order they first ran; a repeated phase adds to its entry
    double totalSeconds = 0;   // the whole run, entry to return

    void add(std::string_view name, double seconds);
    double sum() const; // of the phases (totalSeconds less what no phase covers)
    void clear();
    // One line per phase ("  sparse prefill: model    1.2340 s   54.7%"), then the sum and the total.
    std::string table() const;
};

// Laps of a run into `timings`; inert (no clock, no synchronisation) when `timings` is null.
// `synchronise` (optional) runs before each lap is read: the device's queued work is charged to
// the phase that queued it.
class PhaseClock {
public:
    explicit PhaseClock(TraceTimings* timings, std::function<void()> synchronise = {});
    bool active() const { return m_timings != nullptr; }
    // Closes the phase running since the previous lap (or the clock's start) under `name`.
    void lap(std::string_view name);
    // Seconds since the clock started (0 when inert).
    double elapsed() const;

private:
    using Clock = std::chrono::steady_clock;
    TraceTimings* m_timings;
    std::function<void()> m_synchronise;
    Clock::time_point m_start, m_last;
};

} // namespace sparsetrace::core
