// The New Trace dialog (see new_trace_dialog.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "new_trace_dialog.h"

#include "dialog_fields.h"

#include "sparsetrace/core/format.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace sparsetrace::explorer {

using core::PromptSource;

NewTraceDialog::NewTraceDialog(explorer::TraceRunner* runner, QWidget* parent) : ExaminingDialog(runner, parent)
{
    setWindowTitle(tr("New Trace"));
    const core::StreamParams defaults;
    auto* layout = new QVBoxLayout(this);

    layout->addWidget(makeModelBox(tr("Hugging Face folder: config.json, *.safetensors, tokenizer.json")));

    // Prompt.
    auto* promptBox = new QGroupBox(tr("Prompt"), this);
    auto* promptLayout = new QVBoxLayout(promptBox);
    m_promptKind = new QComboBox(promptBox);
    m_promptKind->addItem(tr("Typed"), static_cast<int>(PromptSource::Kind::Text));
    m_promptKind->addItem(tr("Text file"), static_cast<int>(PromptSource::Kind::TextFile));
    m_promptKind->addItem(tr("Chain of thought (Thought Anchors JSON)"), static_cast<int>(PromptSource::Kind::ChainOfThought));
    m_promptKind->addItem(tr("Needle in a haystack (generated)"), static_cast<int>(PromptSource::Kind::Needle));
    promptLayout->addWidget(m_promptKind);
    m_promptPages = new QStackedWidget(promptBox);

    auto* typedPage = new QWidget(m_promptPages);
    auto* typedLayout = new QVBoxLayout(typedPage);
    typedLayout->setContentsMargins(0, 0, 0, 0);
    m_promptText = new QPlainTextEdit(typedPage);
    m_promptText->setPlaceholderText(tr("The text to trace"));
    m_chat = new QCheckBox(tr("Wrap in the model's chat template"), typedPage);
    typedLayout->addWidget(m_promptText);
    typedLayout->addWidget(m_chat);
    m_promptPages->addWidget(typedPage);

    auto* filePage = new QWidget(m_promptPages);
    auto* fileForm = new QFormLayout(filePage);
    m_textFile = new QLineEdit(filePage);
    QPushButton* browseText = nullptr;
    fileForm->addRow(tr("UTF-8 text file"), pathRow(filePage, m_textFile, browseText));
    m_promptPages->addWidget(filePage);

    auto* cotPage = new QWidget(m_promptPages);
    auto* cotForm = new QFormLayout(cotPage);
    m_cotFile = new QLineEdit(cotPage);
    m_cotFile->setToolTip(tr("A base_solution.json of the Thought Anchors data: the problem and the chain of thought "
                             "(\"full_cot\", or \"prompt\" with \"solution\") are traced"));
    QPushButton* browseCot = nullptr;
    cotForm->addRow(tr("JSON file"), pathRow(cotPage, m_cotFile, browseCot));
    m_promptPages->addWidget(cotPage);

    auto* needlePage = new QWidget(m_promptPages);
    auto* needleForm = new QFormLayout(needlePage);
    m_needleLength = spinBox(needlePage, 16, 8 << 20, 1024, tr("Context length: prompt tokens plus the tokens to generate"));
    m_needleLength->setSuffix(tr(" tokens"));
    m_needleDepth = new QDoubleSpinBox(needlePage);
    m_needleDepth->setRange(0.0, 100.0);
    m_needleDepth->setValue(50.0);
    m_needleDepth->setSuffix(tr(" %"));
    m_needleDepth->setToolTip(tr("Where the needle sits among the haystack's sentences"));
    m_haystack = new QLineEdit(QStringLiteral("noise"), needlePage);
    m_haystack->setToolTip(tr("\"noise\" (RULER's repeated sentences) or a text file"));
    QPushButton* browseHaystack = nullptr;
    m_needleSeed = spinBox(needlePage, 0, 1 << 30, 0, tr("Draws the needle's key and 7-digit value"));
    needleForm->addRow(tr("Length"), m_needleLength);
    needleForm->addRow(tr("Depth"), m_needleDepth);
    needleForm->addRow(tr("Haystack"), pathRow(needlePage, m_haystack, browseHaystack));
    needleForm->addRow(tr("Seed"), m_needleSeed);
    m_promptPages->addWidget(needlePage);
    promptLayout->addWidget(m_promptPages);
    m_preview = new QPlainTextEdit(promptBox);
    m_preview->setReadOnly(true);
    m_preview->setPlaceholderText(tr("The prompt as it will be traced"));
    m_preview->setMaximumHeight(90);
    promptLayout->addWidget(new QLabel(tr("Traced text:"), promptBox));
    promptLayout->addWidget(m_preview);
    layout->addWidget(promptBox);

    // Stream-Attn and the run.
    auto* paramsBox = new QGroupBox(tr("Stream-Attn and run"), this);
    auto* paramsForm = new QFormLayout(paramsBox);
    m_bq = spinBox(paramsBox, 1, 4096, defaults.bq, tr("Query block size (tokens)"));
    m_bk = spinBox(paramsBox, 1, 4096, defaults.bk, tr("Key block size (tokens)"));
    m_k = spinBox(paramsBox, 1, 1 << 20, defaults.k, tr("Key blocks kept per query block by the search"));
    m_sinks = spinBox(paramsBox, 0, 1 << 20, defaults.sinks, tr("Sink tokens always kept (a multiple of the key block)"));
    m_window = spinBox(paramsBox, 0, 1 << 20, defaults.window, tr("Local window tokens always kept"));
    auto* blocks = new QHBoxLayout;
    blocks->addWidget(new QLabel(tr("bq"), paramsBox));
    blocks->addWidget(m_bq);
    blocks->addWidget(new QLabel(tr("bk"), paramsBox));
    blocks->addWidget(m_bk);
    blocks->addWidget(new QLabel(tr("K"), paramsBox));
    blocks->addWidget(m_k);
    paramsForm->addRow(tr("Blocks"), blocks);
    auto* kept = new QHBoxLayout;
    kept->addWidget(new QLabel(tr("sinks"), paramsBox));
    kept->addWidget(m_sinks);
    kept->addWidget(new QLabel(tr("window"), paramsBox));
    kept->addWidget(m_window);
    kept->addStretch(1);
    paramsForm->addRow(tr("Always kept"), kept);
    paramsForm->addRow(tr("Score rule"), makeScoreCombo(paramsBox, QStringLiteral("newTrace/score")));
    m_searchK = new QCheckBox(tr("Search the smallest K that keeps the model's answer"), paramsBox);
    m_kMax = spinBox(paramsBox, 0, 1 << 20, 0, tr("Largest K searched (0 = the largest searchable range)"));
    m_kMax->setSpecialValueText(tr("all"));
    m_kMax->setEnabled(false);
    auto* search = new QHBoxLayout;
    search->addWidget(m_searchK, 1);
    search->addWidget(new QLabel(tr("up to"), paramsBox));
    search->addWidget(m_kMax);
    paramsForm->addRow(tr("k search"), search);
    m_checkTokens = spinBox(paramsBox, 0, 4096, 2,
                            tr("Greedy tokens generated densely and sparsely and compared (0 = no behaviour check)"));
    paramsForm->addRow(tr("Check tokens"), m_checkTokens);
    m_fidelity = new QCheckBox(tr("Fidelity pass (captured dense mass, oracle top blocks)"), paramsBox);
    paramsForm->addRow(QString(), m_fidelity);
    paramsForm->addRow(tr("Device"), makeDeviceCombo(paramsBox));
    layout->addWidget(paramsBox);
    addFooter(layout, tr("Start"));

    connect(browseText, &QPushButton::clicked, this,
            [this] { chooseFile(m_textFile, tr("Prompt text file"), tr("Text files (*.txt *.md);;All files (*)")); });
    connect(browseCot, &QPushButton::clicked, this,
            [this] { chooseFile(m_cotFile, tr("Chain of thought"), tr("JSON files (*.json);;All files (*)")); });
    connect(browseHaystack, &QPushButton::clicked, this,
            [this] { chooseFile(m_haystack, tr("Haystack text"), tr("Text files (*.txt);;All files (*)")); });
    connect(m_promptKind, &QComboBox::currentIndexChanged, this, &NewTraceDialog::updatePromptKind);
    connect(m_searchK, &QCheckBox::toggled, m_kMax, &QWidget::setEnabled);
    connect(this, &QDialog::accepted, this, [this] {
        rememberModelDir();
        rememberScoreRule();
    });

    // Every field that changes the request asks for a new examination after a pause.
    for (QLineEdit* e : {m_textFile, m_cotFile, m_haystack})
        connect(e, &QLineEdit::textChanged, this, &NewTraceDialog::scheduleExamination);
    connect(m_promptText, &QPlainTextEdit::textChanged, this, &NewTraceDialog::scheduleExamination);
    for (QSpinBox* s : {m_needleLength, m_needleSeed, m_bq, m_bk, m_k, m_sinks, m_window, m_kMax, m_checkTokens})
        connect(s, &QSpinBox::valueChanged, this, &NewTraceDialog::scheduleExamination);
    connect(m_needleDepth, &QDoubleSpinBox::valueChanged, this, &NewTraceDialog::scheduleExamination);
    for (QCheckBox* c : {m_chat, m_searchK, m_fidelity}) connect(c, &QCheckBox::toggled, this, &NewTraceDialog::scheduleExamination);

    updatePromptKind();
    resize(720, 760);
    examineNow();
}

