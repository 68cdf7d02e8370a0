// Traces made in the explorer: run, progress, open, save, and the unsaved-trace questions
// (see run_controller.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "run_controller.h"

#include "new_trace_dialog.h"
#include "sweep_dialog.h"

#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/widgets/future_delivery.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace sparsetrace::explorer {

using widgets::TracePtr;

RunController::RunController(QWidget* window) : QObject(window), m_window(window)
{
    m_stage = new QLabel(window);
    m_progress = new QProgressBar(window);
    m_progress->setMaximumWidth(220);
    m_progress->setFormat(QStringLiteral("%v / %m"));
    m_cancel = new QPushButton(tr("Cancel"), window);
    m_cancel->setToolTip(tr("Stop the trace (it stops after the layer being computed)"));
    for (QWidget* w : {static_cast<QWidget*>(m_stage), static_cast<QWidget*>(m_progress), static_cast<QWidget*>(m_cancel)}) {
        w->hide();
    }
    connect(m_cancel, &QPushButton::clicked, this, &RunController::cancelRun);
    m_askUnsaved = [this](const QString& text) {
        return QMessageBox::question(m_window, tr("Unsaved trace"), text,
                                     QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    };
    m_askSavePath = [this](const QString& suggestion) {
        return QFileDialog::getSaveFileName(m_window, tr("Save trace"), suggestion, tr("SparseTrace traces (*.sptrace)"));
    };
}

RunController::~RunController() = default;

QList<QWidget*> RunController::statusWidgets() const { return {m_stage, m_progress, m_cancel}; }

void RunController::setShownTrace(TracePtr trace, const QString& path)
{
    m_shown = std::move(trace);
    m_shownPath = path;
}

void RunController::setEngineFactory(core::EngineFactory factory)
{
    m_factory = std::move(factory);
    delete m_dialog; // it examines through the runner replaced here
    delete m_sweepDialog;
    if (m_runner) {
        m_runner->shutdown();
        delete m_runner;
        m_runner = nullptr;
    }
}

void RunController::setQuestions(UnsavedQuestion unsaved, SavePathQuestion savePath)
{
    m_askUnsaved = std::move(unsaved);
    m_askSavePath = std::move(savePath);
}

void RunController::ensureRunner()
{
    if (m_runner || !m_factory) return;
    m_runner = new explorer::TraceRunner(m_factory, this);
    connect(m_runner, &explorer::TraceRunner::busyChanged, this, &RunController::onBusy);
    connect(m_runner, &explorer::TraceRunner::progressChanged, this, &RunController::onProgress);
    connect(m_runner, &explorer::TraceRunner::probeReported, this, [this](int k, bool preserved, double sparsity) {
        emit statusMessage(tr("k search: K=%1 %2 (sparsity %3)")
                               .arg(k)
                               .arg(preserved ? tr("keeps the answer") : tr("changes the answer"))
                               .arg(sparsity, 0, 'f', 3),
                           8000);
    });
    connect(m_runner, &explorer::TraceRunner::finished, this, &RunController::onFinished);
    connect(m_runner, &explorer::TraceRunner::sweepFinished, this, [this](const QString& folder, int cells, int retrieved) {
        emit sweepFinished(folder);
        emit statusMessage(tr("Needle sweep done: %1 of %2 cells retrieved; saved in %3").arg(retrieved).arg(cells).arg(folder), 10000);
    });
    connect(m_runner, &explorer::TraceRunner::failed, this, [this](const QString& message) {
        emit errorRaised(m_sweeping ? tr("The needle sweep failed") : tr("The trace failed"), message);
        emit runFailed(message);
    });
    connect(m_runner, &explorer::TraceRunner::cancelled, this, [this] {
        emit statusMessage(m_sweeping ? tr("Needle sweep cancelled; the finished cells are kept and a new start resumes")
                                      : tr("Trace cancelled"),
                           8000);
        emit runCancelled();
    });
}

void RunController::addNewTraceAction(QMenu* file)
{
    file->addAction(tr("&New Trace…"), QKeySequence::New, this, &RunController::showNewTraceDialog);
    file->addAction(tr("Run Needle S&weep…"), this, &RunController::showSweepDialog);
}

void RunController::addSaveActions(QMenu* file)
{
    m_saveAction = file->addAction(tr("&Save"), QKeySequence::Save, this, [this] { save(); });
    m_saveAsAction = file->addAction(tr("Save &As…"), QKeySequence::SaveAs, this, [this] { saveAs(); });
    // Enabled states follow what is shown when the menu opens.
    connect(file, &QMenu::aboutToShow, this, [this] {
        m_saveAction->setEnabled(unsaved() && !m_saving);
        m_saveAsAction->setEnabled(m_shown != nullptr && !m_saving);
    });
}

void RunController::showNewTraceDialog()
{
    ensureRunner();
    if (!m_runner) {
        emit errorRaised(tr("Cannot trace"), tr("This build of the explorer has no tracing engine."));
        return;
    }
    if (m_dialog) {
        m_dialog->raise();
        m_dialog->activateWindow();
        return;
    }
    m_dialog = new NewTraceDialog(m_runner, m_window);
    m_dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_dialog, &QDialog::accepted, this, [this] { startRun(m_dialog->spec()); });
    m_dialog->show();
}

NewTraceDialog* RunController::dialog() const { return m_dialog; }

