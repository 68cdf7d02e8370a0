// The explorer's traces made in the GUI: File > New Trace… runs the dialog's request on the
// TraceRunner with a progress bar and Cancel in the status bar, opens the finished trace in the
// window (unsaved, title marked *), saves it with Save / Save As (atomic), and asks before an
// unsaved trace is closed or replaced. Closing the window stops a running trace and joins it.
// The controller knows no window class: it parents its dialogs and status widgets on a
// QWidget, hears what the window shows through setShownTrace, and asks the window for
// everything else through signals (MainWindow wires both directions).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "trace_runner.h"

#include <QMessageBox>
#include <QObject>
#include <QList>
#include <QPointer>

#include <functional>

class QAction;
class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;

namespace sparsetrace::explorer {

class NewTraceDialog;
class SweepDialog;

class RunController : public QObject {
    Q_OBJECT
public:
    // `window` parents the dialogs, message boxes and status widgets.
    explicit RunController(QWidget* window);
    ~RunController() override;

    // The engine the runs use (the explorer's main() passes the libtorch one). Without one,
    // New Trace explains that this build cannot trace.
    void setEngineFactory(core::EngineFactory factory);
    explorer::TraceRunner* runner() const { return m_runner; }

    void addNewTraceAction(QMenu* file);
    void addSaveActions(QMenu* file);

    // Opens the New Trace dialog (non-modal, one at a time); Start runs its request.
    void showNewTraceDialog();
    NewTraceDialog* dialog() const;
    void startRun(explorer::TraceRunSpec spec);
    // Run > Needle Sweep…: the sweep dialog (non-modal, one at a time); Start runs the sweep on
    // the same runner (progress per cell, Cancel), and the finished sweep opens in the sweep view.
    void showSweepDialog();
    SweepDialog* sweepDialog() const;
    void startSweep(core::NiahTracedSweep sweep);
    void cancelRun();
    bool running() const { return m_runner && m_runner->busy(); }

    // The window shows a trace made here that has not been saved since.
    bool unsaved() const;
    // Save: the unsaved trace made here, to a file asked for; Save As: the shown trace, to a
    // file asked for. Asynchronous: `saved`, or `saveFailed` and a message box, follows.
    // Return false when no save was started.
    bool save();
    bool saveAs();
    bool saveTo(const QString& path);

    // Called before the window closes: asks about an unsaved trace (Save / Discard / Cancel);
    // false keeps the window open (Cancel, or a save that will close it when done). Otherwise
    // stops a running trace and joins the worker before returning true.
    bool prepareClose();
    // Called before another trace replaces the shown one: asks about an unsaved trace.
    bool confirmReplace();

    // How the user is asked (tests answer without a modal dialog).
    using UnsavedQuestion = std::function<QMessageBox::StandardButton(const QString& text)>;
    using SavePathQuestion = std::function<QString(const QString& suggestion)>;
    void setQuestions(UnsavedQuestion unsaved, SavePathQuestion savePath);

    // The stage, progress bar and Cancel, for the window's status bar (shown while running).
    QList<QWidget*> statusWidgets() const;
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* stageLabel() const { return m_stage; }
    QPushButton* cancelButton() const { return m_cancel; }

public slots:
    // What the window shows now (the trace and its file, empty when unsaved).
    void setShownTrace(sparsetrace::widgets::TracePtr trace, const QString& path);

signals:
    // Requests to the window.
    void traceMade(sparsetrace::widgets::TracePtr trace); // show it (no file yet)
    void tracePathChosen(const QString& path);            // the shown trace was saved there
    void statusMessage(const QString& message, int timeoutMs); // empty: clear the status bar
    void errorRaised(const QString& title, const QString& message);
    void closeRequested();                                 // a save asked for on closing is done
    // Outcomes (sweepFinished also asks the window to open the sweep's folder).
    void runFinished(sparsetrace::widgets::TracePtr trace);
    void sweepFinished(const QString& folder);
    void runFailed(const QString& message);
    void runCancelled();
    void saved(const QString& path);
    void saveFailed(const QString& path, const QString& message);

private:
    void ensureRunner();
    void onBusy(bool busy);
    void onProgress(int step, int total, const QString& stage);
    void onFinished(widgets::TracePtr trace);
    void onSaved(const widgets::TracePtr& trace, const QString& path, const QString& error);
    QString suggestedName() const;

    QWidget* m_window;
    widgets::TracePtr m_shown; // what the window shows
    QString m_shownPath;
    core::EngineFactory m_factory;
    explorer::TraceRunner* m_runner = nullptr;
    QPointer<NewTraceDialog> m_dialog;
    QPointer<SweepDialog> m_sweepDialog;
    bool m_sweeping = false;         // the run in flight is a sweep
    widgets::TracePtr m_made;        // the latest trace made here
    widgets::TracePtr m_savedTrace;  // m_made once saved
    bool m_saving = false;
    bool m_closeAfterSave = false;
    QProgressBar* m_progress;
    QLabel* m_stage;
    QPushButton* m_cancel;
    QAction* m_saveAction = nullptr;
    QAction* m_saveAsAction = nullptr;
    UnsavedQuestion m_askUnsaved;
    SavePathQuestion m_askSavePath;
};

} // namespace sparsetrace::explorer