explorer::TraceRunSpec NewTraceDialog::spec() const
{
    explorer::TraceRunSpec s;
    core::TraceRequest& r = s.request;
    r.modelDir = modelDir();
    r.params.bq = m_bq->value();
    r.params.bk = m_bk->value();
    r.params.k = m_k->value();
    r.params.sinks = m_sinks->value();
    r.params.window = m_window->value();
    r.params.score = scoreRule();
    r.searchK = m_searchK->isChecked();
    r.kMax = m_kMax->value();
    r.checkTokens = m_checkTokens->value();
    r.fidelity = m_fidelity->isChecked();
    r.device = deviceCombo()->currentData().toString().toStdString();
    if (r.device.empty()) r.device = "cpu";
    s.prompt.kind = static_cast<PromptSource::Kind>(m_promptKind->currentData().toInt());
    switch (s.prompt.kind) {
    case PromptSource::Kind::Text:
        s.prompt.text = m_promptText->toPlainText().toStdString();
        r.chat = m_chat->isChecked() && m_chat->isEnabled();
        break;
    case PromptSource::Kind::TextFile: s.prompt.path = m_textFile->text().trimmed().toStdString(); break;
    case PromptSource::Kind::ChainOfThought: s.prompt.path = m_cotFile->text().trimmed().toStdString(); break;
    case PromptSource::Kind::Needle:
        s.prompt.needle.targetTokens = m_needleLength->value();
        s.prompt.needle.depth = m_needleDepth->value();
        s.prompt.needle.haystack = m_haystack->text().trimmed().toStdString();
        s.prompt.needle.seed = static_cast<std::uint64_t>(m_needleSeed->value());
        // The answer is generated by the behaviour check's greedy tokens.
        s.prompt.needle.tokensToGenerate = r.checkTokens;
        break;
    }
    return s;
}

