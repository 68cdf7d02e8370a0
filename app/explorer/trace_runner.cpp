// The Qt facade over the job runner (see trace_runner.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "trace_runner.h"

#include "sparsetrace/core/error.h"

#include <QMetaObject>

namespace sparsetrace::explorer {

namespace {

constexpr int kPreviewChars = 4000;

// The first kPreviewChars characters of `text`, cut at a code point boundary.
QString preview(const std::string& text)
{
    const QString all = QString::fromStdString(text);
    if (all.size() <= kPreviewChars) return all;
    return all.left(kPreviewChars) + QStringLiteral(" …");
}

// The request with its prompt text and annotations filled from the spec's prompt source.
core::TraceRequest resolvedRequest(const TraceRunSpec& spec)
{
    core::TraceRequest r = spec.request;
    core::ResolvedPrompt p = core::resolvePrompt(spec.prompt, r.modelDir);
    r.prompt = std::move(p.text);
    for (auto& [key, value] : p.annotations.items()) r.annotations[key] = value;
    return r;
}

} // namespace

TraceRunner::TraceRunner(core::EngineFactory factory, QObject* parent) : QObject(parent), m_factory(std::move(factory))
{
    qRegisterMetaType<widgets::TracePtr>();
    qRegisterMetaType<TraceExamination>();
}

TraceRunner::~TraceRunner()
{
    // Joins the workers before QObject's destructor discards the deliveries they posted.
    m_runs.reset();
    m_exams.reset();
}

template <class F> void TraceRunner::deliver(std::uint64_t epoch, std::uint64_t id, const std::uint64_t* latest, F f)
{
    // Posted from a worker thread; `this` outlives the workers (the destructor joins them), and
    // Qt drops posted calls whose context object has been destroyed.
    QMetaObject::invokeMethod(this, [this, epoch, id, latest, f = std::move(f)]() mutable {
        if (epoch != m_epoch || id != *latest) return; // superseded, or from before a shutdown
        f();
    }, Qt::QueuedConnection);
}

void TraceRunner::ensureRunJobs()
{
    if (m_runs) return;
    const std::uint64_t epoch = m_epoch;
    RunJobs::Callbacks c;
    c.progress = [this, epoch](std::uint64_t id, const core::Progress& p) {
        deliver(epoch, id, &m_runJob, [this, p] { emit progressChanged(p.step, p.total, QString::fromStdString(p.stage)); });
    };
    c.finished = [this, epoch](std::uint64_t id, RunOutcome outcome) {
        deliver(epoch, id, &m_runJob, [this, outcome = std::move(outcome)] {
            setBusy(false);
            if (outcome.trace) emit finished(widgets::TracePtr(outcome.trace));
            else emit sweepFinished(QString::fromStdString(outcome.sweepFolder), outcome.cells, outcome.retrieved);
        });
    };
    c.failed = [this, epoch](std::uint64_t id, const std::string& message) {
        deliver(epoch, id, &m_runJob, [this, m = QString::fromStdString(message)] {
            setBusy(false);
            emit failed(m);
        });
    };
    c.cancelled = [this, epoch](std::uint64_t id) {
        deliver(epoch, id, &m_runJob, [this] {
            setBusy(false);
            emit cancelled();
        });
    };
    m_runs = std::make_unique<RunJobs>(m_factory, std::move(c));
}

void TraceRunner::ensureExamJobs()
{
    if (m_exams) return;
    const std::uint64_t epoch = m_epoch;
    ExamJobs::Callbacks c;
    c.finished = [this, epoch](std::uint64_t id, ExamResult exam) {
        deliver(epoch, id, &m_examJob, [this, exam = std::move(exam)] { emit examined(*exam); });
    };
    // The examination job catches what it can explain; this is the engine failing to start.
    c.failed = [this, epoch](std::uint64_t id, const std::string& message) {
        deliver(epoch, id, &m_examJob, [this, m = QString::fromStdString(message)] {
            TraceExamination e;
            e.modelError = m;
            emit examined(e);
        });
    };
    m_exams = std::make_unique<ExamJobs>(m_factory, std::move(c));
}

void TraceRunner::setBusy(bool busy)
{
    if (busy == m_busy) return;
    m_busy = busy;
    emit busyChanged(busy);
}

std::uint64_t TraceRunner::startJob(std::function<RunOutcome(core::TraceEngineInterface&, std::stop_token, const core::ProgressFn&)> job)
{
    ensureRunJobs();
    m_runJob = m_runs->start(std::move(job));
    ++m_run;
    setBusy(true);
    return m_run;
}

std::uint64_t TraceRunner::start(TraceRunSpec spec)
{
    const std::uint64_t serial = m_run + 1, epoch = m_epoch;
    return startJob([this, serial, epoch, spec = std::move(spec)](core::TraceEngineInterface& engine, std::stop_token stop,
                                                                   const core::ProgressFn& progress) {
        const core::TraceRequest request = resolvedRequest(spec);
        core::throwIfStopped(stop);
        RunOutcome out;
        out.trace = engine.trace(request, progress, stop, [this, serial, epoch](const core::ProbeReport& p) {
            QMetaObject::invokeMethod(this, [this, serial, epoch, p] {
                if (serial == m_run && epoch == m_epoch) emit probeReported(p.k, p.preserved, p.sparsity);
            }, Qt::QueuedConnection);
        });
        return out;
    });
}

std::uint64_t TraceRunner::startSweep(core::NiahTracedSweep sweep)
{
    return startJob([sweep = std::move(sweep)](core::TraceEngineInterface& engine, std::stop_token stop,
                                               const core::ProgressFn& progress) mutable {
        const std::string folder = sweep.outDir.string();
        std::size_t done = 0, total = sweep.spec.cellCount();
        const core::NiahTraceFn trace = [&](const core::TraceRequest& request, std::stop_token cellStop) {
            const std::string cell = "needle sweep: cell " + std::to_string(done + 1) + " of " + std::to_string(total);
            if (progress) progress({static_cast<int>(done), static_cast<int>(total), cell});
            const core::ProgressFn inner = [&](const core::Progress& p) {
                if (progress) progress({static_cast<int>(done), static_cast<int>(total),
                                        cell + " (" + p.stage + " " + std::to_string(p.step) + "/" + std::to_string(p.total) + ")"});
            };
            return engine.trace(request, inner, cellStop, {});
        };
        const core::NiahTable table = core::runTracedNiahSweep(std::move(sweep), trace, [&](const core::NiahSweepProgress& p) {
            done = p.done;
            total = p.total;
            if (progress) progress({static_cast<int>(p.done), static_cast<int>(p.total), "needle sweep"});
        }, stop);
        RunOutcome out;
        out.sweepFolder = folder;
        for (const auto& c : table.cells()) {
            ++out.cells;
            out.retrieved += c.retrieved ? 1 : 0;
        }
        return out;
    });
}

void TraceRunner::cancel()
{
    if (m_runs) m_runs->cancel();
}

std::uint64_t TraceRunner::examine(TraceRunSpec spec)
{
    ensureExamJobs();
    m_examJob = m_exams->start([spec = std::move(spec)](core::TraceEngineInterface& engine, std::stop_token stop,
                                                        const core::ProgressFn&) {
        auto e = std::make_shared<TraceExamination>();
        e->devices = engine.devices();
        if (spec.request.modelDir.empty()) {
            e->modelError = QStringLiteral("Choose a model folder.");
            return e;
        }
        try {
            e->model = engine.inspect(spec.request.modelDir);
            if (!e->model->usable())
                e->modelError = QString::fromStdString(e->model->weightsProblem.empty() ? e->model->tokenizerProblem
                                                                                        : e->model->weightsProblem);
        } catch (const std::exception& ex) {
            e->modelError = QString::fromStdString(ex.what());
        }
        if (!e->modelError.isEmpty()) return e;
        core::throwIfStopped(stop);
        try {
            const core::TraceRequest request = resolvedRequest(spec);
            e->promptPreview = preview(*request.prompt);
            core::throwIfStopped(stop);
            e->estimate = engine.estimate(request);
        } catch (const Cancelled&) {
            throw;
        } catch (const std::exception& ex) {
            e->estimateError = QString::fromStdString(ex.what());
        }
        return e;
    });
    return m_examJob;
}

void TraceRunner::shutdown()
{
    ++m_epoch; // everything the old workers posted is now stale
    m_runs.reset();
    m_exams.reset();
    if (m_busy) {
        setBusy(false);
        emit cancelled();
    }
}

} // namespace sparsetrace::explorer
