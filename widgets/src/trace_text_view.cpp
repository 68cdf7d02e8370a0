// Token text view (see trace_text_view.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/trace_text_view.h"

#include "sparsetrace/core/niah.h"
#include "sparsetrace/widgets/token_text.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTextBlock>
#include <QVBoxLayout>

#include <algorithm>

namespace sparsetrace::widgets {

namespace {
const QColor kGenerated(120, 200, 120, 60);
const QColor kKeySpan(66, 133, 244, 90);
const QColor kQuerySpan(255, 152, 0, 110);
const QColor kHit(255, 235, 59, 160);

// A legend entry: a swatch of the colour (opaque, as it shows on white) and its name.
QString swatch(const QColor& c, const QString& name)
{
    QColor shown = c;
    const double a = c.alphaF();
    shown.setRgbF(1.0 - a + a * c.redF(), 1.0 - a + a * c.greenF(), 1.0 - a + a * c.blueF());
    return QStringLiteral("<span style=\"background-color:%1\">&nbsp;&nbsp;&nbsp;</span>&nbsp;%2").arg(shown.name(), name.toHtmlEscaped());
}

// The text shown for a token: whitespace-only tokens made visible (a newline keeps its break).
QString displayToken(const std::string& token)
{
    const QString s = decodeTokenString(token);
    if (s.isEmpty() || !s.trimmed().isEmpty()) return s;
    QString shown = prettyToken(token);
    if (s.contains(QLatin1Char('\n'))) shown += QLatin1Char('\n');
    return shown;
}
} // namespace

TraceTextView::TraceTextView(QWidget* parent) : QWidget(parent)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout;
    m_search = new QLineEdit(this);
    m_search->setPlaceholderText(tr("Search the text (Enter: next)"));
    m_search->setClearButtonEnabled(true);
    auto* next = new QPushButton(tr("Find"), this);
    m_jump = new QSpinBox(this);
    m_jump->setPrefix(tr("token "));
    m_jump->setToolTip(tr("Jump to a token position"));
    auto* go = new QPushButton(tr("Go"), this);
    bar->addWidget(m_search, 1);
    bar->addWidget(next);
    bar->addWidget(m_jump);
    bar->addWidget(go);
    m_edit = new QPlainTextEdit(this);
    m_edit->setReadOnly(true);
    m_edit->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    m_edit->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_status = new QLabel(this);
    m_legend = new QLabel(this);
    m_legend->setTextFormat(Qt::RichText);
    auto* foot = new QHBoxLayout;
    foot->addWidget(m_status, 1);
    foot->addWidget(m_legend);
    layout->addLayout(bar);
    layout->addWidget(m_edit, 1);
    layout->addLayout(foot);
    connect(m_search, &QLineEdit::returnPressed, this, [this] { findNext(m_search->text()); });
    connect(next, &QPushButton::clicked, this, [this] { findNext(m_search->text()); });
    auto jump = [this] {
        jumpTo(m_jump->value());
        emit jumpRequested(m_jump->value());
    };
    connect(go, &QPushButton::clicked, this, jump);
    connect(m_jump, &QSpinBox::editingFinished, this, jump);
    connect(m_edit, &QPlainTextEdit::selectionChanged, this, &TraceTextView::onSelectionChanged);
}

void TraceTextView::setTrace(TracePtr trace)
{
    m_trace = std::move(trace);
    m_fullText.clear();
    m_fullOffsets.clear();
    m_qLast = m_kLast = m_hitLast = -1;
    m_hitAt = -1;
    m_needleFirst = 0;
    m_needleLast = -1;
    if (m_trace)
        if (const auto needle = core::needleTokens(m_trace->info())) {
            m_needleFirst = needle->start;
            m_needleLast = needle->end - 1;
        }
    const auto n = m_trace ? static_cast<std::int64_t>(m_trace->info().tokens.size()) : 0;
    m_jump->setRange(0, static_cast<int>(std::max<std::int64_t>(0, n - 1)));
    // A needle deep in a long text is laid out and scrolled to; other texts open at the start.
    layoutWindow(m_needleLast >= m_needleFirst ? m_needleFirst : 0);
    if (m_needleLast >= m_needleFirst) {
        const auto [a, b] = charRange(m_needleFirst);
        if (a >= 0) {
            QTextCursor c(m_edit->document());
            c.setPosition(a);
            m_edit->setTextCursor(c);
            m_edit->centerCursor();
        }
    }
    m_legend->setText(legendText());
    if (m_trace) {
        const auto& info = m_trace->info();
        m_status->setText(tr("%1 prompt tokens + %2 generated (tinted)").arg(info.promptTokens).arg(info.generatedTokens));
    } else {
        m_status->clear();
    }
}

