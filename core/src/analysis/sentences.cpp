// Chain-of-thought sentence split of Thought Anchors (spec section 6) and character-to-token
// span mapping.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/sentences.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/utf8.h"

#include <algorithm>

namespace sparsetrace::core {

namespace {

// Python's str.isspace set (what str.strip removes in the reference implementation).
bool isPythonSpace(char32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

struct Decoded {
    std::u32string cps;              // [N] code points
    std::vector<std::size_t> bytes;  // [N + 1] byte offset of each code point
};

Decoded decode(std::string_view text)
{
    Decoded d;
    d.bytes.reserve(text.size() + 1);
    std::size_t i = 0;
    while (i < text.size()) {
        d.bytes.push_back(i);
        d.cps.push_back(decodeUtf8(text, i));
    }
    d.bytes.push_back(text.size());
    return d;
}

std::int64_t findCodePoints(const std::u32string& hay, std::u32string_view needle, std::int64_t from)
{
    auto pos = hay.find(needle, static_cast<std::size_t>(from));
    return pos == std::u32string::npos ? -1 : static_cast<std::int64_t>(pos);
}

} // namespace

CharSpan chainOfThoughtSpan(std::string_view text)
{
    const Decoded d = decode(text);
    const std::int64_t open = findCodePoints(d.cps, U"<think>", 0);
    if (open < 0) throw ArgumentError("the text holds no <think>: no chain of thought to split");
    const std::int64_t start = open + 7;
    const std::int64_t close = findCodePoints(d.cps, U"</think>", start);
    return {start, close < 0 ? static_cast<std::int64_t>(d.cps.size()) : close};
}

std::vector<Sentence> splitSentences(std::string_view text, CharSpan span)
{
    const Decoded d = decode(text);
    const auto n = static_cast<std::int64_t>(d.cps.size());
    if (span.start < 0 || span.end > n || span.start > span.end)
        throw ArgumentError("sentence split: span [" + std::to_string(span.start) + ", " + std::to_string(span.end) +
                            ") lies outside a text of " + std::to_string(n) + " characters");
    const std::u32string& c = d.cps;

    // 1. Pieces [start, end) cut after sentence ends and after the first newline of "\n\n".
    std::vector<CharSpan> pieces;
    std::int64_t start = span.start;
    for (std::int64_t i = span.start; i < span.end; ++i) {
        const bool sentenceEnd =
            (c[i] == U'.' || c[i] == U'?' || c[i] == U'!') && i + 1 < span.end && (c[i + 1] == U' ' || c[i + 1] == U'\n');
        const bool paragraphEnd = c[i] == U'\n' && i + 1 < span.end && c[i + 1] == U'\n';
        if (sentenceEnd || paragraphEnd) {
            pieces.push_back({start, i + 1});
            start = i + 1;
        }
    }
    if (start < span.end) pieces.push_back({start, span.end});

    // 2. Strip and drop empty pieces.
    struct Piece {
        std::u32string text;
        CharSpan chars;
    };
    std::vector<Piece> stripped;
    for (CharSpan p : pieces) {
        std::int64_t a = p.start, b = p.end;
        while (a < b && isPythonSpace(c[a])) ++a;
        while (b > a && isPythonSpace(c[b - 1])) --b;
        if (a < b) stripped.push_back({c.substr(a, b - a), {a, b}});
    }

    // 3. Join short pieces forward (backward for the last one). A joined piece may still be short
    // and then joins the next one too, as in the reference.
    constexpr std::size_t kMinLength = 10;
    std::vector<Piece> merged;
    for (std::size_t j = 0; j < stripped.size(); ++j) {
        Piece& p = stripped[j];
        if (p.text.size() < kMinLength) {
            if (j + 1 < stripped.size()) {
                Piece& next = stripped[j + 1];
                next.text = p.text + U" " + next.text;
                next.chars.start = p.chars.start;
                continue;
            }
            if (!merged.empty()) {
                merged.back().text += U" " + p.text;
                merged.back().chars.end = p.chars.end;
                continue;
            }
        }
        merged.push_back(std::move(p));
    }

    std::vector<Sentence> out;
    out.reserve(merged.size());
    for (const Piece& p : merged) {
        Sentence s;
        for (char32_t cp : p.text) appendUtf8(s.text, cp);
        s.chars = p.chars;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Sentence> splitSentences(std::string_view text)
{
    return splitSentences(text, {0, static_cast<std::int64_t>(codePointCount(text))});
}

std::vector<Sentence> segmentChainOfThought(std::string_view text)
{
    return splitSentences(text, chainOfThoughtSpan(text));
}

TokenSpan tokenSpanOfChars(const TokenTable& tokens, CharSpan chars)
{
    TokenSpan span{0, 0};
    bool found = false;
    for (std::size_t t = 0; t < tokens.offsets.size(); ++t) {
        const auto [a, b] = tokens.offsets[t];
        if (b <= a) continue; // special tokens cover no characters
        if (a < chars.end && b > chars.start) {
            if (!found) span.start = static_cast<std::int64_t>(t);
            span.end = static_cast<std::int64_t>(t) + 1;
            found = true;
        } else if (found && a >= chars.end) {
            break;
        }
    }
    return span;
}

void mapSentencesToTokens(std::vector<Sentence>& sentences, const TokenTable& tokens)
{
    for (Sentence& s : sentences) s.tokens = tokenSpanOfChars(tokens, s.chars);
}

} // namespace sparsetrace::core
