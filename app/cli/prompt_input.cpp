// The prompt options (see prompt_input.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "prompt_input.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"

#include <nlohmann/json.hpp>

#include <limits>

namespace sparsetrace::cli {

void addPromptOptions(CLI::App* cmd, PromptInput& in, const std::string& textHelp)
{
    auto* prompt = cmd->add_option("--prompt", in.text, textHelp);
    auto* promptFile = cmd->add_option("--prompt-file", in.file, "File holding the prompt text (UTF-8)");
    auto* ids = cmd->add_option("--token-ids", in.tokenIdsFile, "JSON file with the prompt as a list of token ids");
    prompt->excludes(promptFile)->excludes(ids);
    promptFile->excludes(ids);
}

std::vector<std::int32_t> readTokenIdsFile(const std::string& path)
{
    const std::string bad = path + ": expected a JSON list of integer token ids";
    const std::string text = core::readFileBytes(path);
    nlohmann::json ids;
    try {
        ids = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw FormatError(bad);
    }
    if (!ids.is_array()) throw FormatError(bad);
    std::vector<std::int32_t> out;
    for (const auto& id : ids) {
        if (!id.is_number_integer()) throw FormatError(bad);
        const std::int64_t v = id.is_number_unsigned() && id.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max()
                                   ? std::numeric_limits<std::int64_t>::max()
                                   : id.get<std::int64_t>();
        if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
            throw FormatError(path + ": token id " + std::to_string(v) + " is out of range");
        out.push_back(static_cast<std::int32_t>(v));
    }
    return out;
}

PromptValue readPromptInput(const PromptInput& in)
{
    PromptValue p;
    if (!in.text.empty()) p.text = in.text;
    else if (!in.file.empty()) p.text = core::readFileBytes(in.file);
    else if (!in.tokenIdsFile.empty()) p.tokenIds = readTokenIdsFile(in.tokenIdsFile);
    else throw ArgumentError("give the prompt with --prompt, --prompt-file or --token-ids");
    return p;
}

} // namespace sparsetrace::cli
