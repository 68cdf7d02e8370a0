// Reading a whole file, and a whole JSON file, with one typed error each: the one helper behind
// every "read a file, parse JSON, say which file is wrong" of the readers and the CLI.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace sparsetrace::core {

// The file's bytes. Throws OpenError "PATH: cannot open[ WHAT]" (`what` e.g. "the labels file").
template <class OpenError = IoError>
std::string readFileBytes(const std::filesystem::path& path, std::string_view what = {})
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw OpenError(path.string() + ": cannot open" + (what.empty() ? std::string() : " " + std::string(what)));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The file parsed as JSON. Throws OpenError as readFileBytes, and ParseError
// "PATH: not valid JSON (the parser's message)".
template <class OpenError = IoError, class ParseError = FormatError>
nlohmann::json readJsonFile(const std::filesystem::path& path, std::string_view what = {})
{
    const std::string text = readFileBytes<OpenError>(path, what);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw ParseError(path.string() + ": not valid JSON (" + e.what() + ")");
    }
}

} // namespace sparsetrace::core
