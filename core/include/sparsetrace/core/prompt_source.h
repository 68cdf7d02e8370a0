// Where a trace's prompt comes from, resolved to text (and annotations) on a worker thread:
// typed text, a UTF-8 text file, the problem and chain of thought of a Thought-Anchors-style
// JSON (base_solution.json), or a needle-in-a-haystack prompt built with the model's tokenizer.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace sparsetrace::core {

struct NeedleRecipe {
    std::int64_t targetTokens = 1024; // prompt tokens + tokensToGenerate <= this
    double depth = 50.0;              // percent of the haystack's sentences
    std::string haystack = "noise";   // "noise" or a text file
    std::uint64_t seed = 0;           // draws the key and value
    std::int64_t tokensToGenerate = 16;
};

struct PromptSource {
    enum class Kind { Text, TextFile, ChainOfThought, Needle };
    Kind kind = Kind::Text;
    std::string text;    // Kind::Text
    std::string path;    // Kind::TextFile, Kind::ChainOfThought
    NeedleRecipe needle; // Kind::Needle
};

struct ResolvedPrompt {
    std::string text;
    nlohmann::json annotations = nlohmann::json::object(); // merged into the trace's annotations
};

// The prompt of a Thought-Anchors-style JSON object: "full_cot" (problem, "<think>" and the
// chain of thought) when present, else "prompt" followed by "solution" or "cot". Throws
// IoError / FormatError naming the file and the missing key.
std::string chainOfThoughtText(const std::string& path);

// Resolves `source`; the needle generator counts tokens with the tokenizer of `modelDir` and
// annotates the trace with the needle (docs/trace-format.md). Throws IoError, FormatError,
// ArgumentError (empty or non-UTF-8 text, impossible needle length or depth) or ModelError.
ResolvedPrompt resolvePrompt(const PromptSource& source, const std::string& modelDir);

} // namespace sparsetrace::core