void TraceTextView::layoutWindow(std::int64_t centre, std::int64_t second)
{
    m_updating = true;
    m_segments.clear();
    if (!m_trace) {
        m_edit->clear();
        m_updating = false;
        return;
    }
    const auto& tokens = m_trace->info().tokens;
    const auto n = static_cast<std::int64_t>(tokens.size());
    auto window = [n](std::int64_t c, std::int64_t size) {
        const std::int64_t first = std::clamp<std::int64_t>(c - size / 2, 0, std::max<std::int64_t>(0, n - size));
        return std::pair{first, std::min(n, first + size) - 1};
    };
    // One window of kWindowTokens around the focus; two halves when a second focus (the key
    // span of a hovered cell) lies too far away to share it. Both show, with the gap counted.
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
    if (second < 0 || std::abs(second - centre) < kWindowTokens * 3 / 4) {
        ranges.push_back(window(second < 0 ? centre : (centre + second) / 2, kWindowTokens));
    } else {
        ranges.push_back(window(std::min(centre, second), kWindowTokens / 2));
        ranges.push_back(window(std::max(centre, second), kWindowTokens / 2));
        if (ranges[1].first <= ranges[0].second + 1) ranges = {{ranges[0].first, ranges[1].second}};
    }
    QString text;
    std::int64_t next = 0; // the first token not yet laid out or skipped
    for (const auto& [first, last] : ranges) {
        if (first > next) text += (next == 0 ? tr("[… %1 tokens before]\n") : tr("\n[… %1 tokens …]\n")).arg(first - next);
        Segment seg;
        seg.first = first;
        seg.last = last;
        for (std::int64_t t = first; t <= last; ++t) {
            seg.offsets.push_back(static_cast<int>(text.size()));
            text += displayToken(tokens.strings[static_cast<std::size_t>(t)]);
        }
        seg.offsets.push_back(static_cast<int>(text.size()));
        m_segments.push_back(std::move(seg));
        next = last + 1;
    }
    if (next < n) text += tr("\n[… %1 tokens after]").arg(n - next);
    m_edit->setPlainText(text);
    m_updating = false;
    applyHighlights();
}

std::int64_t TraceTextView::windowFirst() const { return m_segments.empty() ? 0 : m_segments.front().first; }
std::int64_t TraceTextView::windowLast() const { return m_segments.empty() ? -1 : m_segments.back().last; }

bool TraceTextView::laidOut(std::int64_t token) const
{
    return std::any_of(m_segments.begin(), m_segments.end(), [token](const Segment& s) { return token >= s.first && token <= s.last; });
}

std::int64_t TraceTextView::tokenAt(int charPos) const
{
    for (const Segment& s : m_segments) {
        if (s.offsets.size() < 2 || charPos < s.offsets.front() || charPos >= s.offsets.back()) continue;
        auto it = std::upper_bound(s.offsets.begin(), s.offsets.end(), charPos);
        return s.first + (it - s.offsets.begin()) - 1;
    }
    return -1;
}

std::pair<int, int> TraceTextView::charRange(std::int64_t token) const
{
    for (const Segment& s : m_segments)
        if (token >= s.first && token <= s.last) {
            const auto i = static_cast<std::size_t>(token - s.first);
            return {s.offsets[i], s.offsets[i + 1]};
        }
    return {-1, -1};
}

QColor TraceTextView::needleColour() { return QColor(216, 27, 96, 85); }

QString TraceTextView::legendText() const
{
    if (!m_trace) return {};
    QStringList parts;
    if (m_needleLast >= m_needleFirst) parts << swatch(needleColour(), tr("needle"));
    if (m_trace->info().generatedTokens > 0) parts << swatch(kGenerated, tr("generated"));
    parts << swatch(kQuerySpan, tr("query")) << swatch(kKeySpan, tr("key"));
    return parts.join(QStringLiteral("&nbsp;&nbsp;"));
}

