// The Needle Sweep dialog (see sweep_dialog.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sweep_dialog.h"

#include "dialog_fields.h"

#include "sparsetrace/core/error.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <filesystem>
#include <cmath>

namespace sparsetrace::explorer {

SweepDialog::SweepDialog(explorer::TraceRunner* runner, QWidget* parent) : ExaminingDialog(runner, parent)
{
    setWindowTitle(tr("Needle Sweep"));
    auto* layout = new QVBoxLayout(this);
    QSettings settings;

    layout->addWidget(makeModelBox(tr("A Hugging Face model folder (config.json, weights, tokenizer.json)")));

    auto* gridBox = new QGroupBox(tr("Grid (every length x depth x K is one traced prompt)"), this);
    auto* gridForm = new QFormLayout(gridBox);
    m_haystack = new QLineEdit(settings.value("sweep/haystack", QStringLiteral("noise")).toString(), gridBox);
    m_haystack->setToolTip(tr("\"noise\" (RULER's repeated filler) or a UTF-8 text file"));
    QPushButton* browseHaystack = nullptr;
    gridForm->addRow(tr("Haystack"), pathRow(gridBox, m_haystack, browseHaystack));
    m_lengths = new QLineEdit(settings.value("sweep/lengths", QStringLiteral("1k,2k")).toString(), gridBox);
    m_lengths->setToolTip(tr("Context lengths in tokens: a list such as 1k,2k,4096 (k = 1024)"));
    gridForm->addRow(tr("Lengths"), m_lengths);
    m_depths = new QLineEdit(settings.value("sweep/depths", QStringLiteral("0:100:25")).toString(), gridBox);
    m_depths->setToolTip(tr("Needle depths in percent: start:stop:step (inclusive) or a list such as 10,50,90"));
    gridForm->addRow(tr("Depths (%)"), m_depths);
    m_ks = new QLineEdit(settings.value("sweep/ks", QStringLiteral("4,16")).toString(), gridBox);
    m_ks->setToolTip(tr("K values: searched key blocks kept per query block"));
    gridForm->addRow(tr("K values"), m_ks);
    m_seed = spinBox(gridBox, 0, 1 << 30, 0, tr("Seed of the needles' keys and values"));
    m_tokens = spinBox(gridBox, 1, 256, 16, tr("Greedy tokens generated and searched for the value"));
    auto* misc = new QHBoxLayout;
    misc->addWidget(new QLabel(tr("seed"), gridBox));
    misc->addWidget(m_seed);
    misc->addWidget(new QLabel(tr("generated tokens"), gridBox));
    misc->addWidget(m_tokens);
    misc->addStretch(1);
    gridForm->addRow(tr("Needles"), misc);
    m_grid = new QLabel(gridBox);
    m_grid->setWordWrap(true);
    gridForm->addRow(QString(), m_grid);
    layout->addWidget(gridBox);

    auto* paramsBox = new QGroupBox(tr("Stream-Attn and device"), this);
    auto* paramsForm = new QFormLayout(paramsBox);
    const core::StreamParams defaults;
    m_bq = spinBox(paramsBox, 1, 4096, defaults.bq, tr("Query block size (tokens)"));
    m_bk = spinBox(paramsBox, 1, 4096, defaults.bk, tr("Key block size (tokens)"));
    m_sinks = spinBox(paramsBox, 0, 1 << 20, defaults.sinks, tr("Sink tokens always kept (a multiple of the key block)"));
    m_window = spinBox(paramsBox, 0, 1 << 20, defaults.window, tr("Local window tokens always kept"));
    auto* blocks = new QHBoxLayout;
    for (auto [label, spin] : {std::pair{tr("bq"), m_bq}, {tr("bk"), m_bk}, {tr("sinks"), m_sinks}, {tr("window"), m_window}}) {
        blocks->addWidget(new QLabel(label, paramsBox));
        blocks->addWidget(spin);
    }
    paramsForm->addRow(tr("Blocks"), blocks);
    paramsForm->addRow(tr("Score rule"), makeScoreCombo(paramsBox, QStringLiteral("sweep/score")));
    paramsForm->addRow(tr("Device"), makeDeviceCombo(paramsBox));
    layout->addWidget(paramsBox);

    auto* outBox = new QGroupBox(tr("Output"), this);
    auto* outForm = new QFormLayout(outBox);
    m_outDir = new QLineEdit(settings.value("sweep/outDir", QDir::home().filePath(QStringLiteral("sparsetrace-sweep"))).toString(), outBox);
    m_outDir->setToolTip(tr("niah.json, niah.csv and traces/ go here; a folder holding part of the same sweep is resumed"));
    QPushButton* browseOut = nullptr;
    outForm->addRow(tr("Folder"), pathRow(outBox, m_outDir, browseOut));
    layout->addWidget(outBox);

    addFooter(layout, tr("Start Sweep"));

    connect(browseHaystack, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Haystack text"), m_haystack->text(),
                                                          tr("Text files (*.txt);;All files (*)"));
        if (!path.isEmpty()) m_haystack->setText(path);
    });
    connect(browseOut, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Sweep output folder"), m_outDir->text());
        if (!dir.isEmpty()) m_outDir->setText(dir);
    });
    connect(this, &QDialog::accepted, this, [this] {
        rememberModelDir();
        rememberScoreRule();
        QSettings s;
        s.setValue("sweep/haystack", m_haystack->text());
        s.setValue("sweep/lengths", m_lengths->text());
        s.setValue("sweep/depths", m_depths->text());
        s.setValue("sweep/ks", m_ks->text());
        s.setValue("sweep/outDir", m_outDir->text());
    });
    for (QLineEdit* e : {m_haystack, m_lengths, m_depths, m_ks, m_outDir})
        connect(e, &QLineEdit::textChanged, this, &SweepDialog::scheduleExamination);
    for (QSpinBox* s : {m_seed, m_tokens, m_bq, m_bk, m_sinks, m_window})
        connect(s, &QSpinBox::valueChanged, this, &SweepDialog::scheduleExamination);
    resize(640, 620);
    examineNow();
}

