// Subcommands of the `sparsetrace` CLI: one file per command, each adding itself to the app.
// Exit codes: 0 success, 1 error (one line on stderr), 2 usage, 130 cancelled.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace sparsetrace::cli {

// Each add*Command registers a subcommand whose callback sets `run`.
using Runner = std::function<int()>;

void addInfoCommand(CLI::App& app, Runner& run);
void addTraceCommands(CLI::App& app, Runner& run); // trace, search-k
void addNiahCommand(CLI::App& app, Runner& run);
void addAnchorsCommand(CLI::App& app, Runner& run);
void addRoutesCommand(CLI::App& app, Runner& run);
void addNiahMergeCommand(CLI::App& app, Runner& run);
void addLabelAgreementCommand(CLI::App& app, Runner& run);
void addTokenizeCommand(CLI::App& app, Runner& run);
void addGenerateCommand(CLI::App& app, Runner& run);

} // namespace sparsetrace::cli