void NewTraceDialog::setPromptKind(PromptSource::Kind kind)
{
    m_promptKind->setCurrentIndex(m_promptKind->findData(static_cast<int>(kind)));
}

void NewTraceDialog::setPromptText(const QString& text)
{
    setPromptKind(PromptSource::Kind::Text);
    m_promptText->setPlainText(text);
}

void NewTraceDialog::setPromptFile(const QString& path)
{
    const auto kind = static_cast<PromptSource::Kind>(m_promptKind->currentData().toInt());
    (kind == PromptSource::Kind::ChainOfThought ? m_cotFile : m_textFile)->setText(path);
}

QString NewTraceDialog::promptPreview() const { return m_preview->toPlainText(); }

void NewTraceDialog::updatePromptKind()
{
    const auto kind = static_cast<PromptSource::Kind>(m_promptKind->currentData().toInt());
    m_promptPages->setCurrentIndex(m_promptKind->currentIndex());
    // A needle's answer is about ten tokens: check enough of them to see it retrieved.
    if (kind == PromptSource::Kind::Needle && !m_needleShown) {
        m_needleShown = true;
        if (m_checkTokens->value() < 16) m_checkTokens->setValue(16);
    }
    scheduleExamination();
}

explorer::TraceRunSpec NewTraceDialog::examinationSpec() const { return spec(); }

bool NewTraceDialog::showExamination(const explorer::TraceExamination& e)
{
    if (e.model) m_chat->setEnabled(e.model->chatTemplate);
    bool startable = false;
    m_preview->setPlainText(e.promptPreview);
    if (!e.modelError.isEmpty()) {
        m_estimate->setText(coloured(tr("No estimate: the model folder cannot be used."), "#b42318"));
    } else if (!e.estimateError.isEmpty()) {
        m_estimate->setText(coloured(tr("Cannot run: %1").arg(e.estimateError), "#b42318"));
    } else if (e.estimate) {
        const core::TraceEstimate& est = *e.estimate;
        const QString line = tr("Estimate: %1").arg(QString::fromStdString(est.summary));
        if (est.fits) {
            m_estimate->setText(line.toHtmlEscaped());
            startable = true;
        } else {
            m_estimate->setText(coloured(tr("Refused: the run needs about %1 but only %2 is free on %3. Try a shorter prompt, "
                                            "fewer check tokens, no fidelity pass, or another device.")
                                             .arg(QString::fromStdString(core::formatBytes(static_cast<double>(est.peakBytes))),
                                                  QString::fromStdString(core::formatBytes(static_cast<double>(est.availableBytes))),
                                                  deviceCombo()->currentData().toString()),
                                         "#b42318") +
                                 QStringLiteral("<br>") + muted(this, line));
        }
    }
    return startable;
}

void NewTraceDialog::chooseFile(QLineEdit* edit, const QString& title, const QString& filter)
{
    const QString path = QFileDialog::getOpenFileName(this, title, edit->text(), filter);
    if (!path.isEmpty()) edit->setText(path);
}

} // namespace sparsetrace::explorer
