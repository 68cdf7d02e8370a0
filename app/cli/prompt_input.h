// The prompt options shared by `trace`, `search-k` and `generate`, parsed one way: --prompt
// TEXT, --prompt-file FILE (UTF-8 text) or --token-ids FILE (a JSON list of integer ids).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparsetrace::cli {

struct PromptInput {
    std::string text;         // --prompt
    std::string file;         // --prompt-file
    std::string tokenIdsFile; // --token-ids
};

// Adds the three mutually exclusive options; `textHelp` describes --prompt.
void addPromptOptions(CLI::App* cmd, PromptInput& input, const std::string& textHelp = "Prompt text");

// The prompt given: its text, or its token ids (possibly empty: the engine names that).
struct PromptValue {
    std::optional<std::string> text;
    std::vector<std::int32_t> tokenIds;
};
// Throws ArgumentError when none of the options was given, IoError for an unreadable file and
// FormatError for token ids that are not a JSON list of int32 integers (naming the file).
PromptValue readPromptInput(const PromptInput& input);

// A JSON list of integer token ids, each within int32 (checked one by one: nlohmann's
// get<int32_t>() would cast 1e300 or 2^40 without a word).
std::vector<std::int32_t> readTokenIdsFile(const std::string& path);

} // namespace sparsetrace::cli
