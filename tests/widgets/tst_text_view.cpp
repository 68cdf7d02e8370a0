// Token text: prettifying, selection -> token range, search, map -> text spans.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "planted_trace.h"

#include "sparsetrace/widgets/token_text.h"
#include "sparsetrace/widgets/trace_text_view.h"

#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QtTest>

using namespace sparsetrace;
using namespace sparsetrace::widgets;

class TestTextView : public QObject {
    Q_OBJECT
private slots:
    void prettify_data()
    {
        QTest::addColumn<QString>("token");
        QTest::addColumn<QString>("decoded");
        QTest::addColumn<QString>("pretty");
        QTest::newRow("byte-level space") << QString::fromUtf8("Ġthe") << " the" << QString::fromUtf8("·the");
        QTest::newRow("sentencepiece space") << QString::fromUtf8("▁the") << " the" << QString::fromUtf8("·the");
        QTest::newRow("newline") << QString::fromUtf8("Ċ") << "\n" << QString::fromUtf8("↵");
        QTest::newRow("two newlines and tab") << QString::fromUtf8("ĊĊĉ") << "\n\n\t" << QString::fromUtf8("↵↵→");
        QTest::newRow("plain") << "word" << "word" << "word";
        QTest::newRow("non-latin") << QString::fromUtf8("日本") << QString::fromUtf8("日本") << QString::fromUtf8("日本");
    }
    void prettify()
    {
        QFETCH(QString, token);
        QFETCH(QString, decoded);
        QFETCH(QString, pretty);
        QCOMPARE(decodeTokenString(token.toStdString()), decoded);
        QCOMPARE(prettyToken(token.toStdString()), pretty);
    }

    void selectionEmitsTokenRange()
    {
        auto t = test::makePlantedTrace(256, false, 3);
        TraceTextView view;
        view.setTrace(t);
        QSignalSpy spy(&view, &TraceTextView::tokensSelected);
        // Synthetic words: token 1 is "Ġmodel", 2 "Ġreads", 3 "Ġa".
        const auto [a, b] = view.charRange(2);
        QCOMPARE(view.editor()->toPlainText().mid(a, b - a), QString(" reads"));
        QTextCursor c(view.editor()->document());
        c.setPosition(view.charRange(1).first + 2);
        c.setPosition(view.charRange(3).first + 1, QTextCursor::KeepAnchor);
        view.editor()->setTextCursor(c);
        QVERIFY(spy.count() >= 1);
        QCOMPARE(spy.last().at(0).toLongLong(), 1);
        QCOMPARE(spy.last().at(1).toLongLong(), 3);
        QCOMPARE(view.tokenAt(view.charRange(258).first), 258); // generated token
    }

    void searchFindsAndCycles()
    {
        auto t = test::makePlantedTrace(256);
        TraceTextView view;
        view.setTrace(t);
        QSignalSpy spy(&view, &TraceTextView::tokensSelected);
        QVERIFY(view.findNext("needle in"));
        QCOMPARE(spy.last().at(0).toLongLong(), 8); // words cycle every 16 tokens
        QCOMPARE(spy.last().at(1).toLongLong(), 9);
        QVERIFY(view.findNext("needle in"));
        QCOMPARE(spy.last().at(0).toLongLong(), 24);
        QVERIFY(!view.findNext("absent words"));
    }

    void longTraceLaysOutOnlyAWindow()
    {
        auto t = test::makePlantedTrace(32768);
        TraceTextView view;
        view.setTrace(t);
        QCOMPARE(view.windowLast() - view.windowFirst() + 1, TraceTextView::kWindowTokens);
        // A cell whose keys are far from its queries: both spans are laid out, not what lies between.
        view.showSpans(20000, 20031, 640, 671);
        QVERIFY(view.laidOut(20000) && view.laidOut(20031));
        QVERIFY(view.laidOut(640) && view.laidOut(671));
        QVERIFY(view.charRange(20000).first >= 0);
        QVERIFY(view.charRange(640).first >= 0 && view.charRange(640).first < view.charRange(20000).first);
        QCOMPARE(view.tokenAt(view.charRange(650).first), 650);
        QCOMPARE(view.tokenAt(view.charRange(20010).first), 20010);
        QCOMPARE(view.charRange(10000).first, -1); // between the two halves
        QVERIFY(view.editor()->toPlainText().contains(QStringLiteral("tokens …]")));
        // Both spans are highlighted: key (blue) and query (orange) selections.
        QVERIFY(view.editor()->extraSelections().size() >= 2);
        // Near each other: one window holds both.
        view.showSpans(26000, 26031, 25000, 25031);
        QCOMPARE(view.windowLast() - view.windowFirst() + 1, TraceTextView::kWindowTokens);
        QVERIFY(view.laidOut(25000) && view.laidOut(26031));
        QCOMPARE(view.charRange(100).first, -1); // outside the window
        view.jumpTo(32767);
        QCOMPARE(view.windowLast(), 32767);
    }
};

QTEST_MAIN(TestTextView)
#include "tst_text_view.moc"
