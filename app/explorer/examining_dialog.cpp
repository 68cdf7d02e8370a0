// The dialogs' examination cycle (see examining_dialog.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "examining_dialog.h"

#include "dialog_fields.h"

#include <QBoxLayout>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>

namespace sparsetrace::explorer {

namespace {
constexpr int kExamineDelayMs = 300; // typing pause before the fields are examined again
} // namespace

ExaminingDialog::ExaminingDialog(explorer::TraceRunner* runner, QWidget* parent) : QDialog(parent), m_runner(runner)
{
    m_debounce.setSingleShot(true);
    m_debounce.setInterval(kExamineDelayMs);
    connect(&m_debounce, &QTimer::timeout, this, &ExaminingDialog::examineNow);
    connect(m_runner, &explorer::TraceRunner::examined, this, &ExaminingDialog::onExamined);
}

QGroupBox* ExaminingDialog::makeModelBox(const QString& placeholder)
{
    auto* box = new QGroupBox(tr("Model"), this);
    auto* form = new QFormLayout(box);
    m_modelDir = new QLineEdit(QSettings().value("newTrace/modelDir").toString(), box);
    m_modelDir->setPlaceholderText(placeholder);
    QPushButton* browse = nullptr;
    form->addRow(tr("Folder"), pathRow(box, m_modelDir, browse));
    m_modelStatus = new QLabel(box);
    m_modelStatus->setWordWrap(true);
    m_modelStatus->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(QString(), m_modelStatus);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Model folder"), m_modelDir->text());
        if (!dir.isEmpty()) m_modelDir->setText(dir);
    });
    connect(m_modelDir, &QLineEdit::textChanged, this, &ExaminingDialog::scheduleExamination);
    return box;
}

QComboBox* ExaminingDialog::makeDeviceCombo(QWidget* parent)
{
    m_device = new QComboBox(parent);
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    connect(m_device, &QComboBox::currentIndexChanged, this, &ExaminingDialog::scheduleExamination);
    return m_device;
}

QComboBox* ExaminingDialog::makeScoreCombo(QWidget* parent, const QString& settingsKey)
{
    m_score = new QComboBox(parent);
    m_scoreKey = settingsKey;
    for (core::ScoreRule r : {core::ScoreRule::Centre, core::ScoreRule::First, core::ScoreRule::Bound}) {
        const QString name = QString::fromLatin1(core::scoreRuleName(r).data(), static_cast<qsizetype>(core::scoreRuleName(r).size()));
        m_score->addItem(name, name);
    }
    m_score->setToolTip(tr("How the search scores a child node: centre or first score one of its blocks (HiP); "
                           "bound scores the channel-wise envelope of all its keys, never below a key inside it"));
    const std::string_view fallback = core::scoreRuleName(core::StreamParams{}.score);
    QString remembered = QSettings().value(settingsKey).toString();
    try {
        (void)core::scoreRuleFromName(remembered.toStdString());
    } catch (const std::exception&) {
        remembered = QString::fromLatin1(fallback.data(), static_cast<qsizetype>(fallback.size())); // none yet, or a rule no longer known
    }
    m_score->setCurrentIndex(m_score->findData(remembered));
    connect(m_score, &QComboBox::currentIndexChanged, this, &ExaminingDialog::scheduleExamination);
    return m_score;
}

core::ScoreRule ExaminingDialog::scoreRule() const
{
    return m_score ? core::scoreRuleFromName(m_score->currentData().toString().toStdString()) : core::StreamParams{}.score;
}

void ExaminingDialog::rememberScoreRule() const
{
    if (m_score) QSettings().setValue(m_scoreKey, m_score->currentData().toString());
}

void ExaminingDialog::addFooter(QBoxLayout* layout, const QString& startText)
{
    m_estimate = new QLabel(this);
    m_estimate->setWordWrap(true);
    m_estimate->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_estimate);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(startText);
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, [this] {
        if (canStart()) accept();
    });
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

void ExaminingDialog::setModelDir(const QString& dir) { m_modelDir->setText(dir); }
std::string ExaminingDialog::modelDir() const { return m_modelDir->text().trimmed().toStdString(); }
void ExaminingDialog::rememberModelDir() const { QSettings().setValue("newTrace/modelDir", m_modelDir->text()); }
QString ExaminingDialog::modelStatus() const { return m_modelStatus->text(); }
QString ExaminingDialog::estimateStatus() const { return m_estimate->text(); }
bool ExaminingDialog::canStart() const { return m_examined && m_startable && !m_debounce.isActive(); }

void ExaminingDialog::scheduleExamination()
{
    m_examined = false;
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    m_debounce.start();
}

void ExaminingDialog::examineNow()
{
    m_debounce.stop();
    m_examined = false;
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    aboutToExamine();
    m_estimate->setText(tr("Checking…"));
    m_examination = m_runner->examine(examinationSpec());
}

void ExaminingDialog::onExamined(const explorer::TraceExamination& e)
{
    // The fields changed since (a newer examination follows), or another dialog asked.
    if (m_debounce.isActive() || m_runner->latestExamination() != m_examination) return;
    if (!m_devicesFilled && !e.devices.empty()) {
        // CUDA when there is one, else the CPU.
        m_devicesFilled = true;
        const QSignalBlocker block(m_device);
        m_device->clear();
        for (const core::DeviceChoice& d : e.devices)
            m_device->addItem(QString::fromStdString(d.id + ": " + d.description), QString::fromStdString(d.id));
        m_device->setCurrentIndex(e.devices.size() > 1 ? 1 : 0);
        if (e.devices.size() > 1) {
            examineNow(); // the estimate was for the CPU
            return;
        }
    }
    if (e.model) {
        const QString summary = QString::fromStdString(e.model->describe());
        m_modelStatus->setText(e.modelError.isEmpty() ? coloured(summary, "#1a7f37")
                                                      : muted(this, summary) + QStringLiteral("<br>") + coloured(e.modelError, "#b42318"));
    } else {
        m_modelStatus->setText(coloured(e.modelError, "#b42318"));
    }
    m_startable = showExamination(e);
    m_examined = true;
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_startable);
    emit examinationShown();
}

} // namespace sparsetrace::explorer
