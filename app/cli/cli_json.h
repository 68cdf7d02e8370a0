// Small helpers shared by the analysis subcommands: reading JSON files (core/read_file.h) and
// writing JSON output atomically (stdout when the path is "-").
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/read_file.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace sparsetrace::cli {

using core::readJsonFile;

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