void TraceTextView::applyHighlights()
{
    QList<QTextEdit::ExtraSelection> extras;
    auto add = [&](std::int64_t a0, std::int64_t b0, QColor colour) {
        for (const Segment& s : m_segments) {
            const std::int64_t a = std::max(a0, s.first), b = std::min(b0, s.last);
            if (b < a) continue;
            QTextEdit::ExtraSelection sel;
            sel.format.setBackground(colour);
            sel.cursor = QTextCursor(m_edit->document());
            sel.cursor.setPosition(charRange(a).first);
            sel.cursor.setPosition(charRange(b).second, QTextCursor::KeepAnchor);
            extras << sel;
        }
    };
    if (m_trace && m_trace->info().generatedTokens > 0)
        add(m_trace->info().promptTokens, static_cast<std::int64_t>(m_trace->info().tokens.size()) - 1, kGenerated);
    add(m_needleFirst, m_needleLast, needleColour());
    add(m_kFirst, m_kLast, kKeySpan);
    add(m_qFirst, m_qLast, kQuerySpan);
    add(m_hitFirst, m_hitLast, kHit);
    m_edit->setExtraSelections(extras);
}

void TraceTextView::showSpans(std::int64_t qFirst, std::int64_t qLast, std::int64_t kFirst, std::int64_t kLast)
{
    m_qFirst = qFirst;
    m_qLast = qLast;
    m_kFirst = kFirst;
    m_kLast = kLast;
    // Lay out again when the query span, or the start of the key span, is not on the page.
    const bool keyShown = kLast < kFirst || laidOut(kFirst);
    if (qLast >= qFirst && (!laidOut(qFirst) || !laidOut(qLast) || !keyShown))
        layoutWindow(qFirst, kLast >= kFirst ? kFirst : -1);
    else applyHighlights();
    const auto [a, b] = charRange(qFirst);
    if (a >= 0) {
        QTextCursor c(m_edit->document());
        c.setPosition(a);
        m_updating = true;
        m_edit->setTextCursor(c);
        m_edit->ensureCursorVisible();
        m_updating = false;
    }
    (void)b;
}

void TraceTextView::clearSpans()
{
    m_qLast = m_kLast = -1;
    applyHighlights();
}

void TraceTextView::jumpTo(std::int64_t token)
{
    if (!m_trace) return;
    showSpans(token, token, 1, 0);
}

bool TraceTextView::findNext(const QString& needle)
{
    if (!m_trace || needle.isEmpty()) return false;
    const auto& tokens = m_trace->info().tokens;
    if (m_fullOffsets.empty()) {
        m_fullOffsets.reserve(tokens.size() + 1);
        for (const auto& s : tokens.strings) {
            m_fullOffsets.push_back(m_fullText.size());
            m_fullText += decodeTokenString(s);
        }
        m_fullOffsets.push_back(m_fullText.size());
    }
    const qsizetype from = m_hitAt + 1;
    qsizetype at = m_fullText.indexOf(needle, from, Qt::CaseInsensitive);
    if (at < 0) at = m_fullText.indexOf(needle, 0, Qt::CaseInsensitive);
    if (at < 0) {
        m_status->setText(tr("“%1” not found").arg(needle));
        return false;
    }
    auto tokenOf = [&](qsizetype c) {
        return static_cast<std::int64_t>(std::upper_bound(m_fullOffsets.begin(), m_fullOffsets.end(), c) - m_fullOffsets.begin()) - 1;
    };
    m_hitAt = at;
    m_hitFirst = tokenOf(at);
    m_hitLast = tokenOf(at + needle.size() - 1);
    m_status->setText(tr("found at tokens %1–%2").arg(m_hitFirst).arg(m_hitLast));
    showSpans(m_hitFirst, m_hitLast, 1, 0);
    emit tokensSelected(m_hitFirst, m_hitLast);
    return true;
}

void TraceTextView::onSelectionChanged()
{
    if (m_updating) return;
    const QTextCursor c = m_edit->textCursor();
    if (!c.hasSelection()) return;
    const std::int64_t a = tokenAt(c.selectionStart());
    const std::int64_t b = tokenAt(std::max(c.selectionStart(), c.selectionEnd() - 1));
    if (a < 0 || b < 0) return;
    emit tokensSelected(a, b);
}

} // namespace sparsetrace::widgets
