// File > New Trace: the model folder (checked as it is chosen), the prompt (typed, a text file,
// the chain of thought of a Thought Anchors JSON, or a generated needle-in-a-haystack prompt),
// the Stream-Attn parameters, k search, device and fidelity pass, and the engine's time and
// memory estimate, refreshed off the GUI thread as the fields change.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "examining_dialog.h"

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QStackedWidget;

namespace sparsetrace::explorer {

class NewTraceDialog : public ExaminingDialog {
    Q_OBJECT
public:
    // `runner` examines the fields (model folder, prompt, estimate); it is not started here.
    explicit NewTraceDialog(explorer::TraceRunner* runner, QWidget* parent = nullptr);

    // The run the fields describe.
    explorer::TraceRunSpec spec() const;

    // Fields, for the window and tests that fill the dialog programmatically.
    void setPromptKind(core::PromptSource::Kind kind);
    void setPromptText(const QString& text);
    void setPromptFile(const QString& path); // the text file or the chain-of-thought JSON
    QSpinBox* blockQuerySpin() const { return m_bq; }
    QSpinBox* blockKeySpin() const { return m_bk; }
    QSpinBox* kSpin() const { return m_k; }
    QSpinBox* sinksSpin() const { return m_sinks; }
    QSpinBox* windowSpin() const { return m_window; }
    QSpinBox* checkTokensSpin() const { return m_checkTokens; }
    QSpinBox* needleLengthSpin() const { return m_needleLength; }
    QDoubleSpinBox* needleDepthSpin() const { return m_needleDepth; }
    QLineEdit* haystackEdit() const { return m_haystack; }
    QCheckBox* searchKBox() const { return m_searchK; }
    QCheckBox* fidelityBox() const { return m_fidelity; }

    // The start of the resolved prompt text, as the last examination showed it.
    QString promptPreview() const;

private:
    explorer::TraceRunSpec examinationSpec() const override;
    bool showExamination(const explorer::TraceExamination& e) override;
    void chooseFile(QLineEdit* edit, const QString& title, const QString& filter);
    void updatePromptKind();

    bool m_needleShown = false;
    QComboBox* m_promptKind;
    QStackedWidget* m_promptPages;
    QPlainTextEdit* m_promptText;
    QCheckBox* m_chat;
    QLineEdit* m_textFile;
    QLineEdit* m_cotFile;
    QSpinBox* m_needleLength;
    QDoubleSpinBox* m_needleDepth;
    QLineEdit* m_haystack;
    QSpinBox* m_needleSeed;
    QPlainTextEdit* m_preview;
    QSpinBox* m_bq;
    QSpinBox* m_bk;
    QSpinBox* m_k;
    QSpinBox* m_sinks;
    QSpinBox* m_window;
    QCheckBox* m_searchK;
    QSpinBox* m_kMax;
    QSpinBox* m_checkTokens;
    QCheckBox* m_fidelity;
};

} // namespace sparsetrace::explorer
