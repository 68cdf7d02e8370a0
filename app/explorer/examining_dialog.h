// The part of the New Trace and Needle Sweep dialogs that asks the engine about the fields: the
// model folder with its status line, the device list (filled from the engine's devices, CUDA
// first when there is one), the estimate line and the Start button, and the examination cycle
// (a typing pause, then TraceRunner::examine off the GUI thread; a stale answer is dropped).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "trace_runner.h"

#include <QDialog>
#include <QTimer>

#include <cstdint>

class QBoxLayout;
class QComboBox;
class QDialogButtonBox;
class QGroupBox;
class QLabel;
class QLineEdit;

namespace sparsetrace::explorer {

class ExaminingDialog : public QDialog {
    Q_OBJECT
public:
    void setModelDir(const QString& dir);
    QComboBox* deviceCombo() const { return m_device; }
    // The search's score rule (centre, first, bound); the default is core::StreamParams{}.score.
    QComboBox* scoreCombo() const { return m_score; }
    core::ScoreRule scoreRule() const;
    // What the dialog shows about the folder and the estimate, and whether Start is allowed.
    QString modelStatus() const;
    QString estimateStatus() const;
    bool canStart() const;
    // Examines now instead of after the typing pause.
    void examineNow();

signals:
    // The latest examination has been shown (tests wait on it).
    void examinationShown();

protected:
    ExaminingDialog(explorer::TraceRunner* runner, QWidget* parent);
    // The request the engine examines (model folder, prompt, device, parameters).
    virtual explorer::TraceRunSpec examinationSpec() const = 0;
    // Called by examineNow() before asking the engine (to check what needs no engine).
    virtual void aboutToExamine() {}
    // Shows the rest of a fresh examination (the model line and devices are done) and returns
    // whether Start may be pressed.
    virtual bool showExamination(const explorer::TraceExamination& e) = 0;

    // The "Model" group: folder field with Browse… (remembered across dialogs) and status line.
    QGroupBox* makeModelBox(const QString& placeholder);
    // The device list, CPU until the engine lists its devices.
    QComboBox* makeDeviceCombo(QWidget* parent);
    // The score rule picker, preset to the rule last started under `settingsKey` (else the
    // default rule); rememberScoreRule() stores the choice.
    QComboBox* makeScoreCombo(QWidget* parent, const QString& settingsKey);
    void rememberScoreRule() const;
    // The estimate line and the Start / Cancel buttons; Start accepts when canStart().
    void addFooter(QBoxLayout* layout, const QString& startText);
    // Every field that changes the request calls this: Start waits for a new examination.
    void scheduleExamination();
    // The model folder as typed (trimmed).
    std::string modelDir() const;
    // Remembers the model folder for the next dialog (on Start).
    void rememberModelDir() const;

    QLabel* m_estimate = nullptr;

private:
    void onExamined(const explorer::TraceExamination& e);

    explorer::TraceRunner* m_runner;
    QTimer m_debounce;
    std::uint64_t m_examination = 0; // the runner's id of this dialog's latest examination
    bool m_examined = false;         // an examination of the current fields has arrived
    bool m_startable = false;
    bool m_devicesFilled = false;
    QLineEdit* m_modelDir = nullptr;
    QLabel* m_modelStatus = nullptr;
    QComboBox* m_device = nullptr;
    QComboBox* m_score = nullptr;
    QString m_scoreKey;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace sparsetrace::explorer
