// Small helpers shared by the analysis subcommands: reading JSON files and writing JSON output
// atomically (stdout when the path is "-").
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/mapped_file.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace sparsetrace::cli {

inline nlohmann::json readJsonFile(const std::string& path, const std::string& what)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError(path + ": cannot open the " + what);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(path + ": the " + what + " is not valid JSON (" + e.what() + ")");
    }
}

inline void writeJsonOutput(const nlohmann::json& j, const std::string& path)
{
    const std::string text = j.dump(1) + "\n";
    if (path == "-") {
        std::cout << text;
        return;
    }
    core::AtomicFileWriter w(path);
    w.write(text.data(), text.size());
    w.commit();
}

} // namespace sparsetrace::cli
