// Needle-in-a-haystack prompts with RULER's single-needle templates (spec section 7): a haystack
// from a text (split into sentences) or RULER's `noise` haystack, the needle inserted between
// sentences at an explicit depth, the haystack grown or shrunk until the prompt plus the tokens to
// generate fit a target length counted by the model's own tokenizer; keys (adjective-noun) and
// 7-digit values drawn from a seed; scoring by case-insensitive substring match.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/sentences.h"
#include "sparsetrace/core/trace.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

// Counts the tokens the model's tokenizer makes of a text (as the traced prompt will be encoded,
// special tokens included). The generator only needs this number.
using TokenCounter = std::function<std::size_t(std::string_view)>;

// RULER's single-needle wording (its rewrite of the plural template for one needle and one
// value), used as raw text (RULER's `base` wrapper).
struct NiahTemplates {
    std::string needle = "One of the special magic numbers for {key} is: {value}.";
    std::string prompt = "A special magic number is hidden within the following text. Make sure to memorize it. "
                         "I will quiz you about the number afterwards.\n{context}\nWhat is the special magic number "
                         "for {key} mentioned in the provided text?";
    std::string answerPrefix = " The special magic number for {key} mentioned in the provided text is";
};

// RULER's noise haystack unit, repeated.
inline constexpr const char* kNoiseHaystack =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

// A haystack: its sentences, cycled when a prompt needs more than there are.
class Haystack {
public:
    // Text of a file (essays, a book): whitespace runs become one space, then the text is split
    // into sentences after '.', '?' or '!' followed by a space. Throws IoError / ArgumentError
    // (empty or not UTF-8).
    static Haystack fromFile(const std::string& path);
    static Haystack fromText(std::string_view text, std::string name);
    static Haystack noise();
    // "noise" or a path.
    static Haystack fromSpec(const std::string& spec);

    const std::string& name() const { return m_name; }
    std::size_t sentenceCount() const { return m_sentences.size(); }
    const std::string& sentence(std::size_t i) const { return m_sentences[i % m_sentences.size()]; }

private:
    std::string m_name;
    std::vector<std::string> m_sentences;
};

struct NiahNeedle {
    std::string key;   // adjective-noun, e.g. "bright-harbor"
    std::string value; // 7 digits
};
// Key and value drawn from `seed` (the same seed gives the same needle on every platform).
NiahNeedle drawNeedle(std::uint64_t seed);

struct NiahPromptSpec {
    std::int64_t targetTokens = 4096; // context length: prompt tokens + tokensToGenerate <= this
    std::int64_t tokensToGenerate = 16;
    double depth = 50.0;              // needle position in percent of the haystack's sentences
    NiahNeedle needle;
    NiahTemplates templates;
};

struct NiahPrompt {
    std::string text;            // full prompt: template with context, then the answer prefix
    NiahNeedle needle;
    double depth = 0.0;
    CharSpan needleChars;        // code points of the needle sentence in `text`
    std::size_t haystackSentences = 0; // haystack sentences used (the needle not counted)
    std::size_t promptTokens = 0;      // tokens of `text` by the counter
};

// Builds the longest prompt whose token count plus tokensToGenerate fits targetTokens: binary
// search over the number of haystack sentences (the counter is assumed monotone in it; the
// result is checked). The needle goes before haystack sentence floor(n * depth / 100) (after
// the last one at depth 100). Throws ArgumentError when even an empty haystack does not fit, or
// for depth outside [0, 100].
NiahPrompt buildNiahPrompt(const Haystack& haystack, const NiahPromptSpec& spec, const TokenCounter& countTokens);

// Case-insensitive substring match of the value in the generated text (RULER's metric).
bool niahRetrieved(std::string_view generated, std::string_view value);

// The trace annotation for a prompt: {key, value, depth, char_start, char_end, token_start,
// token_end} (docs/trace-format.md); the token span from the trace's offsets.
nlohmann::json needleAnnotation(const NiahPrompt& prompt, TokenSpan tokens);

// The needle's tokens [start, end) from annotations.needle, when the trace has one that lies
// inside its tokens.
std::optional<TokenSpan> needleTokens(const TraceInfo& info);

// What a trace with a needle annotation says about its retrieval: the needle, whether the
// value is in the sparse run's generated tokens (the trace's own) and in the dense reference's
// (the behaviour check's dense tokens, spelled with the trace's token table), and the trace's
// sparsity (traceSparsity). Token strings are the vocabulary's: enough for the 7-digit values.
struct NeedleSummary {
    std::string key;
    std::string value;
    double depth = 0.0;
    std::int64_t tokenStart = 0; // [tokenStart, tokenEnd): the needle sentence's tokens
    std::int64_t tokenEnd = 0;
    std::optional<bool> retrieved;      // by the sparse run; empty when the trace generated nothing
    std::optional<bool> denseRetrieved; // by the dense reference; empty when unknown
    double sparsity = 0.0;
    int k = 0;
    std::string scoreRule;
    // One line: "Needle icy-beacon = 6637283 (tokens 510-536, depth 45%): retrieved densely and
    // sparsely at sparsity 0.87 (K = 16, centre)".
    std::string line() const;
};
// Empty when the trace has no usable annotations.needle (key, value, token_start, token_end).
std::optional<NeedleSummary> needleSummary(const Trace& trace);

} // namespace sparsetrace::core
