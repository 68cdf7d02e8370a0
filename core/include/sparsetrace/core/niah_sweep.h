// Needle-in-a-haystack sweeps (spec section 7): the grid lengths x depths x K, its table of
// results (JSON, the source of truth, and CSV), resuming an interrupted sweep, slicing it into
// shards (--shard I/N) and merging shard tables into exactly the table an unsharded run writes.
// The tracing of a cell is not done here: runNiahSweep calls a NiahCellRunner, which the tracer
// provides (prompt in, generated text + sparsity + trace path out).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/niah.h"
#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_request.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace sparsetrace::core {

inline constexpr const char* kNiahTableFormat = "sparsetrace.niah-table";
inline constexpr int kNiahTableVersion = 1;

// What a sweep is: everything that decides its cells and their results. Two tables belong to
// the same sweep when their specs are equal.
struct NiahSweepSpec {
    std::string model;      // model folder name (provenance)
    std::string haystack;   // "noise" or the haystack file as given
    std::vector<std::int64_t> lengths; // context lengths in tokens
    std::vector<double> depths;        // percent
    std::vector<int> ks;               // K (searched key blocks) per cell
    std::uint64_t seed = 0;
    std::int64_t tokensToGenerate = 16;
    nlohmann::json extra = nlohmann::json::object(); // further settings of the runner (block sizes, ...)

    void validate() const; // ArgumentError
    std::size_t cellCount() const { return lengths.size() * depths.size() * ks.size(); }
    nlohmann::json toJson() const;
    static NiahSweepSpec fromJson(const nlohmann::json& j, const std::string& what); // FormatError
    bool operator==(const NiahSweepSpec& o) const { return toJson() == o.toJson(); }
};

// Cells are numbered in the order length (outer), depth, K (inner).
struct NiahCellKey {
    std::size_t index = 0;
    std::int64_t length = 0;
    double depth = 0;
    int k = 0;
};
NiahCellKey niahCell(const NiahSweepSpec& spec, std::size_t index);
// The needle of a cell depends on the seed, length and depth, not on K, so that every K of a
// (length, depth) pair answers the same question.
std::uint64_t niahCellSeed(const NiahSweepSpec& spec, const NiahCellKey& cell);

// What a runner reports for one traced cell.
struct NiahRunOutput {
    std::string generated;        // the generated text (decoded)
    double sparsity = 0.0;        // spec section 3, of the sparse run
    std::string tracePath;        // where the trace was written; empty when not kept
    std::optional<std::string> denseGenerated; // the dense model's text, when the run made one
};

struct NiahCellResult {
    NiahCellKey cell;
    std::string key;
    std::string value;
    bool retrieved = false;
    std::optional<bool> denseRetrieved; // the same prompt with dense attention (unknown: nullopt)
    std::string generated;
    std::int64_t promptTokens = 0;
    std::int64_t needleCharStart = 0;
    std::int64_t needleCharEnd = 0;
    double sparsity = 0.0;
    std::string tracePath;
    nlohmann::json toJson() const;
    static NiahCellResult fromJson(const nlohmann::json& j, const std::string& what);
    bool operator==(const NiahCellResult& o) const { return toJson() == o.toJson(); }
};

// A shard: cells whose index % count == index (round robin, so every shard gets a mix of
// lengths). Parsed from "I/N" with 0 <= I < N.
struct NiahShard {
    int index = 0;
    int count = 1;
    static NiahShard parse(const std::string& text); // ArgumentError
    bool holds(std::size_t cell) const { return static_cast<int>(cell % static_cast<std::size_t>(count)) == index; }
    std::string toString() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// The results table of a sweep (or of one shard of it). Cells are kept sorted by index.
class NiahTable {
public:
    NiahTable() = default;
    explicit NiahTable(NiahSweepSpec spec);
    const NiahSweepSpec& spec() const { return m_spec; }
    const std::vector<NiahCellResult>& cells() const { return m_cells; }
    bool has(std::size_t cellIndex) const;
    // Adds or replaces the result of a cell; ArgumentError when it does not belong to the spec.
    void put(NiahCellResult result);
    bool complete() const { return m_cells.size() == m_spec.cellCount(); }