core::NiahTracedSweep SweepDialog::sweep() const
{
    core::NiahTracedSweep s;
    s.spec.lengths = core::parseNiahLengths(m_lengths->text().trimmed().toStdString());
    s.spec.depths = core::parseNiahDepths(m_depths->text().trimmed().toStdString());
    for (const std::int64_t k : core::parseNiahLengths(m_ks->text().trimmed().toStdString())) {
        if (k < 1 || k > (1 << 20)) throw ArgumentError("K must be between 1 and 1048576");
        s.spec.ks.push_back(static_cast<int>(k));
    }
    s.spec.seed = static_cast<std::uint64_t>(m_seed->value());
    s.spec.tokensToGenerate = m_tokens->value();
    s.base.modelDir = modelDir();
    s.base.params.bq = m_bq->value();
    s.base.params.bk = m_bk->value();
    s.base.params.sinks = m_sinks->value();
    s.base.params.window = m_window->value();
    s.base.params.score = scoreRule();
    s.base.device = deviceCombo()->currentData().toString().toStdString();
    if (s.base.device.empty()) s.base.device = "cpu";
    s.haystack = m_haystack->text().trimmed().toStdString();
    s.outDir = m_outDir->text().trimmed().toStdString();
    s.keepTraces = true; // the sweep view opens a cell's trace from its square
    return s;
}

