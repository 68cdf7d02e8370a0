// Run > Needle Sweep…: a needle-in-a-haystack sweep (lengths x depths x K, spec section 7) run
// from the explorer: the model folder (checked as it is chosen), the haystack, the grid, the
// Stream-Attn block sizes, the device and the output folder, with the number of cells and the
// engine's estimate for the longest cell. Every cell's trace is kept, so the sweep view opens
// any cell when its square is clicked; a folder that already holds part of the same sweep is
// resumed, not rerun.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "examining_dialog.h"

#include "sparsetrace/core/niah_sweep.h"

#include <cstddef>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace sparsetrace::explorer {

class SweepDialog : public ExaminingDialog {
    Q_OBJECT
public:
    explicit SweepDialog(explorer::TraceRunner* runner, QWidget* parent = nullptr);

    // The sweep the fields describe (throws ArgumentError when the grid does not parse).
    core::NiahTracedSweep sweep() const;

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
    // The grid's cell count, or why it cannot run (including an output folder of another sweep).
    QString gridStatus() const;

private:
    void aboutToExamine() override;
    explorer::TraceRunSpec examinationSpec() const override;
    bool showExamination(const explorer::TraceExamination& e) override;
    // The grid's cell count, or an error message in `error` (a grid that does not parse, or an
    // output folder holding another sweep); `note` tells how much of the sweep the folder holds.
    std::size_t cellCount(QString& error, QString* note = nullptr) const;

    std::size_t m_cells = 0; // the grid's cells, as aboutToExamine() found them
    QString m_gridError;     // why the grid cannot run (empty when it can)
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
    QLineEdit* m_outDir;
    QLabel* m_grid;
};

} // namespace sparsetrace::explorer
