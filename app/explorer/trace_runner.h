// The Qt facade over the engine's job runner (core::JobRunner): runs traces on one long-lived
// worker thread that owns the engine, examines requests (model folder, devices, prompt, estimate)
// on a second one, and delivers every outcome on the GUI thread as a signal. Only the latest
// run's and the latest examination's outcomes arrive; Cancel gives `cancelled`, never `failed`.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/core/prompt_source.h"
#include "sparsetrace/core/trace_request.h"
#include "sparsetrace/widgets/async_jobs.h"
#include "sparsetrace/core/trace_engine_interface.h"

#include <QObject>
#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace sparsetrace::explorer {

// A run as the explorer asks for it: the request, whose prompt text comes from `prompt`.
struct TraceRunSpec {
    core::TraceRequest request;
    core::PromptSource prompt;
};

// What is known about a spec before running it. The model and the estimate fail separately.
struct TraceExamination {
    std::vector<core::DeviceChoice> devices;
    std::optional<core::ModelFolderSummary> model;
    QString modelError;                      // why the folder cannot be used (empty when it can)
    std::optional<core::TraceEstimate> estimate;
    QString estimateError;                   // why there is no estimate (prompt, length, ...)
    QString promptPreview;                   // the start of the resolved prompt text
};

class TraceRunner : public QObject {
    Q_OBJECT
public:
    explicit TraceRunner(core::EngineFactory factory, QObject* parent = nullptr);
    // Stops a running trace and joins the workers (returns within one layer of the engine).
    ~TraceRunner() override;

    // Starts a run, superseding (and stopping) any running one. Returns the run's id.
    std::uint64_t start(TraceRunSpec spec);
    // Starts a needle-in-a-haystack sweep on the same worker and engine (a run like any other:
    // it supersedes a running trace, Cancel stops it within one layer, and the cells finished
    // so far stay in its folder, from where a new start with the same settings resumes).
    // Progress counts cells; its stage names the cell and the engine's stage within it.
    std::uint64_t startSweep(core::NiahTracedSweep sweep);
    // Asks the run to stop; it reports `cancelled` within one layer.
    void cancel();
    // A run was started and its outcome has not been delivered yet.
    bool busy() const { return m_busy; }
    std::uint64_t currentRun() const { return m_run; }

    // Examines `spec` off the GUI thread; a newer call drops the older answer.
    std::uint64_t examine(TraceRunSpec spec);
    // The id examine() returned last: the one whose answer `examined` delivers (two dialogs
    // sharing the runner tell their answers apart by it).
    std::uint64_t latestExamination() const { return m_examJob; }

    // Stops everything and joins the worker threads now (closing the window). The runner may
    // be used again afterwards: a later call starts fresh workers and engines.
    void shutdown();

signals:
    void progressChanged(int step, int total, const QString& stage);
    void probeReported(int k, bool preserved, double sparsity);
    void finished(sparsetrace::widgets::TracePtr trace);
    // A sweep finished: its folder holds niah.json, niah.csv and traces/.
    void sweepFinished(const QString& folder, int cells, int retrieved);
    void failed(const QString& message);
    void cancelled();
    void busyChanged(bool busy);
    void examined(const sparsetrace::explorer::TraceExamination& examination);

private:
    // What a run made: a trace, or a finished sweep's folder and counts.
    struct RunOutcome {
        std::shared_ptr<core::OwnedTrace> trace;
        std::string sweepFolder;
        int cells = 0, retrieved = 0;
    };
    using ExamResult = std::shared_ptr<TraceExamination>;
    using RunJobs = core::JobRunner<core::TraceEngineInterface, RunOutcome>;
    using ExamJobs = core::JobRunner<core::TraceEngineInterface, ExamResult>;

    void ensureRunJobs();
    std::uint64_t startJob(std::function<RunOutcome(core::TraceEngineInterface&, std::stop_token, const core::ProgressFn&)> job);
    void ensureExamJobs();
    void setBusy(bool busy);
    // Queues `f` to the GUI thread; it runs when job `id` of `epoch` is still the latest of
    // its kind (`latest` points at m_runJob or m_examJob).
    template <class F> void deliver(std::uint64_t epoch, std::uint64_t id, const std::uint64_t* latest, F f);

    core::EngineFactory m_factory;
    std::unique_ptr<RunJobs> m_runs;
    std::unique_ptr<ExamJobs> m_exams;
    // Ids restart with every JobRunner, so deliveries also carry the epoch (shutdowns so far).
    std::uint64_t m_epoch = 0;
    std::uint64_t m_runJob = 0;  // the run JobRunner's id of the latest run
    std::uint64_t m_examJob = 0; // the exam JobRunner's id of the latest examination
    std::uint64_t m_run = 0;     // runs started over the runner's life (currentRun())
    bool m_busy = false;
};

} // namespace sparsetrace::explorer

Q_DECLARE_METATYPE(sparsetrace::explorer::TraceExamination)
