// NIAH prompts (spec section 7): RULER's single-needle wording, needle placement by depth, the
// longest haystack that fits the target length by the given token counter, the needle's
// character span, seeded keys and values, and substring scoring.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "qt_shared.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/niah.h"
#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/utf8.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <set>
#include <sstream>

using namespace sparsetrace;
using namespace sparsetrace::core;

namespace {
// Whitespace-separated words: a real (if simple) tokenizer, additive over sentences.
std::size_t countWords(std::string_view s)
{
    std::size_t n = 0;
    bool in = false;
    for (char c : s) {
        const bool ws = c == ' ' || c == '\n' || c == '\t';
        if (!ws && !in) ++n;
        in = !ws;
    }
    return n;
}
std::string slice(const std::string& text, CharSpan s)
{
    const auto b = codePointByteOffsets(text);
    return text.substr(b[static_cast<std::size_t>(s.start)], b[static_cast<std::size_t>(s.end)] - b[static_cast<std::size_t>(s.start)]);
}
std::string context(const std::string& prompt)
{
    const std::string head = "I will quiz you about the number afterwards.\n";
    const auto a = prompt.find(head) + head.size();
    return prompt.substr(a, prompt.find("\nWhat is the special magic number") - a);
}
} // namespace

class TstNiah : public QObject {
    Q_OBJECT

private slots:
    void needlesAreSeeded()
    {
        const NiahNeedle a = drawNeedle(42), b = drawNeedle(42);
        QCOMPARE(a.key, b.key);
        QCOMPARE(a.value, b.value);
        std::set<std::string> keys, values;
        for (std::uint64_t s = 0; s < 50; ++s) {
            const NiahNeedle n = drawNeedle(s);
            QCOMPARE(n.value.size(), std::size_t(7));
            QVERIFY(n.value[0] != '0');
            QVERIFY(n.value.find_first_not_of("0123456789") == std::string::npos);
            QVERIFY(n.key.find('-') != std::string::npos);
            keys.insert(n.key);
            values.insert(n.value);
        }
        QVERIFY(keys.size() >= 40);
        QCOMPARE(values.size(), std::size_t(50));
    }

    void promptHasRulersWordingAndFits()
    {
        NiahPromptSpec spec;
        spec.targetTokens = 300;
        spec.tokensToGenerate = 20;
        spec.depth = 50;
        spec.needle = {"quiet-harbor", "7654321"};
        const Haystack hay = Haystack::noise();
        const NiahPrompt p = buildNiahPrompt(hay, spec, countWords);
        QVERIFY(p.text.rfind("A special magic number is hidden within the following text. Make sure to memorize it. "
                             "I will quiz you about the number afterwards.\n",
                             0) == 0);
        const std::string tail = "\nWhat is the special magic number for quiet-harbor mentioned in the provided text? "
                                 "The special magic number for quiet-harbor mentioned in the provided text is";
        QVERIFY(p.text.size() > tail.size() && p.text.substr(p.text.size() - tail.size()) == tail);
        QCOMPARE(slice(p.text, p.needleChars), std::string("One of the special magic numbers for quiet-harbor is: 7654321."));
        QCOMPARE(p.promptTokens, countWords(p.text));
        QVERIFY(p.promptTokens + 20 <= 300);
        // The longest haystack: one more sentence would not fit.
        QVERIFY(p.promptTokens + countWords(hay.sentence(p.haystackSentences)) + 20 > 300);
        QVERIFY(p.haystackSentences > 10);
    }

    void depthPlacesTheNeedle_data()
    {
        QTest::addColumn<double>("depth");
        QTest::newRow("0") << 0.0;
        QTest::newRow("25") << 25.0;
        QTest::newRow("50") << 50.0;
        QTest::newRow("100") << 100.0;
    }
    void depthPlacesTheNeedle()
    {
        QFETCH(double, depth);
        NiahPromptSpec spec;
        spec.targetTokens = 500;
        spec.depth = depth;
        spec.needle = drawNeedle(7);
        const NiahPrompt p = buildNiahPrompt(Haystack::noise(), spec, countWords);
        const std::string ctx = context(p.text);
        const std::string needle = slice(p.text, p.needleChars);
        const std::string before = ctx.substr(0, ctx.find(needle));
        std::size_t sentencesBefore = 0;
        for (std::size_t i = 0; i + 1 < before.size(); ++i) sentencesBefore += (before[i] == '.' && before[i + 1] == ' ') ? 1 : 0;
        QCOMPARE(sentencesBefore, static_cast<std::size_t>(static_cast<double>(p.haystackSentences) * depth / 100.0));
        if (depth == 0.0) QVERIFY(ctx.rfind(needle, 0) == 0);
        if (depth == 100.0) QVERIFY(ctx.size() >= needle.size() && ctx.substr(ctx.size() - needle.size()) == needle);
    }

