// sparsetrace: the command-line interface (no Qt). Errors print one line and exit 1.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/version.h"

#include <iostream>

int main(int argc, char** argv)
{
    CLI::App app{"SparseTrace: sparse attention tracing for long-context language models", "sparsetrace"};
    app.set_version_flag("--version", std::string("sparsetrace ") + sparsetrace::kVersion);
    app.require_subcommand(1);
    sparsetrace::cli::Runner run;
    sparsetrace::cli::addInfoCommand(app, run);
    sparsetrace::cli::addTraceCommands(app, run);
    sparsetrace::cli::addNiahCommand(app, run);
    sparsetrace::cli::addAnchorsCommand(app, run);
    sparsetrace::cli::addRoutesCommand(app, run);
    sparsetrace::cli::addNiahMergeCommand(app, run);
    sparsetrace::cli::addLabelAgreementCommand(app, run);
    sparsetrace::cli::addTokenizeCommand(app, run);
    sparsetrace::cli::addGenerateCommand(app, run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        return run ? run() : 0;
    } catch (const sparsetrace::Cancelled&) {
        std::cerr << "sparsetrace: cancelled\n";
        return 130;
    } catch (const std::exception& e) {
        std::cerr << "sparsetrace: error: " << e.what() << "\n";
        return 1;
    }
}
