// Prompt sources resolved to text (see prompt_source.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/prompt_source.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/niah.h"
#include "sparsetrace/core/sentences.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/core/utf8.h"

namespace sparsetrace::core {

namespace {

std::string readUtf8File(const std::string& path)
{
    const auto file = MappedFile::open(path);
    std::string text(reinterpret_cast<const char*>(file->bytes().data()), file->size());
    if (!isValidUtf8(text)) throw ArgumentError(path + ": the text is not valid UTF-8");
    return text;
}

std::string stringField(const nlohmann::json& j, const char* key)
{
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

} // namespace

std::string chainOfThoughtText(const std::string& path)
{
    const std::string bytes = readUtf8File(path);
    const nlohmann::json j = nlohmann::json::parse(bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw FormatError(path + ": expected a JSON object (a Thought Anchors base_solution.json)");
    if (std::string full = stringField(j, "full_cot"); !full.empty()) return full;
    const std::string prompt = stringField(j, "prompt");
    std::string cot = stringField(j, "solution");
    if (cot.empty()) cot = stringField(j, "cot");
    if (prompt.empty() || cot.empty())
        throw FormatError(path + ": no chain of thought: expected \"full_cot\", or \"prompt\" with \"solution\" or \"cot\"");
    return prompt + cot;
}

ResolvedPrompt resolvePrompt(const PromptSource& source, const std::string& modelDir)
{
    ResolvedPrompt r;
    switch (source.kind) {
    case PromptSource::Kind::Text:
        if (!isValidUtf8(source.text)) throw ArgumentError("the prompt is not valid UTF-8");
        r.text = source.text;
        break;
    case PromptSource::Kind::TextFile:
        if (source.path.empty()) throw ArgumentError("choose the prompt's text file");
        r.text = readUtf8File(source.path);
        break;
    case PromptSource::Kind::ChainOfThought:
        if (source.path.empty()) throw ArgumentError("choose the chain of thought's JSON file");
        r.text = chainOfThoughtText(source.path);
        r.annotations = {{"chain_of_thought", {{"file", source.path}}}};
        break;
    case PromptSource::Kind::Needle: {
        const NeedleRecipe& n = source.needle;
        const Tokenizer tokenizer = Tokenizer::fromModelDir(modelDir);
        NiahPromptSpec spec;
        spec.targetTokens = n.targetTokens;
        spec.tokensToGenerate = n.tokensToGenerate;
        spec.depth = n.depth;
        spec.needle = drawNeedle(n.seed);
        const NiahPrompt prompt = buildNiahPrompt(Haystack::fromSpec(n.haystack), spec,
                                                  [&](std::string_view t) { return tokenizer.encode(t).ids.size(); });
        // The needle's token span, with the tokenizer and call the engine will use.
        const Encoding e = tokenizer.encode(prompt.text);
        TokenTable table;
        table.ids = e.ids;
        for (const auto& [a, b] : e.offsets) table.offsets.push_back({static_cast<std::int32_t>(a), static_cast<std::int32_t>(b)});
        table.strings.resize(table.ids.size());
        r.text = prompt.text;
        r.annotations = {{"needle", needleAnnotation(prompt, tokenSpanOfChars(table, prompt.needleChars))}};
        r.annotations["needle"]["haystack"] = n.haystack;
        r.annotations["needle"]["seed"] = n.seed;
        break;
    }
    }
    if (r.text.empty()) throw ArgumentError("the prompt is empty");
    return r;
}

} // namespace sparsetrace::core