std::size_t SweepDialog::cellCount(QString& error, QString* note) const
{
    try {
        core::NiahTracedSweep s = sweep();
        const core::NiahSweepSpec spec = core::tracedSweepSpec(s);
        spec.validate();
        s.base.params.k = s.spec.ks.empty() ? 1 : s.spec.ks.front();
        s.base.params.validate();
        if (s.outDir.empty()) throw ArgumentError("choose an output folder");
        // A folder that already holds a table: the same sweep resumes, another one is refused.
        const std::filesystem::path table = s.outDir / core::kNiahTableJson;
        std::error_code ec;
        if (std::filesystem::exists(table, ec)) {
            const core::NiahTable earlier = core::NiahTable::readJson(table);
            if (!(earlier.spec() == spec))
                throw ArgumentError("the output folder holds another sweep (other model, grid, seed or settings): choose another folder");
            if (note)
                *note = tr("the folder holds %1 finished cells of this sweep: Start runs the other %2")
                            .arg(earlier.cells().size())
                            .arg(spec.cellCount() - std::min(spec.cellCount(), earlier.cells().size()));
        }
        return spec.cellCount();
    } catch (const std::exception& e) {
        error = QString::fromStdString(e.what());
        return 0;
    }
}

void SweepDialog::aboutToExamine()
{
    // The grid and the output folder need no engine: checked here, once per examination.
    m_gridError.clear();
    QString note;
    m_cells = cellCount(m_gridError, &note);
    QString grid = !m_gridError.isEmpty() ? coloured(m_gridError, "#b42318")
                   : m_cells == 1          ? tr("1 traced prompt")
                                           : tr("%1 traced prompts").arg(m_cells);
    if (!note.isEmpty()) grid += QStringLiteral("; ") + note.toHtmlEscaped();
    m_grid->setText(grid);
}

explorer::TraceRunSpec SweepDialog::examinationSpec() const
{
    // The engine checks the folder and estimates the longest cell's prompt.
    explorer::TraceRunSpec spec;
    spec.request.modelDir = modelDir();
    spec.request.device = deviceCombo()->currentData().toString().toStdString();
    spec.request.params.bq = m_bq->value();
    spec.request.params.bk = m_bk->value();
    spec.request.params.sinks = m_sinks->value();
    spec.request.params.window = m_window->value();
    spec.request.params.score = scoreRule();
    spec.request.checkTokens = m_tokens->value();
    spec.prompt.kind = core::PromptSource::Kind::Needle;
    spec.prompt.needle.haystack = m_haystack->text().trimmed().toStdString();
    spec.prompt.needle.tokensToGenerate = m_tokens->value();
    spec.prompt.needle.seed = static_cast<std::uint64_t>(m_seed->value());
    if (m_gridError.isEmpty()) {
        const core::NiahTracedSweep s = sweep();
        spec.prompt.needle.targetTokens = *std::max_element(s.spec.lengths.begin(), s.spec.lengths.end());
        spec.request.params.k = *std::max_element(s.spec.ks.begin(), s.spec.ks.end());
    }
    return spec;
}

bool SweepDialog::showExamination(const explorer::TraceExamination& e)
{
    bool startable = false;
    if (!e.modelError.isEmpty()) {
        m_estimate->setText(coloured(tr("No estimate: the model folder cannot be used."), "#b42318"));
    } else if (!m_gridError.isEmpty()) {
        m_estimate->setText(coloured(tr("Cannot run: %1").arg(m_gridError), "#b42318"));
    } else if (!e.estimateError.isEmpty()) {
        m_estimate->setText(coloured(tr("Cannot run the longest cell: %1").arg(e.estimateError), "#b42318"));
    } else if (e.estimate) {
        const core::TraceEstimate& est = *e.estimate;
        const double total = est.seconds * static_cast<double>(m_cells);
        const QString line = tr("Longest cell: %1. All %2 cells: at most about %3.")
                                 .arg(QString::fromStdString(est.summary))
                                 .arg(m_cells)
                                 .arg(total < 120 ? tr("%1 s").arg(std::ceil(total)) : tr("%1 min").arg(std::ceil(total / 60)));
        startable = est.fits;
        m_estimate->setText(est.fits ? line.toHtmlEscaped()
                                     : coloured(tr("Refused: the longest cell does not fit on this device."), "#b42318") +
                                           QStringLiteral("<br>") + muted(this, line));
    }
    return startable;
}

QString SweepDialog::gridStatus() const { return m_grid->text(); }

} // namespace sparsetrace::explorer
