// Layer x head overview (see head_overview_widget.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/head_overview_widget.h"

#include "sparsetrace/core/niah.h"
#include "sparsetrace/widgets/figure.h"
#include "sparsetrace/core/head_stats.h"
#include "sparsetrace/widgets/future_delivery.h"
#include "sparsetrace/widgets/layer_head_selection.h"

#include <QComboBox>
#include <QEvent>
#include <QFontMetrics>
#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace sparsetrace::widgets {

HeadOverviewWidget::HeadOverviewWidget(QWidget* parent) : QWidget(parent), m_model(new HeadStatModel(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_stat = new QComboBox(this);
    m_stat->setToolTip(tr("Per-head statistic shown in the grid"));
    m_info = new QLabel(this);
    m_info->setWordWrap(true);
    m_info->setTextFormat(Qt::RichText);
    m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_info->setMargin(3); // the dock has no margins of its own
    m_view = new QTableView(this);
    m_view->setModel(m_model);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    // The heads share the width: all of them in view, however many (colours stay readable).
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_view->horizontalHeader()->setMinimumSectionSize(8);
    m_view->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_view->viewport()->installEventFilter(this); // its resizes decide whether values fit
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(20);
    QFont small = m_view->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    m_view->setFont(small);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    layout->addWidget(m_info);
    layout->addWidget(m_stat);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_status);
    connect(m_stat, &QComboBox::currentTextChanged, this, &HeadOverviewWidget::showStatistic);
    connect(m_view, &QTableView::clicked, this, [this](const QModelIndex& index) {
        if (m_selection && index.isValid()) m_selection->select(index.row(), index.column());
    });
}

HeadOverviewWidget::~HeadOverviewWidget()
{
    if (m_stop) m_stop->store(true);
}

void HeadOverviewWidget::setSelection(LayerHeadSelection* selection)
{
    m_selection = selection;
    connect(selection, &LayerHeadSelection::changed, this, [this](int, int) { syncCurrent(); });
}

QString HeadOverviewWidget::statistic() const { return m_stat->currentText(); }

QString HeadOverviewWidget::infoText() const { return m_info->text(); }

bool HeadOverviewWidget::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_view->viewport() && event->type() == QEvent::Resize) fitValues();
    return QWidget::eventFilter(watched, event);
}

void HeadOverviewWidget::fitValues()
{
    // The stretched columns share the viewport; the text needs "0.000" and a little room.
    const int heads = std::max(1, m_model->columnCount());
    const int needed = QFontMetrics(m_view->font()).horizontalAdvance(QStringLiteral("0.000")) + 4;
    m_model->setShowValues(m_view->viewport()->width() / heads >= needed);
}

void HeadOverviewWidget::setColormap(ColormapId map) { m_model->setColormap(map); }

void HeadOverviewWidget::setTrace(TracePtr trace)
{
    m_trace = std::move(trace);
    const QString previous = m_stat->currentText();
    QSignalBlocker block(m_stat);
    m_stat->clear();
    m_info->clear();
    if (!m_trace) {
        m_model->clear();
        return;
    }
    const core::TraceInfo& info = m_trace->info();
    QString text = traceShapeText(info).toHtmlEscaped();
    if (const auto needle = core::needleTokens(info))
        text += QStringLiteral("<br><span style=\"color:#d81b60\">&#9632;</span> ") +
                tr("needle: tokens %1–%2, key blocks %3–%4")
                    .arg(needle->start)
                    .arg(needle->end - 1)
                    .arg(needle->start / info.params.bk)
                    .arg((needle->end - 1) / info.params.bk)
                    .toHtmlEscaped();
    m_info->setText(text);
    QStringList names;
    for (const std::string& n : core::availableHeadStatistics(*m_trace)) names << QString::fromStdString(n);
    m_stat->addItems(names);
    const QString pick = names.contains(previous) ? previous : names.value(0);
    m_stat->setCurrentText(pick);
    showStatistic(pick);
}

void HeadOverviewWidget::showStatistic(const QString& name)
{
    if (!m_trace || name.isEmpty()) return;
    if (m_stop) m_stop->store(true); // the previous computation is no longer wanted
    const std::uint64_t job = ++m_job;
    const int L = m_trace->layers(), H = m_trace->heads();
    if (core::headStatisticStored(*m_trace, name.toStdString())) {
        m_model->setStatistic(name, L, H, core::headStatistic(*m_trace, name.toStdString()));
        fitValues();
        m_status->clear();
        syncCurrent();
        emit statisticReady(name);
        return;
    }
    m_status->setText(tr("Computing %1 over %2 layers…").arg(name).arg(L));
    m_stop = std::make_shared<std::atomic<bool>>(false);
    struct Result {
        std::vector<float> values;
        QString error;
    };
    auto future = QtConcurrent::run([trace = m_trace, name, stop = m_stop]() -> Result {
        try {
            return {core::headStatistic(*trace, name.toStdString(), stop.get()), {}};
        } catch (const std::exception& e) {
            return {{}, QString::fromStdString(e.what())};
        }
    });
    deliverWhenFinished(this, std::move(future), [this, job, name, L, H](Result r) {
        if (job != m_job) return;
        if (!r.error.isEmpty()) {
            m_status->setText(r.error);
            return;
        }
        m_status->clear();
        m_model->setStatistic(name, L, H, std::move(r.values));
        fitValues();
        syncCurrent();
        emit statisticReady(name);
    });
}

void HeadOverviewWidget::syncCurrent()
{
    if (!m_selection) return;
    const QModelIndex index = m_model->index(m_selection->layer(), m_selection->head());
    if (index.isValid() && m_view->currentIndex() != index) {
        m_view->setCurrentIndex(index);
        m_view->scrollTo(index);
    }
}

} // namespace sparsetrace::widgets