    nlohmann::json toJson() const;
    static NiahTable fromJson(const nlohmann::json& j, const std::string& what); // FormatError
    std::string toCsv() const;
    // Reads a CSV written by toCsv back into cell results (spec not included: CSV holds cells only).
    static std::vector<NiahCellResult> cellsFromCsv(std::string_view csv, const std::string& what);

    // Atomic writes; read throws IoError / FormatError naming the path.
    void writeJson(const std::filesystem::path& path) const;
    void writeCsv(const std::filesystem::path& path) const;
    static NiahTable readJson(const std::filesystem::path& path);

private:
    NiahSweepSpec m_spec;
    std::vector<NiahCellResult> m_cells;
};

// The score rule ("centre", "first", "bound") recorded in a traced sweep's extra.params.score
// (tables from before trace format 2 say "representative", read as "score"); empty if none.
std::string niahScoreRule(const NiahSweepSpec& spec);

// Joins shard tables (same spec, cells disjoint or identical) into the table an unsharded run
// writes. ArgumentError for different specs or conflicting results of one cell.
NiahTable mergeNiahTables(const std::vector<NiahTable>& shards);

// File names inside a sweep's output folder.
inline constexpr const char* kNiahTableJson = "niah.json";
inline constexpr const char* kNiahTableCsv = "niah.csv";

// Runs one cell: trace `prompt` at `cell.k` and generate; provided by the tracer. May throw
// Cancelled when the stop token is set.
using NiahCellRunner = std::function<NiahRunOutput(const NiahCellKey& cell, const NiahPrompt& prompt, std::stop_token stop)>;

struct NiahSweepProgress {
    std::size_t done = 0;     // cells of this shard finished (including resumed ones)
    std::size_t total = 0;    // cells of this shard
    std::size_t skipped = 0;  // cells found finished in an earlier table and not rerun
};

// Runs the cells of `shard` not yet in `outDir`/niah.json: builds each prompt (haystack,
// templates, counter), calls the runner, scores, and rewrites niah.json and niah.csv after
// every cell so an interruption loses at most the cell in flight. An existing table must have
// the same spec (ArgumentError otherwise). Returns the table of this shard.
NiahTable runNiahSweep(const NiahSweepSpec& spec, const NiahShard& shard, const std::filesystem::path& outDir,
                       const Haystack& haystack, const TokenCounter& countTokens, const NiahCellRunner& runner,
                       const std::function<void(const NiahSweepProgress&)>& progress = {}, std::stop_token stop = {});

// A sweep whose cells are traced by one tracing function with the same request settings: what
// `sparsetrace niah` and the explorer's Run Needle Sweep both run. Every cell's request is
// `base` with the cell's prompt, K and needle annotation; its trace is kept under
// outDir/traces/cell-N.sptrace when keepTraces is set (the sweep view opens cells from there).
struct NiahTracedSweep {
    NiahSweepSpec spec; // spec.model, spec.extra are filled from `base` by runTracedNiahSweep
    TraceRequest base;  // model folder, Stream-Attn parameters, device, dtype, random weights
    std::string haystack = "noise"; // "noise" or a text file
    NiahShard shard;
    std::filesystem::path outDir;
    bool keepTraces = true;
};
using NiahTraceFn = std::function<std::shared_ptr<OwnedTrace>(const TraceRequest& request, std::stop_token stop)>;
// The spec the sweep's table records: sweep.spec with the model folder's name, the haystack
// and the request settings (block sizes, device, dtype) filled in.
NiahSweepSpec tracedSweepSpec(const NiahTracedSweep& sweep);
// Validates, builds the prompts with the model folder's tokenizer, traces and scores every cell
// of the shard not yet in outDir (resumable, as runNiahSweep).
NiahTable runTracedNiahSweep(NiahTracedSweep sweep, const NiahTraceFn& trace,
                             const std::function<void(const NiahSweepProgress&)>& progress = {}, std::stop_token stop = {});

// Parses "2k,4k,8192" (k = 1024) and "0:100:10" (start:stop:step, inclusive) / "0,50,100" lists.
std::vector<std::int64_t> parseNiahLengths(const std::string& text);
std::vector<double> parseNiahDepths(const std::string& text);

} // namespace sparsetrace::core
