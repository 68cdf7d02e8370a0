// `sparsetrace tokenize`: encodes text with a model folder's tokenizer.json and prints ids,
// code point offsets into the text, and token strings (a table, or JSON with --json).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"
#include "sparsetrace/core/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace sparsetrace::cli {

namespace {

struct TokenizeOptions {
    std::string modelDir;
    std::string tokenizerFile;
    std::string text;
    std::string textFile;
    bool haveText = false;
    bool asJson = false;
    bool chat = false;
};

// A token string made printable on one line: control characters are escaped.
std::string printable(std::string_view s)
{
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c == '\\') out += "\\\\";
        else if (u < 0x20 || u == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", u);
            out += buf;
        } else out.push_back(c);
    }
    return out;
}

int runTokenize(const TokenizeOptions& o)
{
    if (o.modelDir.empty() == o.tokenizerFile.empty())
        throw ArgumentError("tokenize: give exactly one of --model DIR or --tokenizer FILE");
    if (o.haveText == !o.textFile.empty())
        throw ArgumentError("tokenize: give exactly one of --text TEXT or --text-file FILE");
    std::string text = o.text;
    if (!o.textFile.empty()) {
        text = core::readFileBytes(o.textFile);
    }
    const core::Tokenizer tok = o.modelDir.empty() ? core::Tokenizer::fromFile(o.tokenizerFile)
                                                   : core::Tokenizer::fromModelDir(o.modelDir);
    std::string encoded = text;
    core::Encoding enc;
    if (o.chat) {
        encoded = tok.formatChat(text);
        enc = tok.encode(encoded, false);
    } else {
        enc = tok.encode(text);
    }

    if (o.asJson) {
        nlohmann::json j;
        j["ids"] = enc.ids;
        nlohmann::json offsets = nlohmann::json::array();
        nlohmann::json tokens = nlohmann::json::array();
        for (std::size_t i = 0; i < enc.ids.size(); ++i) {
            offsets.push_back({enc.offsets[i].first, enc.offsets[i].second});
            tokens.push_back(std::string(tok.idToToken(enc.ids[i])));
        }
        j["offsets"] = offsets;
        j["tokens"] = tokens;
        if (o.chat) {
            j["text"] = encoded; // offsets refer to the rendered prompt
            j["chat_format"] = core::chatFormatName(tok.chatFormat());
        }
        // Byte-level token strings are valid UTF-8; a byte-fallback vocabulary may hold none
        // that are not, but replace rather than abort if one does.
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    if (o.chat) std::printf("prompt (%s): %s\n", core::chatFormatName(tok.chatFormat()), printable(encoded).c_str());
    std::printf("%zu tokens\n%6s %8s %14s  %s\n", enc.ids.size(), "index", "id", "chars", "token");
    for (std::size_t i = 0; i < enc.ids.size(); ++i) {
        char span[32];
        std::snprintf(span, sizeof span, "[%u, %u)", enc.offsets[i].first, enc.offsets[i].second);
        std::printf("%6zu %8d %14s  %s\n", i, enc.ids[i], span, printable(tok.idToToken(enc.ids[i])).c_str());
    }
    return 0;
}

} // namespace

void addTokenizeCommand(CLI::App& app, Runner& run)
{
    auto* cmd = app.add_subcommand("tokenize", "Encode text with a model's tokenizer.json: ids, offsets, tokens");
    auto o = std::make_shared<TokenizeOptions>();
    auto* model = cmd->add_option("--model", o->modelDir, "Model folder holding tokenizer.json");
    auto* file = cmd->add_option("--tokenizer", o->tokenizerFile, "A tokenizer.json file");
    model->excludes(file);
    auto* text = cmd->add_option("--text", o->text, "Text to encode");
    auto* textFile = cmd->add_option("--text-file", o->textFile, "File whose UTF-8 content is encoded");
    text->excludes(textFile);
    cmd->add_flag("--json", o->asJson, "Print {\"ids\", \"offsets\", \"tokens\"} as JSON (offsets in code points)");
    cmd->add_flag("--chat", o->chat,
                  "Wrap the text as one user message in the model's chat template (with the generation prompt)");
    cmd->callback([&run, o, text] {
        o->haveText = text->count() > 0;
        run = [o] { return runTokenize(*o); };
    });
}

} // namespace sparsetrace::cli
