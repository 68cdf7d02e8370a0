// The thought-anchors view (see thought_anchors_view.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/thought_anchors_view.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/sentence_labeller.h"
#include "sparsetrace/core/utf8.h"

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QTextCursor>
#include <QTextEdit>
#include <QToolButton>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sparsetrace::widgets {

namespace {
constexpr const char* kUnknownCategory = "unknown";

QString scoreText(double v) { return std::isfinite(v) ? QString::number(v, 'g', 4) : QStringLiteral("–"); }

// Linear-interpolated quantile of sorted finite values.
double quantile(const std::vector<double>& sorted, double q)
{
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(sorted.size() - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

// Spreads the dots of a strip plot sideways without randomness (the same picture every time).
double jitter(std::size_t i, double width) { return (std::fmod(0.5 + 0.618033988749895 * static_cast<double>(i), 1.0) - 0.5) * width; }
} // namespace

// ---------------------------------------------------------------------------------------------

AnchorListModel::AnchorListModel(QObject* parent) : QAbstractTableModel(parent) {}

void AnchorListModel::setAnalysis(std::shared_ptr<const AnchorAnalysis> analysis)
{
    beginResetModel();
    m_analysis = std::move(analysis);
    endResetModel();
}

int AnchorListModel::sentenceAt(int row) const
{
    if (!m_analysis || row < 0 || static_cast<std::size_t>(row) >= m_analysis->ranking.size()) return -1;
    return static_cast<int>(m_analysis->ranking[static_cast<std::size_t>(row)]);
}

int AnchorListModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() || !m_analysis ? 0 : static_cast<int>(m_analysis->ranking.size());
}

int AnchorListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant AnchorListModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || !m_analysis || index.row() >= rowCount()) return {};
    const std::size_t s = m_analysis->ranking[static_cast<std::size_t>(index.row())];
    const auto& sentence = m_analysis->sentences()[s];
    const std::string& category = m_analysis->categories[s];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Rank: return index.row() + 1;
        case SentenceIndex: return static_cast<int>(s);
        case Score: return scoreText(m_analysis->receiver[s]);
        case Category: return QString::fromStdString(category);
        case Text: return QString::fromStdString(sentence.text).simplified();
        default: return {};
        }
    }
    if (role == Qt::DecorationRole && index.column() == Category) return ThoughtAnchorsView::categoryColor(category);
    if (role == Qt::ToolTipRole && index.column() == Text) return QString::fromStdString(sentence.text);
    if (role == Qt::TextAlignmentRole && index.column() != Text && index.column() != Category)
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
    return {};
}

QVariant AnchorListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Rank: return tr("Rank");
    case SentenceIndex: return tr("Sentence");
    case Score: return tr("Receiver score");
    case Category: return tr("Category");
    case Text: return tr("Text");
    default: return {};
    }
}

// ---------------------------------------------------------------------------------------------

ThoughtAnchorsView::ThoughtAnchorsView(QWidget* parent)
    : AnalysisView(parent), m_model(new AnchorListModel(this)), m_status(new QLabel(this)), m_list(new QTableView(this)),
      m_text(new QTextEdit(this)), m_categoryPlot(new QCustomPlot(this)), m_kurtosisPlot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* bar = new QHBoxLayout;
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* loadAction = new QAction(tr("Load labels…"), this);
    loadAction->setToolTip(tr("Categories from a chunks_labeled.json file (Thought Anchors format)"));
    connect(loadAction, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Load sentence labels"), QString(),
                                                          tr("Thought Anchors labels (chunks_labeled.json *.json);;All files (*)"));
        if (!path.isEmpty()) loadLabels(path);
    });
    auto* ruleAction = new QAction(tr("Use rule-based labeller"), this);
    connect(ruleAction, &QAction::triggered, this, &ThoughtAnchorsView::clearLabels);
    auto* loadButton = new QToolButton(this);
    loadButton->setDefaultAction(loadAction);
    auto* ruleButton = new QToolButton(this);
    ruleButton->setDefaultAction(ruleAction);
    bar->addWidget(m_status, 1);
    bar->addWidget(loadButton);
    bar->addWidget(ruleButton);
    layout->addLayout(bar);

    m_text->setReadOnly(true);
    m_list->setModel(m_model);
    m_list->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_list->setSelectionMode(QAbstractItemView::SingleSelection);
    m_list->verticalHeader()->hide();
    m_list->horizontalHeader()->setStretchLastSection(true);
    connect(m_list, &QTableView::clicked, this, [this](const QModelIndex& i) { activateSentence(m_model->sentenceAt(i.row())); });
    for (QCustomPlot* plot : {m_categoryPlot, m_kurtosisPlot}) {
        styleAnalysisPlot(plot);
        plot->setMinimumHeight(240);
    }
    // Text and ranked list above, the two plots side by side below.
    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(m_text);
    top->addWidget(m_list);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    auto* plots = new QSplitter(Qt::Horizontal, this);
    plots->addWidget(m_categoryPlot);
    plots->addWidget(m_kurtosisPlot);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(plots);
    split->setStretchFactor(0, 1); // the plots get as much height as the text: their labels need it
    split->setStretchFactor(1, 1);
    layout->addWidget(split, 1);
    m_status->setText(tr("Open a trace of a chain of thought (text between <think> and </think>)."));
}