    void haystackFromAFile()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("book.txt").toStdString();
        std::ofstream(path) << "Chapter one.\n\nIt was a dark   and stormy night! Was it?\nYes, it was indeed.\n";
        const Haystack h = Haystack::fromFile(path);
        QCOMPARE(h.sentenceCount(), std::size_t(4));
        QCOMPARE(h.sentence(1), std::string("It was a dark and stormy night!"));
        QCOMPARE(h.sentence(4), std::string("Chapter one.")); // cycled
        QVERIFY_THROWS_EXCEPTION(IoError, Haystack::fromFile(dir.filePath("missing.txt").toStdString()));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, Haystack::fromText("   \n ", "empty"));
        QVERIFY_THROWS_EXCEPTION(ArgumentError, Haystack::fromText("bad \xFF byte.", "binary"));
    }

    void essaysHaystack()
    {
        ST_QREQUIRE_SHARED(shared);
        const auto out = test::scratchDir() / "pg-essays";
        if (!std::filesystem::exists(out)) {
            std::filesystem::create_directories(out);
            const std::string cmd = "tar --zstd -xf '" + (shared / "assets/text/paul-graham-essays.tar.zst").string() + "' -C '" + out.string() + "'";
            QVERIFY(std::system(cmd.c_str()) == 0);
        }
        std::string text;
        for (const auto& e : std::filesystem::recursive_directory_iterator(out)) {
            if (!e.is_regular_file()) continue;
            std::ifstream in(e.path(), std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            text += ss.str() + "\n";
        }
        QVERIFY(text.size() > 100000);
        const Haystack h = Haystack::fromText(text, "essays");
        QVERIFY(h.sentenceCount() > 1000);
        NiahPromptSpec spec;
        spec.targetTokens = 4000;
        spec.depth = 30;
        spec.needle = drawNeedle(3);
        const NiahPrompt p = buildNiahPrompt(h, spec, countWords);
        QVERIFY(p.promptTokens + 16 <= 4000 && p.promptTokens > 3800);
        QCOMPARE(slice(p.text, p.needleChars).rfind("One of the special magic numbers for ", 0), std::size_t(0));
    }

    void badSpecs()
    {
        NiahPromptSpec spec;
        spec.needle = drawNeedle(1);
        spec.depth = 101;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, buildNiahPrompt(Haystack::noise(), spec, countWords));
        spec.depth = 50;
        spec.targetTokens = 30; // the template alone has more words
        QVERIFY_THROWS_EXCEPTION(ArgumentError, buildNiahPrompt(Haystack::noise(), spec, countWords));
        spec.targetTokens = 1000;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, buildNiahPrompt(Haystack::noise(), spec, TokenCounter{}));
    }

    void scoring()
    {
        QVERIFY(niahRetrieved(" 1234567.", "1234567"));
        QVERIFY(niahRetrieved("The number is 1234567 indeed", "1234567"));
        QVERIFY(niahRetrieved("ANSWER: Bright-Harbor", "bright-harbor"));
        QVERIFY(!niahRetrieved(" 123456", "1234567"));
        QVERIFY(!niahRetrieved("anything", ""));
    }

    void annotation()
    {
        NiahPromptSpec spec;
        spec.targetTokens = 200;
        spec.needle = {"bold-otter", "1000001"};
        const NiahPrompt p = buildNiahPrompt(Haystack::noise(), spec, countWords);
        const auto j = needleAnnotation(p, TokenSpan{40, 52});
        QCOMPARE(j["token_start"].get<int>(), 40);
        QCOMPARE(j["token_end"].get<int>(), 52);
        QCOMPARE(j["value"].get<std::string>(), std::string("1000001"));
        QCOMPARE(j["char_start"].get<std::int64_t>(), p.needleChars.start);
    }

    void summaryOfANeedleTrace()
    {
        // 32 prompt tokens with the needle's value spelled " 12" "34" "567" at tokens 10-12 (the
        // needle sentence is tokens 8-12), then 4 generated tokens; ids are the token positions.
        SyntheticTraceSpec spec;
        spec.layers = 1;
        spec.heads = 1;
        spec.kvHeads = 1;
        spec.params.bq = spec.params.bk = 8;
        spec.params.k = 1;
        spec.params.sinks = 8;
        spec.params.window = 8;
        spec.promptTokens = 32;
        spec.generatedTokens = 4;
        for (int i = 0; i < 32; ++i) spec.tokenTexts.push_back(" w" + std::to_string(i));
        spec.tokenTexts[8] = "One";
        spec.tokenTexts[9] = " of";
        spec.tokenTexts[10] = " 12";
        spec.tokenTexts[11] = "34";
        spec.tokenTexts[12] = "567";
        for (const char* g : {" 12", "34", "567", "."}) spec.tokenTexts.push_back(g);
        auto trace = makeSyntheticTrace(spec);
        TraceInfo& info = trace->mutableInfo();
        for (std::size_t i = 0; i < info.tokens.ids.size(); ++i) info.tokens.ids[i] = static_cast<std::int32_t>(i);
        for (std::size_t i = 0; i < 3; ++i) info.tokens.ids[32 + i] = static_cast<std::int32_t>(10 + i); // the value again

        QVERIFY(!needleSummary(*trace)); // no annotation yet
        info.annotations["needle"] = {{"key", "test-key"}, {"value", "1234567"}, {"depth", 25.0}, {"token_start", 8}, {"token_end", 13}};
        info.behaviour = BehaviourCheck{};
        info.behaviour->sparseTokens = {10, 11, 12, 35};
        info.behaviour->denseTokens = info.behaviour->sparseTokens;
        auto s = needleSummary(*trace);
        QVERIFY(s);
        QCOMPARE(s->value, std::string("1234567"));
        QCOMPARE(s->tokenStart, std::int64_t(8));
        QCOMPARE(s->tokenEnd, std::int64_t(13));
        QCOMPARE(s->retrieved, std::optional<bool>(true));
        QCOMPARE(s->denseRetrieved, std::optional<bool>(true));
        QCOMPARE(s->k, 1);
        QCOMPARE(s->sparsity, traceSparsity(*trace).sparsity());
        QVERIFY(s->sparsity > 0.0);
        const QString line = QString::fromStdString(s->line());
        QVERIFY2(line.startsWith("Needle test-key = 1234567 (tokens 8-12, depth 25%): retrieved densely and sparsely at sparsity 0."), qPrintable(line));
        QVERIFY2(line.endsWith("(K = 1, " + QString::fromStdString(std::string(scoreRuleName(spec.params.score))) + ")"), qPrintable(line));

        // Dense tokens spelled through the trace's table: " 12" "34" " w13" holds no value.
        info.behaviour->denseTokens = {10, 11, 13};
        QCOMPARE(needleSummary(*trace)->denseRetrieved, std::optional<bool>(false));
        // An id the trace never saw, and no match: unknown.
        info.behaviour->denseTokens = {10, 11, 9999};
        QCOMPARE(needleSummary(*trace)->denseRetrieved, std::optional<bool>());
        // The sparse run generated something else: lost sparsely, the dense run still retrieves.
        info.tokens.strings[32] = " 99";
        info.behaviour->denseTokens = {10, 11, 12};
        s = needleSummary(*trace);
        QCOMPARE(s->retrieved, std::optional<bool>(false));
        QCOMPARE(s->denseRetrieved, std::optional<bool>(true));
        QVERIFY2(QString::fromStdString(s->line()).contains("retrieved densely, lost sparsely"), s->line().c_str());
        // An annotation without a value or span is no needle.
        info.annotations["needle"].erase("token_end");
        QVERIFY(!needleSummary(*trace));
    }
};

QTEST_GUILESS_MAIN(TstNiah)
#include "tst_niah.moc"
