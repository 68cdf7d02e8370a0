// `sparsetrace niah-merge SHARD... --out DIR`: joins the tables of `sparsetrace niah --shard I/N`
// runs (their output folders or niah.json files) into the table an unsharded run writes.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/niah_sweep.h"

#include <cstdio>
#include <filesystem>

namespace sparsetrace::cli {

namespace {

int runNiahMerge(const std::vector<std::string>& inputs, const std::string& outDir)
{
    std::vector<core::NiahTable> tables;
    for (const std::string& in : inputs) {
        std::filesystem::path p(in);
        if (std::filesystem::is_directory(p)) p /= core::kNiahTableJson;
        tables.push_back(core::NiahTable::readJson(p));
    }
    std::error_code ec;
    std::filesystem::create_directories(outDir, ec);
    if (ec) throw IoError(outDir + ": cannot create the output folder (" + ec.message() + ")");
    const std::filesystem::path out(outDir);
    // A table already in the output folder (an earlier merge, or an unsharded run that was
    // interrupted) joins the merge; one of another sweep is refused by the merge.
    if (std::filesystem::exists(out / core::kNiahTableJson)) tables.push_back(core::NiahTable::readJson(out / core::kNiahTableJson));
    const core::NiahTable merged = core::mergeNiahTables(tables);
    merged.writeJson(out / core::kNiahTableJson);
    merged.writeCsv(out / core::kNiahTableCsv);
    std::size_t retrieved = 0;
    for (const auto& c : merged.cells()) retrieved += c.retrieved ? 1 : 0;
    std::printf("merged %zu tables: %zu of %zu cells, %zu retrieved%s\n", tables.size(), merged.cells().size(),
                merged.spec().cellCount(), retrieved, merged.complete() ? "" : " (incomplete: some cells were not run)");
    return 0;
}

} // namespace

void addNiahMergeCommand(CLI::App& app, Runner& run)
{
    auto* cmd = app.add_subcommand("niah-merge", "Join the tables of sharded needle-in-a-haystack sweeps");
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("tables", *inputs, "Shard output folders or their niah.json files")->required();
    cmd->add_option("--out", *out, "Output folder for niah.json and niah.csv")->required();
    cmd->callback([&run, inputs, out] { run = [inputs, out] { return runNiahMerge(*inputs, *out); }; });
}

} // namespace sparsetrace::cli