ThoughtAnchorsView::~ThoughtAnchorsView() = default;

void ThoughtAnchorsView::setTrace(TracePtr trace)
{
    m_trace = std::move(trace);
    m_labels.clear();
    m_labelSource.clear();
    recompute();
}

void ThoughtAnchorsView::loadLabels(const QString& path)
{
    try {
        m_labels = core::readChunkLabels(path.toStdString());
        m_labelSource = QFileInfo(path).fileName();
    } catch (const std::exception& e) {
        emit failed(tr("Cannot load the labels"), QString::fromStdString(e.what()));
        return;
    }
    recompute();
}

void ThoughtAnchorsView::clearLabels()
{
    m_labels.clear();
    m_labelSource.clear();
    recompute();
}

void ThoughtAnchorsView::recompute()
{
    const std::uint64_t job = ++m_job;
    m_analysis.reset();
    m_model->setAnalysis(nullptr);
    m_text->clear();
    m_categoryPlot->clearPlottables();
    m_categoryPlot->replot();
    m_kurtosisPlot->clearPlottables();
    m_kurtosisPlot->replot();
    if (!m_trace) {
        m_busy = false;
        m_status->setText(tr("No trace is open."));
        return;
    }
    m_busy = true;
    m_status->setText(tr("Computing thought anchors…"));
    runInBackground<AnchorAnalysis>(
        this, &m_job, job,
        [trace = m_trace, labels = m_labels, source = m_labelSource] {
            core::AnchorSource src;
            src.trace = trace;
            if (!labels.empty()) {
                src.labels = labels;
                src.labelSource = source.toStdString();
            }
            core::AnchorsAnalysis all = core::analyseThoughtAnchors({src});
            AnchorAnalysis a;
            static_cast<core::TraceAnchors&>(a) = std::move(all.traces.front());
            a.heads = std::move(all.heads);
            return a;
        },
        [this](std::optional<AnchorAnalysis> result, const QString& error) {
            m_busy = false;
            if (!result) {
                m_status->setText(tr("No thought anchors: %1").arg(error));
                emit statusMessage(tr("Thought anchors: %1").arg(error));
                emit analysisReady();
                return;
            }
            showAnalysis(std::make_shared<const AnchorAnalysis>(std::move(*result)));
        });
}

QString ThoughtAnchorsView::sourceLabel() const
{
    if (!m_analysis) return {};
    const QString source = QString::fromStdString(m_analysis->categorySource);
    QString s = tr("categories from the %1").arg(source);
    if (m_analysis->categorySource != core::kRuleBasedLabellerName) {
        s = tr("categories from %1").arg(source);
        if (m_analysis->unlabelled > 0) s += tr(" (%1 sentences unmatched)").arg(m_analysis->unlabelled);
    }
    return s;
}

void ThoughtAnchorsView::showAnalysis(std::shared_ptr<const AnchorAnalysis> analysis)
{
    m_analysis = std::move(analysis);
    m_model->setAnalysis(m_analysis);
    m_list->resizeColumnsToContents();
    QString status = tr("%1 sentences%2 · %3 receiver heads · %4 · background: receiver-score percentile (viridis, lightened: low → high)")
                         .arg(m_analysis->sentences().size())
                         .arg(m_analysis->sentencesFromLabels ? tr(" (located from the labels)") : QString())
                         .arg(m_analysis->heads.size())
                         .arg(sourceLabel());
    m_status->setText(status);
    fillText();
    fillCategoryPlot();
    fillKurtosisPlot();
    emit analysisReady();
}

QColor ThoughtAnchorsView::categoryColor(const std::string& category)
{
    const auto& names = core::sentenceCategories();
    const auto it = std::find(names.begin(), names.end(), category);
    if (it == names.end()) return QColor(0x99, 0x99, 0x99);
    return categoricalColor(static_cast<int>(it - names.begin()), static_cast<int>(names.size()));
}

