// Sentences of a chain of thought (spec section 6, steps 1-3): where the chain of thought lies
// in a text, the Thought Anchors sentence split, and the token span of any character span.
// Character positions count Unicode code points, as token offsets do.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

// [start, end) in code points of some text.
struct CharSpan {
    std::int64_t start = 0;
    std::int64_t end = 0;
    bool operator==(const CharSpan&) const = default;
};

// [start, end) token indices; empty (start == end) when no token overlaps the characters.
struct TokenSpan {
    std::int64_t start = 0;
    std::int64_t end = 0;
    bool empty() const { return end <= start; }
    bool operator==(const TokenSpan&) const = default;
};

struct Sentence {
    std::string text;  // the stripped sentence as the split produces it (pieces joined by " ")
    CharSpan chars;    // from the start of its first piece to the end of its last, in the original text
    TokenSpan tokens;  // filled by mapSentencesToTokens
};

// The chain of thought: the characters after the first "<think>" up to the next "</think>"
// (or the end of the text when the model has not closed it). Throws ArgumentError when the
// text holds no "<think>".
CharSpan chainOfThoughtSpan(std::string_view text);

// Spec 6.2 applied to text[span] (span in code points of `text`): cut after '.', '?' or '!'
// followed by a space or newline, and after the first newline of a paragraph break; strip the
// pieces (Unicode whitespace, as Python's str.strip), drop empty ones; join a piece shorter
// than 10 code points to the next one with one space (to the previous one when it is last).
std::vector<Sentence> splitSentences(std::string_view text, CharSpan span);
// The whole text.
std::vector<Sentence> splitSentences(std::string_view text);
// The sentences of the chain of thought of `text` (the prompt is not split).
std::vector<Sentence> segmentChainOfThought(std::string_view text);

// Tokens whose [start, end) offsets overlap `chars`; tokens with empty offsets (special
// tokens) are ignored. `offsets` [T, 2] int32 are sorted by start, as tokenizers produce them.
TokenSpan tokenSpanOfChars(const TokenTable& tokens, CharSpan chars);
// Fills every sentence's token span from the tokenizer's offsets.
void mapSentencesToTokens(std::vector<Sentence>& sentences, const TokenTable& tokens);

} // namespace sparsetrace::core
