// Run > Needle Sweep…: a needle-in-a-haystack sweep (lengths x depths x K, spec section 7) run
// from the explorer: the model folder (checked as it is chosen), the haystack, the grid, the
// Stream-Attn block sizes, the device and the output folder, with the number of cells and the
// engine's estimate for the longest cell. Every cell's trace is kept, so the sweep view opens
// any cell when its square is clicked; a folder that already holds part of the same sweep is
// resumed, not rerun.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/widgets/trace_runner.h"

#include <QDialog>
#include <QTimer>

#include <cstdint>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace sparsetrace::explorer {

class SweepDialog : public QDialog {
    Q_OBJECT
public:
    explicit SweepDialog(widgets::TraceRunner* runner, QWidget* parent = nullptr);

    // The sweep the fields describe (throws ArgumentError when the grid does not parse).
    core::NiahTracedSweep sweep() const;

    void setModelDir(const QString& dir);
    QLineEdit* lengthsEdit() const { return m_lengths; }
    QLineEdit* depthsEdit() const { return m_depths; }
    QLineEdit* ksEdit() const { return m_ks; }
    QLineEdit* haystackEdit() const { return m_haystack; }
    QLineEdit* outputEdit() const { return m_outDir; }
    QSpinBox* blockQuerySpin() const { return m_bq; }
    QSpinBox* blockKeySpin() const { return m_bk; }
    QSpinBox* sinksSpin() const { return m_sinks; }
    QSpinBox* windowSpin() const { return m_window; }
    QSpinBox* tokensSpin() const { return m_tokens; }
    QComboBox* deviceCombo() const { return m_device; }

    QString modelStatus() const;
    QString gridStatus() const;
    QString estimateStatus() const;
    bool canStart() const;
    void examineNow();

signals:
    void examinationShown();

private:
    void scheduleExamination();
    void showExamination(const widgets::TraceExamination& e);
    // The grid's cell count, or an error message in `error` (a grid that does not parse, or an
    // output folder holding another sweep); `note` tells how much of the sweep the folder holds.
    std::size_t cellCount(QString& error, QString* note = nullptr) const;

    widgets::TraceRunner* m_runner;
    QTimer m_debounce;
    std::uint64_t m_examination = 0;
    bool m_startable = false;
    bool m_devicesFilled = false;
    QLineEdit* m_modelDir;
    QLabel* m_modelStatus;
    QLineEdit* m_haystack;
    QLineEdit* m_lengths;
    QLineEdit* m_depths;
    QLineEdit* m_ks;
    QSpinBox* m_seed;
    QSpinBox* m_tokens;
    QSpinBox* m_bq;
    QSpinBox* m_bk;
    QSpinBox* m_sinks;
    QSpinBox* m_window;
    QComboBox* m_device;
    QLineEdit* m_outDir;
    QLabel* m_grid;
    QLabel* m_estimate;
    QDialogButtonBox* m_buttons;
};

} // namespace sparsetrace::explorer