QColor ThoughtAnchorsView::sentenceColor(std::size_t sentence) const
{
    if (!m_analysis || sentence >= m_analysis->receiver.size() || !std::isfinite(m_analysis->receiver[sentence]))
        return QColor(Qt::white);
    // Percentile among the finite scores: receiver scores are heavy-tailed (a few anchors, many
    // near zero), and a linear scale would paint almost every sentence the same colour.
    const double v = m_analysis->receiver[sentence];
    std::size_t below = 0, finite = 0;
    for (double x : m_analysis->receiver)
        if (std::isfinite(x)) {
            ++finite;
            below += x < v ? 1 : 0;
        }
    const double t = finite > 1 ? static_cast<double>(below) / static_cast<double>(finite - 1) : 1.0;
    // Lightened halfway to white so that black text stays readable on every colour.
    const QColor c = QColor::fromRgb(Colormap::get(ColormapId::Viridis).map(t));
    return QColor((c.red() + 255) / 2, (c.green() + 255) / 2, (c.blue() + 255) / 2);
}

void ThoughtAnchorsView::fillText()
{
    m_text->clear();
    const auto& sentences = m_analysis->sentences();
    if (sentences.empty()) return;
    const QList<uint> points = QString::fromStdString(m_analysis->trace->info().text).toUcs4();
    auto piece = [&](std::int64_t a, std::int64_t b) {
        a = std::clamp<std::int64_t>(a, 0, points.size());
        b = std::clamp<std::int64_t>(b, a, points.size());
        return QString::fromUcs4(reinterpret_cast<const char32_t*>(points.constData()) + a, static_cast<qsizetype>(b - a));
    };
    QTextCursor cursor(m_text->document());
    QTextCharFormat plain;
    std::int64_t at = sentences.front().chars.start;
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        const auto& s = sentences[i];
        if (s.chars.start > at) cursor.insertText(piece(at, s.chars.start), plain);
        const std::string& category = m_analysis->categories[i];
        QTextCharFormat chip;
        chip.setForeground(categoryColor(category));
        chip.setToolTip(QString::fromStdString(category));
        cursor.insertText(QStringLiteral("■ "), chip);
        QTextCharFormat body;
        body.setBackground(sentenceColor(i));
        body.setForeground(QColor(Qt::black)); // the backgrounds are light in dark palettes too
        body.setToolTip(tr("sentence %1 · receiver score %2 · %3").arg(i).arg(scoreText(m_analysis->receiver[i]),
                                                                          QString::fromStdString(category)));
        cursor.insertText(piece(s.chars.start, s.chars.end), body);
        at = std::max(at, s.chars.end);
    }
    m_text->moveCursor(QTextCursor::Start);
}

void ThoughtAnchorsView::fillCategoryPlot()
{
    QCustomPlot* plot = m_categoryPlot;
    plot->clearPlottables();
    std::vector<std::string> order = core::sentenceCategories();
    order.push_back(kUnknownCategory);
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    auto* boxes = new QCPStatisticalBox(plot->xAxis, plot->yAxis);
    boxes->setName(tr("quartiles"));
    boxes->setWidth(0.6);
    boxes->setBrush(Qt::NoBrush);
    // Upright two-line labels ("problem\nsetup") while at most four categories are present; more
    // are turned and kept on one line each, so neighbouring labels never overlap.
    const auto presentCount = std::count_if(order.begin(), order.end(), [&](const std::string& c) {
        return std::find(m_analysis->categories.begin(), m_analysis->categories.end(), c) != m_analysis->categories.end();
    });
    const bool turned = presentCount > 4;
    double x = 0, yLo = INFINITY, yHi = -INFINITY;
    for (const std::string& category : order) {
        std::vector<double> values;
        for (std::size_t i = 0; i < m_analysis->categories.size(); ++i)
            if (m_analysis->categories[i] == category && std::isfinite(m_analysis->receiver[i])) values.push_back(m_analysis->receiver[i]);
        const bool present = std::count(m_analysis->categories.begin(), m_analysis->categories.end(), category) > 0;
        if (!present) continue;
        QString label = QString::fromStdString(category).replace('_', ' ');
        const qsizetype space = label.indexOf(' ');
        if (space > 0 && !turned) label[space] = '\n';
        ticker->addTick(x, label);
        if (!values.empty()) {
            std::sort(values.begin(), values.end());
            boxes->addData(x, values.front(), quantile(values, 0.25), quantile(values, 0.5), quantile(values, 0.75), values.back());
            auto* dots = new QCPGraph(plot->xAxis, plot->yAxis);
            dots->setLineStyle(QCPGraph::lsNone);
            dots->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, categoryColor(category), 5));
            dots->removeFromLegend();
            QVector<double> xs, ys;
            for (std::size_t j = 0; j < values.size(); ++j) {
                xs.push_back(x + jitter(j, 0.45));
                ys.push_back(values[j]);
            }
            dots->setData(xs, ys, false);
            yLo = std::min(yLo, values.front());
            yHi = std::max(yHi, values.back());
        }
        x += 1;
    }
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setTickLabelRotation(turned ? -90 : 0);
    plot->xAxis->setRange(-0.6, std::max(0.6, x - 0.4));
    plot->xAxis->setLabel(tr("sentence category")); // the labeller is named in the view's header
    plot->yAxis->setLabel(tr("receiver score"));
    if (std::isfinite(yLo)) {
        const double margin = std::max(1e-6, (yHi - yLo) * 0.08);
        plot->yAxis->setRange(yLo - margin, yHi + margin);
    }
    plot->replot();
}

