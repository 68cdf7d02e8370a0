// The thought-anchors view (spec section 6, the Stream paper's figure 3): the chain of thought
// of the open trace with each sentence's background coloured by its receiver score and a chip
// in its category's colour (imported chunks_labeled.json labels, else the rule-based
// labeller, named as such), the anchors ranked by receiver score, a plot of the scores by
// category and one of every head's kurtosis by layer with the receiver heads marked. The
// analysis runs in the thread pool; choosing an anchor emits its token span and the receiver
// heads, so that the map can mark the anchor's key columns on them.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/thought_anchors.h"
#include "sparsetrace/widgets/analysis_view.h"
#include "sparsetrace/widgets/async_jobs.h"

#include <QAbstractTableModel>
#include <QList>
#include <QPoint>

#include <memory>

class QLabel;
class QTableView;
class QTextEdit;

namespace sparsetrace::widgets {

// Everything the view shows, computed off the GUI thread by core::analyseThoughtAnchors from
// one trace (and labels): its sentences, scores and categories, and the receiver heads.
struct AnchorAnalysis : core::TraceAnchors {
    std::vector<core::ReceiverHead> heads; // receiver heads, highest kurtosis first
};

// The ranked anchors: rank, sentence, receiver score, category, text.
class AnchorListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Rank, SentenceIndex, Score, Category, Text, ColumnCount };
    explicit AnchorListModel(QObject* parent = nullptr);
    void setAnalysis(std::shared_ptr<const AnchorAnalysis> analysis);
    // Sentence index of a row, or -1.
    int sentenceAt(int row) const;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::shared_ptr<const AnchorAnalysis> m_analysis;
};

class ThoughtAnchorsView : public AnalysisView {
    Q_OBJECT
public:
    explicit ThoughtAnchorsView(QWidget* parent = nullptr);
    ~ThoughtAnchorsView() override;

    QString title() const override { return tr("Thought anchors"); }
    bool hasContent() const override { return m_analysis != nullptr; }
    QString caption() const override;
    void exportView(const ExportRequest& request) const override;

    std::shared_ptr<const AnchorAnalysis> analysis() const { return m_analysis; }
    bool busy() const { return m_busy; }
    AnchorListModel* anchorModel() const { return m_model; }
    QTableView* anchorList() const { return m_list; }
    QTextEdit* textView() const { return m_text; }
    QCustomPlot* categoryPlot() const { return m_categoryPlot; }
    QCustomPlot* kurtosisPlot() const { return m_kurtosisPlot; }
    QString sourceLabel() const; // the visible "categories from ..." line
    // Background colour of a sentence in the text (its receiver score on the gradient).
    QColor sentenceColor(std::size_t sentence) const;
    static QColor categoryColor(const std::string& category);

public slots:
    void setTrace(sparsetrace::widgets::TracePtr trace);
    // Reads a chunks_labeled.json and recomputes with its categories (errors go to `failed`).
    void loadLabels(const QString& path);
    void clearLabels();
    // As a click on the anchor list's sentence: emits anchorActivated.
    void activateSentence(int sentence);

signals:
    void analysisReady();
    // Tokens [first, last] of the chosen sentence and the receiver heads as (layer, head).
    void anchorActivated(qint64 first, qint64 last, const QList<QPoint>& receiverHeads);

private:
    void recompute();
    void showAnalysis(std::shared_ptr<const AnchorAnalysis> analysis);
    void fillText();
    void fillCategoryPlot();
    void fillKurtosisPlot();

    TracePtr m_trace;
    std::vector<core::ChunkLabel> m_labels;
    QString m_labelSource;
    std::shared_ptr<const AnchorAnalysis> m_analysis;
    std::uint64_t m_job = 0;
    bool m_busy = false;
    AnchorListModel* m_model;
    QLabel* m_status;
    QTableView* m_list;
    QTextEdit* m_text;
    QCustomPlot* m_categoryPlot;
    QCustomPlot* m_kurtosisPlot;
};

} // namespace sparsetrace::widgets
