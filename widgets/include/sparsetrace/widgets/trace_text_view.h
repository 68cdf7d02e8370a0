// The prompt and generated text, token by token (prettified, whitespace-only tokens visible,
// generated tokens tinted), linked with the map both ways: selecting text emits the token
// range (the map highlights its query rows and key columns); a hovered or locked map cell
// highlights its query and key spans here. A needle trace's needle tokens wear their own colour,
// named in the legend line under the text. Search and jump to a token position. At long
// contexts only a window of tokens around the focus is laid out, so that 1M tokens cost no
// more than 4k; when a hovered cell's key span lies far from its query span, two half windows
// (key and query) are laid out with the tokens between them counted.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/async_jobs.h"

#include <QColor>
#include <QWidget>

#include <cstdint>
#include <vector>

class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QLabel;

namespace sparsetrace::widgets {

class TraceTextView : public QWidget {
    Q_OBJECT
public:
    static constexpr std::int64_t kWindowTokens = 4000;
    explicit TraceTextView(QWidget* parent = nullptr);
    QPlainTextEdit* editor() const { return m_edit; }
    // First and last token laid out (the tokens between two half windows are not).
    std::int64_t windowFirst() const;
    std::int64_t windowLast() const;
    bool laidOut(std::int64_t token) const;
    // Token under a character position of the editor, or -1.
    std::int64_t tokenAt(int charPos) const;
    // Character range [start, end) of a token in the editor, or {-1, -1} outside the window.
    std::pair<int, int> charRange(std::int64_t token) const;
    // The needle's tokens [first, last] (annotations.needle); first > last when there is none.
    std::pair<std::int64_t, std::int64_t> needleSpan() const { return {m_needleFirst, m_needleLast}; }
    // The highlight colours the text uses, and the legend line that names them.
    static QColor needleColour();
    QString legendText() const;

public slots:
    void setTrace(sparsetrace::widgets::TracePtr trace);
    void showSpans(std::int64_t queryFirst, std::int64_t queryLast, std::int64_t keyFirst, std::int64_t keyLast);
    void clearSpans();
    void jumpTo(std::int64_t token);
    bool findNext(const QString& text); // from after the current hit, wrapping

signals:
    void tokensSelected(std::int64_t first, std::int64_t last);
    void jumpRequested(std::int64_t token);

private:
    // Lays out tokens around `centre`, and around `second` too when it is >= 0.
    void layoutWindow(std::int64_t centre, std::int64_t second = -1);
    void applyHighlights();
    void onSelectionChanged();

    TracePtr m_trace;
    QLineEdit* m_search;
    QSpinBox* m_jump;
    QLabel* m_status;
    QLabel* m_legend;
    QPlainTextEdit* m_edit;
    struct Segment {
        std::int64_t first = 0, last = -1;
        std::vector<int> offsets; // [tokens + 1]: editor character of each token, then the end
    };
    std::vector<Segment> m_segments; // one or two, in token order
    std::int64_t m_qFirst = 0, m_qLast = -1, m_kFirst = 0, m_kLast = -1;
    std::int64_t m_hitFirst = 0, m_hitLast = -1;
    std::int64_t m_needleFirst = 0, m_needleLast = -1;
    qsizetype m_hitAt = -1; // character of the last search hit in m_fullText
    QString m_fullText;                // whole decoded text, built on the first search
    std::vector<qsizetype> m_fullOffsets; // [tokens + 1]
    bool m_updating = false;
};

} // namespace sparsetrace::widgets