void RunController::showSweepDialog()
{
    ensureRunner();
    if (!m_runner) {
        emit errorRaised(tr("Cannot run a sweep"), tr("This build of the explorer has no tracing engine."));
        return;
    }
    if (m_sweepDialog) {
        m_sweepDialog->raise();
        m_sweepDialog->activateWindow();
        return;
    }
    m_sweepDialog = new SweepDialog(m_runner, m_window);
    m_sweepDialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_sweepDialog, &QDialog::accepted, this, [this] {
        try {
            startSweep(m_sweepDialog->sweep());
        } catch (const std::exception& e) {
            emit errorRaised(tr("Cannot run the sweep"), QString::fromStdString(e.what()));
        }
    });
    m_sweepDialog->show();
}

SweepDialog* RunController::sweepDialog() const { return m_sweepDialog; }

void RunController::startSweep(core::NiahTracedSweep sweep)
{
    ensureRunner();
    if (!m_runner) return;
    m_sweeping = true;
    m_progress->setRange(0, 0);
    m_stage->setText(tr("Starting the sweep…"));
    m_runner->startSweep(std::move(sweep));
}

void RunController::startRun(explorer::TraceRunSpec spec)
{
    ensureRunner();
    if (!m_runner) return;
    m_sweeping = false;
    m_progress->setRange(0, 0); // busy until the first layer reports
    m_stage->setText(tr("Starting…"));
    m_runner->start(std::move(spec));
}

void RunController::cancelRun()
{
    if (!running()) return;
    m_stage->setText(tr("Cancelling…"));
    m_cancel->setEnabled(false);
    m_runner->cancel();
}

void RunController::onBusy(bool busy)
{
    for (QWidget* w : {static_cast<QWidget*>(m_stage), static_cast<QWidget*>(m_progress), static_cast<QWidget*>(m_cancel)})
        w->setVisible(busy);
    m_cancel->setEnabled(busy);
}

void RunController::onProgress(int step, int total, const QString& stage)
{
    m_stage->setText(stage);
    m_progress->setRange(0, std::max(total, 1));
    m_progress->setValue(std::clamp(step, 0, std::max(total, 1)));
}

void RunController::onFinished(TracePtr trace)
{
    m_made = trace;
    emit traceMade(trace);
    const auto& info = trace->info();
    QString message = tr("Traced %1 tokens, sparsity %2").arg(info.promptTokens).arg(core::traceSparsity(*trace).sparsity(), 0, 'f', 3);
    if (info.behaviour) message += info.behaviour->preserved ? tr(", behaviour preserved") : tr(", behaviour NOT preserved");
    emit statusMessage(message + tr(" (unsaved)"), 10000);
    emit runFinished(trace);
}

bool RunController::unsaved() const
{
    return m_made && m_shown == m_made && m_savedTrace != m_made;
}

QString RunController::suggestedName() const
{
    const TracePtr t = m_shown;
    QString model = t ? QString::fromStdString(t->info().provenance.modelName) : QString();
    if (model.isEmpty()) model = QStringLiteral("trace");
    const QString dir = m_shownPath.isEmpty() ? QDir::homePath() : QFileInfo(m_shownPath).absolutePath();
    return QDir(dir).filePath(model + QStringLiteral(".sptrace"));
}

bool RunController::save()
{
    // A trace made here is immutable: once saved there is nothing more to save, so the first
    // Save asks for the file.
    if (!unsaved()) return false;
    return saveAs();
}

bool RunController::saveAs()
{
    if (!m_shown) return false;
    QString path = m_askSavePath(suggestedName());
    if (path.isEmpty()) return false;
    if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".sptrace");
    return saveTo(path);
}

bool RunController::saveTo(const QString& path)
{
    const TracePtr trace = m_shown;
    if (!trace || m_saving) return false;
    m_saving = true;
    emit statusMessage(tr("Saving %1…").arg(QFileInfo(path).fileName()), 0);
    // The trace is immutable: the worker reads it while the window keeps showing it.
    auto future = QtConcurrent::run([trace, path]() -> QString {
        try {
            core::writeTraceFile(*trace, path.toStdString());
            return {};
        } catch (const std::exception& e) {
            return QString::fromStdString(e.what());
        } catch (...) {
            return QStringLiteral("unknown error while writing the trace");
        }
    });
    widgets::deliverWhenFinished(this, std::move(future), [this, trace, path](const QString& error) { onSaved(trace, path, error); });
    return true;
}

void RunController::onSaved(const TracePtr& trace, const QString& path, const QString& error)
{
    m_saving = false;
    if (!error.isEmpty()) {
        m_closeAfterSave = false;
        emit statusMessage(QString(), 0);
        emit errorRaised(tr("Cannot save the trace"), error);
        emit saveFailed(path, error);
        return;
    }
    if (trace == m_made) m_savedTrace = m_made;
    if (trace == m_shown) emit tracePathChosen(path);
    emit statusMessage(tr("Saved %1").arg(path), 5000);
    emit saved(path);
    if (m_closeAfterSave) {
        m_closeAfterSave = false;
        emit closeRequested();
    }
}

bool RunController::confirmReplace()
{
    if (!unsaved()) return true;
    const auto answer = m_askUnsaved(tr("The trace made in this window has not been saved. Save it first?"));
    if (answer == QMessageBox::Discard) return true;
    if (answer == QMessageBox::Save) save(); // the replacing trace waits for the user to retry
    return false;
}

bool RunController::prepareClose()
{
    if (m_saving) {
        m_closeAfterSave = true;
        return false;
    }
    if (unsaved()) {
        const auto answer = m_askUnsaved(tr("The trace made in this window has not been saved. Save it before closing?"));
        if (answer == QMessageBox::Cancel) return false;
        if (answer == QMessageBox::Save) {
            m_closeAfterSave = save();
            return false;
        }
    }
    if (m_dialog) m_dialog->close();
    if (m_runner) m_runner->shutdown(); // stop + join: the engine returns within one layer
    return true;
}

} // namespace sparsetrace::explorer