void ThoughtAnchorsView::fillKurtosisPlot()
{
    QCustomPlot* plot = m_kurtosisPlot;
    plot->clearPlottables();
    const auto& v = m_analysis->verticals;
    auto* all = new QCPGraph(plot->xAxis, plot->yAxis);
    all->setName(tr("every head"));
    all->setLineStyle(QCPGraph::lsNone);
    all->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(0x88, 0x88, 0x88), 5));
    auto* receivers = new QCPGraph(plot->xAxis, plot->yAxis);
    receivers->setName(tr("receiver heads (top %1)").arg(m_analysis->heads.size()));
    receivers->setLineStyle(QCPGraph::lsNone);
    receivers->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(0xd0, 0x30, 0x30), 7));
    QVector<double> ax, ay, rx, ry;
    double lo = INFINITY, hi = -INFINITY;
    for (int l = 0; l < v.layers; ++l)
        for (int h = 0; h < v.heads; ++h) {
            const double k = v.kurtosis[static_cast<std::size_t>(l) * static_cast<std::size_t>(v.heads) + static_cast<std::size_t>(h)];
            if (!std::isfinite(k)) continue;
            const double x = l + jitter(static_cast<std::size_t>(h), 0.5);
            const bool receiver = std::any_of(m_analysis->heads.begin(), m_analysis->heads.end(),
                                              [&](const core::ReceiverHead& r) { return r.layer == l && r.head == h; });
            (receiver ? rx : ax).push_back(x);
            (receiver ? ry : ay).push_back(k);
            lo = std::min(lo, k);
            hi = std::max(hi, k);
        }
    all->setData(ax, ay, true);
    receivers->setData(rx, ry, true);
    auto layers = QSharedPointer<QCPAxisTickerFixed>::create();
    layers->setTickStep(1.0);
    layers->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->xAxis->setTicker(layers);
    plot->xAxis->setLabel(tr("layer"));
    plot->yAxis->setLabel(tr("kurtosis of vertical scores"));
    plot->xAxis->setRange(-0.6, std::max(1, v.layers) - 0.4);
    if (std::isfinite(lo)) {
        const double margin = std::max(1e-6, (hi - lo) * 0.08);
        plot->yAxis->setRange(lo - margin, hi + margin);
    }
    plot->legend->setVisible(true);
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    plot->replot();
}

void ThoughtAnchorsView::activateSentence(int sentence)
{
    if (!m_analysis || sentence < 0 || static_cast<std::size_t>(sentence) >= m_analysis->sentences().size()) return;
    const core::TokenSpan t = m_analysis->sentences()[static_cast<std::size_t>(sentence)].tokens;
    if (t.empty()) {
        emit statusMessage(tr("Sentence %1 has no tokens in the trace").arg(sentence));
        return;
    }
    QList<QPoint> heads;
    for (const auto& h : m_analysis->heads) heads.append(QPoint(h.layer, h.head));
    emit anchorActivated(t.start, t.end - 1, heads);
}

QString ThoughtAnchorsView::caption() const
{
    if (!m_analysis) return {};
    const core::TraceInfo& info = m_analysis->trace->info();
    return tr("%1 · %2 · thought anchors: %3 sentences, receiver score = mean vertical score (sentences ≥ %4 later) over the "
              "top %5 heads by kurtosis (layer 0 excluded) · %6")
        .arg(traceModelName(info), traceShapeText(info))
        .arg(m_analysis->sentences().size())
        .arg(core::kVerticalMinDistance)
        .arg(m_analysis->heads.size())
        .arg(sourceLabel());
}

void ThoughtAnchorsView::exportView(const ExportRequest& request) const
{
    if (!m_analysis) throw ArgumentError("nothing to export: the thought-anchors view has no analysis");
    exportPlots(request, caption(), QStringLiteral("SparseTrace thought anchors"), {m_categoryPlot, m_kurtosisPlot}, 2);
}

} // namespace sparsetrace::widgets
