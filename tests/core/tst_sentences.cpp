// Chain-of-thought sentence split (spec 6.2): the rules one by one, character spans in code
// points, token spans from offsets, and the paper's own split of all 20 chains in ../shared.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "qt_shared.h"
#include "thought_anchors_data.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/sentences.h"
#include "sparsetrace/core/utf8.h"

#include <QtTest>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {
QStringList texts(const std::vector<Sentence>& s)
{
    QStringList out;
    for (const auto& x : s) out << QString::fromStdString(x.text);
    return out;
}
// The code points [a, b) of text as UTF-8.
std::string slice(const std::string& text, CharSpan s)
{
    const auto b = codePointByteOffsets(text);
    return text.substr(b[static_cast<std::size_t>(s.start)], b[static_cast<std::size_t>(s.end)] - b[static_cast<std::size_t>(s.start)]);
}
} // namespace

class TstSentences : public QObject {
    Q_OBJECT

private slots:
    void rules_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("two sentences") << "The first sentence is here. The second one follows!"
                                       << QStringList{"The first sentence is here.", "The second one follows!"};
        QTest::newRow("no cut without space") << "The value is 3.14 exactly. Next sentence here."
                                              << QStringList{"The value is 3.14 exactly.", "Next sentence here."};
        QTest::newRow("cut before newline") << "Is this a question?\nYes it is a question."
                                            << QStringList{"Is this a question?", "Yes it is a question."};
        QTest::newRow("paragraph break") << "A line without a stop\n\nAnother paragraph here"
                                         << QStringList{"A line without a stop", "Another paragraph here"};
        QTest::newRow("single newline kept") << "First line\nsecond line of it."
                                             << QStringList{"First line\nsecond line of it."};
        // "Hmm." joins "Okay."; the joined piece has 10 code points and stands on its own.
        QTest::newRow("short joins next") << "Hmm. Okay. Let me think about it."
                                          << QStringList{"Hmm. Okay.", "Let me think about it."};
        QTest::newRow("joins until long enough") << "A. B. C. Then a long one."
                                                 << QStringList{"A. B. C. Then a long one."};
        QTest::newRow("last short joins previous") << "This is a long enough sentence. Done."
                                                   << QStringList{"This is a long enough sentence. Done."};
        QTest::newRow("only short") << "Ok." << QStringList{"Ok."};
        QTest::newRow("whitespace only") << " \n\n  " << QStringList{};
        QTest::newRow("end without stop") << "It trails off without an end" << QStringList{"It trails off without an end"};
        QTest::newRow("stop at very end") << "Sentence at the very end." << QStringList{"Sentence at the very end."};
    }
    void rules()
    {
        QFETCH(QString, text);
        QFETCH(QStringList, expected);
        QCOMPARE(texts(splitSentences(text.toStdString())), expected);
    }

    void spansAreCodePointsOfTheOriginal()
    {
        // Non-ASCII characters before and inside the sentences: spans count code points.
        const std::string text = "Prompt with π and é <think>\nFirst: 2² = 4 ≈ four.  Then ünïcode here!\n\nLast one ok.</think> answer";
        const auto s = segmentChainOfThought(text);
        QCOMPARE(s.size(), std::size_t(3));
        for (const auto& x : s) QCOMPARE(slice(text, x.chars), x.text);
        QCOMPARE(s[0].text, std::string("First: 2² = 4 ≈ four."));
        QCOMPARE(s[1].text, std::string("Then ünïcode here!"));
        QCOMPARE(s[2].text, std::string("Last one ok."));
        // A joined sentence spans from its first piece to its last, with the original spacing.
        const std::string joined = "<think>Ok.\n\nThis is the rest of it.</think>";
        const auto j = segmentChainOfThought(joined);
        QCOMPARE(j.size(), std::size_t(1));
        QCOMPARE(j[0].text, std::string("Ok. This is the rest of it."));
        QCOMPARE(slice(joined, j[0].chars), std::string("Ok.\n\nThis is the rest of it."));
    }

    void chainOfThoughtRegion()
    {
        QVERIFY_THROWS_EXCEPTION(ArgumentError, chainOfThoughtSpan("no thinking here."));
        const std::string open = "Q? <think>Still thinking about it";
        const CharSpan s = chainOfThoughtSpan(open);
        QCOMPARE(s.start, std::int64_t(10));
        QCOMPARE(s.end, static_cast<std::int64_t>(open.size()));
        // The prompt is not split, even when it holds sentence ends.
        const auto x = segmentChainOfThought("Solve this. Problem: 1+1. Solution: \n<think>\nIt is two, clearly.\n</think>\n\nTwo.");
        QCOMPARE(texts(x), QStringList{"It is two, clearly."});
        QVERIFY_THROWS_EXCEPTION(ArgumentError, splitSentences("abc", CharSpan{2, 9}));
    }

    void tokenSpans()
    {
        // Byte-level BPE style: the leading space belongs to the token.
        const std::string text = "<think>Alpha beta gamma. Delta epsilon zeta.</think>";
        TokenTable t;
        const std::vector<std::string> pieces = {"<think>", "Alpha", " beta", " gamma", ".", " Delta", " epsilon", " zeta", ".", "</think>"};
        std::int32_t c = 0;
        for (const auto& p : pieces) {
            t.ids.push_back(0);
            t.offsets.push_back({c, c + static_cast<std::int32_t>(p.size())});
            t.strings.push_back(p);
            c += static_cast<std::int32_t>(p.size());
        }
        t.ids.push_back(1);
        t.offsets.push_back({c, c}); // an end-of-text token with no characters
        t.strings.push_back("<eos>");
        auto s = segmentChainOfThought(text);
        mapSentencesToTokens(s, t);
        QCOMPARE(s.size(), std::size_t(2));
        QCOMPARE(s[0].tokens, (TokenSpan{1, 5}));
        QCOMPARE(s[1].tokens, (TokenSpan{5, 9}));
        QVERIFY(tokenSpanOfChars(t, {c, c + 5}).empty());
    }

    // Spec 6.2: the split reproduces every sentence of the paper's published splits.
    void reproducesThePapersSplit()
    {
        ST_QREQUIRE_SHARED(shared);
        const auto root = test::unpackThoughtAnchors(shared);
        QVERIFY2(!root.empty(), "tar --zstd could not unpack the Thought Anchors archive");
        std::size_t total = 0, same = 0;
        for (const char* which : {"correct", "incorrect"}) {
            for (const auto& chain : test::loadChains(root, which)) {
                const auto s = segmentChainOfThought(chain.fullCot);
                QVERIFY2(s.size() == chain.chunks.size(), qPrintable(QString::fromStdString(chain.folder)));
                for (std::size_t i = 0; i < s.size(); ++i) {
                    QCOMPARE(s[i].text, chain.chunks[i]);
                    // The span starts and ends where the sentence does in the original text.
                    const std::string span = slice(chain.fullCot, s[i].chars);
                    QCOMPARE(span.front(), s[i].text.front());
                    QCOMPARE(span.back(), s[i].text.back());
                    ++same;
                }
                total += chain.chunks.size();
            }
        }
        QCOMPARE(same, total);
        QCOMPARE(total, std::size_t(2885));
    }
};

QTEST_GUILESS_MAIN(TstSentences)
#include "tst_sentences.moc"
