// NIAH sweep tables: JSON/CSV forms, shards, merge, resume and the sweep driver (niah_sweep.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/niah_sweep.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/sentences.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/core/trace_file.h"

#include "format/json_checked.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace sparsetrace::core {

using nlohmann::json;

namespace {

template <class T> T getField(const json& j, const char* key, const std::string& what)
{
    if (!j.is_object() || !j.contains(key)) throw FormatError(what + ": missing \"" + key + "\"");
    auto v = jsonAs<T>(j.at(key));
    if (!v) throw FormatError(what + ": \"" + key + "\" has the wrong type or is out of range");
    return std::move(*v);
}

std::string shortest(double v)
{
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 27);
}

std::string csvField(const std::string& s)
{
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

const std::vector<std::string>& csvColumns()
{
    static const std::vector<std::string> cols = {"index",      "length",  "depth",     "k",
                                                  "key",        "value",   "retrieved", "dense_retrieved", "prompt_tokens",
                                                  "needle_char_start", "needle_char_end", "sparsity", "generated",
                                                  "trace"};
    return cols;
}

void writeText(const std::filesystem::path& path, const std::string& text)
{
    AtomicFileWriter w(path.string());
    w.write(text.data(), text.size());
    w.commit();
}

} // namespace

void NiahSweepSpec::validate() const
{
    if (lengths.empty() || depths.empty() || ks.empty())
        throw ArgumentError("NIAH sweep: lengths, depths and K each need at least one value");
    for (auto l : lengths)
        if (l < 1) throw ArgumentError("NIAH sweep: lengths must be positive, got " + std::to_string(l));
    for (double d : depths)
        if (!(d >= 0.0 && d <= 100.0)) throw ArgumentError("NIAH sweep: depths must lie in [0, 100], got " + shortest(d));
    for (int k : ks)
        if (k < 1) throw ArgumentError("NIAH sweep: K must be at least 1, got " + std::to_string(k));
    if (tokensToGenerate < 1) throw ArgumentError("NIAH sweep: tokens to generate must be at least 1");
    if (haystack.empty()) throw ArgumentError("NIAH sweep: no haystack");
    auto unique = [](auto v) {
        std::sort(v.begin(), v.end());
        return std::adjacent_find(v.begin(), v.end()) == v.end();
    };
    if (!unique(lengths) || !unique(depths) || !unique(ks)) throw ArgumentError("NIAH sweep: a length, depth or K is listed twice");
}

json NiahSweepSpec::toJson() const
{
    return {{"model", model},   {"haystack", haystack}, {"lengths", lengths},
            {"depths", depths}, {"ks", ks},             {"seed", seed},
            {"tokens_to_generate", tokensToGenerate},   {"extra", extra}};
}

NiahSweepSpec NiahSweepSpec::fromJson(const json& j, const std::string& what)
{
    NiahSweepSpec s;
    s.model = getField<std::string>(j, "model", what);
    s.haystack = getField<std::string>(j, "haystack", what);
    s.lengths = getField<std::vector<std::int64_t>>(j, "lengths", what);
    s.depths = getField<std::vector<double>>(j, "depths", what);
    s.ks = getField<std::vector<int>>(j, "ks", what);
    s.seed = getField<std::uint64_t>(j, "seed", what);
    s.tokensToGenerate = getField<std::int64_t>(j, "tokens_to_generate", what);
    s.extra = j.contains("extra") ? j["extra"] : json::object();
    // Tables written before trace format 2 name the score rule "representative" in their params.
    if (s.extra.is_object() && s.extra.contains("params") && s.extra["params"].is_object()) {
        json& params = s.extra["params"];
        if (params.contains("representative") && !params.contains("score")) {
            params["score"] = params["representative"];
            params.erase("representative");
        }
    }
    try {
        s.validate();
    } catch (const ArgumentError& e) {
        throw FormatError(what + ": " + e.what());
    }
    return s;
}

NiahCellKey niahCell(const NiahSweepSpec& spec, std::size_t index)
{
    if (index >= spec.cellCount())
        throw ArgumentError("NIAH cell " + std::to_string(index) + " out of range (" + std::to_string(spec.cellCount()) + " cells)");
    const std::size_t nk = spec.ks.size(), nd = spec.depths.size();
    return {index, spec.lengths[index / (nk * nd)], spec.depths[(index / nk) % nd], spec.ks[index % nk]};
}

std::uint64_t niahCellSeed(const NiahSweepSpec& spec, const NiahCellKey& cell)
{
    std::uint64_t h = mix(spec.seed, static_cast<std::uint64_t>(cell.length));
    return mix(h, static_cast<std::uint64_t>(std::llround(cell.depth * 1e6)));
}

json NiahCellResult::toJson() const
{
    return {{"index", cell.index},
            {"length", cell.length},
            {"depth", cell.depth},
            {"k", cell.k},
            {"key", key},
            {"value", value},
            {"retrieved", retrieved},
            {"dense_retrieved", denseRetrieved ? json(*denseRetrieved) : json(nullptr)},
            {"prompt_tokens", promptTokens},
            {"needle_char_start", needleCharStart},
            {"needle_char_end", needleCharEnd},
            {"sparsity", sparsity},
            {"generated", generated},
            {"trace", tracePath}};
}

NiahCellResult NiahCellResult::fromJson(const json& j, const std::string& what)
{
    NiahCellResult r;
    r.cell.index = getField<std::size_t>(j, "index", what);
    r.cell.length = getField<std::int64_t>(j, "length", what);
    r.cell.depth = getField<double>(j, "depth", what);
    r.cell.k = getField<int>(j, "k", what);
    r.key = getField<std::string>(j, "key", what);
    r.value = getField<std::string>(j, "value", what);
    r.retrieved = getField<bool>(j, "retrieved", what);
    // Tables written before the dense column existed have no "dense_retrieved": unknown.
    if (j.contains("dense_retrieved") && !j.at("dense_retrieved").is_null())
        r.denseRetrieved = getField<bool>(j, "dense_retrieved", what);
    r.promptTokens = getField<std::int64_t>(j, "prompt_tokens", what);
    r.needleCharStart = getField<std::int64_t>(j, "needle_char_start", what);
    r.needleCharEnd = getField<std::int64_t>(j, "needle_char_end", what);
    r.sparsity = getField<double>(j, "sparsity", what);
    r.generated = getField<std::string>(j, "generated", what);
    r.tracePath = getField<std::string>(j, "trace", what);
    return r;
}

NiahShard NiahShard::parse(const std::string& text)
{
    const auto slash = text.find('/');
    auto number = [&](std::string_view s, int& out) {
        auto r = std::from_chars(s.data(), s.data() + s.size(), out);
        return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
    };
    NiahShard s;
    if (slash == std::string::npos || !number(std::string_view(text).substr(0, slash), s.index) ||
        !number(std::string_view(text).substr(slash + 1), s.count) || s.count < 1 || s.index < 0 || s.index >= s.count)
        throw ArgumentError("shard must be I/N with 0 <= I < N (for example 0/4), got \"" + text + "\"");
    return s;
}

NiahTable::NiahTable(NiahSweepSpec spec) : m_spec(std::move(spec)) { m_spec.validate(); }

bool NiahTable::has(std::size_t cellIndex) const
{
    return std::binary_search(m_cells.begin(), m_cells.end(), cellIndex,
                              [](const auto& a, const auto& b) {
                                  if constexpr (std::is_same_v<std::decay_t<decltype(a)>, std::size_t>) return a < b.cell.index;
                                  else return a.cell.index < b;
                              });
}

void NiahTable::put(NiahCellResult result)
{
    const NiahCellKey expected = niahCell(m_spec, result.cell.index);
    if (expected.length != result.cell.length || expected.depth != result.cell.depth || expected.k != result.cell.k)
        throw ArgumentError("NIAH cell " + std::to_string(result.cell.index) + " does not match the sweep's grid");
    auto it = std::lower_bound(m_cells.begin(), m_cells.end(), result.cell.index,
                               [](const NiahCellResult& c, std::size_t i) { return c.cell.index < i; });
    if (it != m_cells.end() && it->cell.index == result.cell.index) *it = std::move(result);
    else m_cells.insert(it, std::move(result));
}

json NiahTable::toJson() const
{
    json cells = json::array();
    for (const auto& c : m_cells) cells.push_back(c.toJson());
    std::size_t retrieved = 0, denseRetrieved = 0;
    for (const auto& c : m_cells) {
        retrieved += c.retrieved ? 1 : 0;
        denseRetrieved += c.denseRetrieved.value_or(false) ? 1 : 0;
    }
    return {{"format", kNiahTableFormat},
            {"format_version", kNiahTableVersion},
            {"spec", m_spec.toJson()},
            {"cells_total", m_spec.cellCount()},
            {"cells_done", m_cells.size()},
            {"retrieved", retrieved},
            {"dense_retrieved", denseRetrieved},
            {"cells", cells}};
}

NiahTable NiahTable::fromJson(const json& j, const std::string& what)
{
    // json::value() would throw its own type_error for a "format" that is not a string.
    if (!j.is_object() || !j.contains("format") || jsonAs<std::string>(j.at("format")) != kNiahTableFormat)
        throw FormatError(what + ": not a SparseTrace NIAH table (format \"" + std::string(kNiahTableFormat) + "\")");
    const json version = j.value("format_version", json(0));
    if (jsonAs<int>(version) != kNiahTableVersion)
        throw FormatError(what + ": NIAH table version " + version.dump() + " is not supported");
    NiahTable t(NiahSweepSpec::fromJson(getField<json>(j, "spec", what), what + ": spec"));
    const json cells = getField<json>(j, "cells", what);
    if (!cells.is_array()) throw FormatError(what + ": \"cells\" must be a list");
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const std::string where = what + ": cell " + std::to_string(i);
        NiahCellResult r = NiahCellResult::fromJson(cells[i], where);
        if (t.has(r.cell.index)) throw FormatError(where + ": cell index " + std::to_string(r.cell.index) + " appears twice");
        try {
            t.put(std::move(r));
        } catch (const ArgumentError& e) {
            throw FormatError(where + ": " + e.what());
        }
    }
    return t;
}

std::string NiahTable::toCsv() const
{
    std::string out;
    const auto& cols = csvColumns();
    for (std::size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cols[i];
    out += "\n";
    for (const auto& c : m_cells) {
        const std::vector<std::string> f = {std::to_string(c.cell.index), std::to_string(c.cell.length), shortest(c.cell.depth),
                                            std::to_string(c.cell.k), c.key, c.value, c.retrieved ? "1" : "0",
                                            c.denseRetrieved ? (*c.denseRetrieved ? "1" : "0") : "",
                                            std::to_string(c.promptTokens), std::to_string(c.needleCharStart),
                                            std::to_string(c.needleCharEnd), shortest(c.sparsity), c.generated, c.tracePath};
        for (std::size_t i = 0; i < f.size(); ++i) out += (i ? "," : "") + csvField(f[i]);
        out += "\n";
    }
    return out;
}

std::vector<NiahCellResult> NiahTable::cellsFromCsv(std::string_view csv, const std::string& what)
{
    // RFC 4180 records: fields separated by commas, quoted when they hold commas, quotes or newlines.
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < csv.size(); ++i) {
        const char c = csv[i];
        if (quoted) {
            if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') field += '"', ++i;
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"') {
            quoted = any = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') ++i;
            row.push_back(std::move(field));
            field.clear();
            rows.push_back(std::move(row));
            row.clear();
            any = false;
        } else {
            field += c;
            any = true;
        }
    }
    if (quoted) throw FormatError(what + ": unterminated quoted field");
    if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    if (rows.empty() || rows[0] != csvColumns()) throw FormatError(what + ": not a NIAH table CSV (unexpected header)");
    std::vector<NiahCellResult> out;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const auto& f = rows[r];
        const std::string where = what + ": line " + std::to_string(r + 1);
        if (f.size() != csvColumns().size())
            throw FormatError(where + ": " + std::to_string(f.size()) + " fields, expected " + std::to_string(csvColumns().size()));
        auto integer = [&](const std::string& s) {
            std::int64_t v = 0;
            auto res = std::from_chars(s.data(), s.data() + s.size(), v);
            if (res.ec != std::errc() || res.ptr != s.data() + s.size()) throw FormatError(where + ": \"" + s + "\" is not an integer");
            return v;
        };
        auto real = [&](const std::string& s) {
            double v = 0;
            auto res = std::from_chars(s.data(), s.data() + s.size(), v);
            if (res.ec != std::errc() || res.ptr != s.data() + s.size()) throw FormatError(where + ": \"" + s + "\" is not a number");
            return v;
        };
        NiahCellResult c;
        c.cell.index = static_cast<std::size_t>(integer(f[0]));
        c.cell.length = integer(f[1]);
        c.cell.depth = real(f[2]);
        c.cell.k = static_cast<int>(integer(f[3]));
        c.key = f[4];
        c.value = f[5];
        if (f[6] != "0" && f[6] != "1") throw FormatError(where + ": retrieved must be 0 or 1");
        c.retrieved = f[6] == "1";
        if (f[7] != "" && f[7] != "0" && f[7] != "1") throw FormatError(where + ": dense_retrieved must be 0, 1 or empty");
        if (!f[7].empty()) c.denseRetrieved = f[7] == "1";
        c.promptTokens = integer(f[8]);
        c.needleCharStart = integer(f[9]);
        c.needleCharEnd = integer(f[10]);
        c.sparsity = real(f[11]);
        c.generated = f[12];
        c.tracePath = f[13];
        out.push_back(std::move(c));
    }
    return out;
}

void NiahTable::writeJson(const std::filesystem::path& path) const { writeText(path, toJson().dump(1) + "\n"); }
void NiahTable::writeCsv(const std::filesystem::path& path) const { writeText(path, toCsv()); }

NiahTable NiahTable::readJson(const std::filesystem::path& path)
{
    return fromJson(readJsonFile(path, "the NIAH table"), path.string());
}

std::string niahScoreRule(const NiahSweepSpec& spec)
{
    if (!spec.extra.is_object() || !spec.extra.contains("params")) return {};
    const json& params = spec.extra.at("params");
    if (!params.is_object() || !params.contains("score") || !params.at("score").is_string()) return {};
    return params.at("score").get<std::string>();
}

namespace {
// Cells traced with one score rule cannot join a table of another: the message names both.
void requireSameScoreRule(const NiahSweepSpec& earlier, const NiahSweepSpec& now, const std::string& what)
{
    const std::string a = niahScoreRule(earlier), b = niahScoreRule(now);
    if (a != b)
        throw ArgumentError(what + ": score rule \"" + (a.empty() ? "unknown" : a) + "\" against \"" +
                            (b.empty() ? "unknown" : b) + "\"; cells traced with two rules cannot share a table");
}
} // namespace

NiahTable mergeNiahTables(const std::vector<NiahTable>& shards)
{
    if (shards.empty()) throw ArgumentError("NIAH merge: no table given");
    NiahTable merged(shards.front().spec());
    for (std::size_t s = 0; s < shards.size(); ++s) {
        requireSameScoreRule(merged.spec(), shards[s].spec(),
                             "NIAH merge: table 1 and table " + std::to_string(s + 1) + " were traced differently");
        if (!(shards[s].spec() == merged.spec()))
            throw ArgumentError("NIAH merge: table " + std::to_string(s + 1) + " belongs to a different sweep (its spec differs)");
        for (const auto& c : shards[s].cells()) {
            if (merged.has(c.cell.index)) {
                const auto& existing = *std::find_if(merged.cells().begin(), merged.cells().end(),
                                                     [&](const NiahCellResult& e) { return e.cell.index == c.cell.index; });
                if (!(existing == c))
                    throw ArgumentError("NIAH merge: cell " + std::to_string(c.cell.index) + " has different results in two tables");
                continue;
            }
            merged.put(c);
        }
    }
    return merged;
}

NiahTable runNiahSweep(const NiahSweepSpec& spec, const NiahShard& shard, const std::filesystem::path& outDir,
                       const Haystack& haystack, const TokenCounter& countTokens, const NiahCellRunner& runner,
                       const std::function<void(const NiahSweepProgress&)>& progress, std::stop_token stop)
{
    spec.validate();
    if (!runner) throw ArgumentError("NIAH sweep: no cell runner");
    if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count) throw ArgumentError("NIAH sweep: invalid shard");
    std::error_code ec;
    std::filesystem::create_directories(outDir, ec);
    if (ec) throw IoError(outDir.string() + ": cannot create the output folder (" + ec.message() + ")");
    const auto jsonPath = outDir / kNiahTableJson;
    const auto csvPath = outDir / kNiahTableCsv;

    NiahTable table(spec);
    if (std::filesystem::exists(jsonPath)) {
        NiahTable earlier = NiahTable::readJson(jsonPath);
        requireSameScoreRule(earlier.spec(), spec,
                             jsonPath.string() + " holds cells of an earlier sweep traced differently (choose another output folder)");
        if (!(earlier.spec() == spec))
            throw ArgumentError(jsonPath.string() + " belongs to a different sweep (other model, haystack, grid or seed): "
                                "choose another output folder");
        table = std::move(earlier);
    }

    NiahSweepProgress p;
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < spec.cellCount(); ++i) {
        if (!shard.holds(i)) continue;
        ++p.total;
        if (table.has(i)) ++p.skipped;
        else todo.push_back(i);
    }
    p.done = p.skipped;
    if (progress) progress(p);
    for (std::size_t i : todo) {
        if (stop.stop_requested()) throw Cancelled();
        const NiahCellKey cell = niahCell(spec, i);
        NiahPromptSpec ps;
        ps.targetTokens = cell.length;
        ps.tokensToGenerate = spec.tokensToGenerate;
        ps.depth = cell.depth;
        ps.needle = drawNeedle(niahCellSeed(spec, cell));
        const NiahPrompt prompt = buildNiahPrompt(haystack, ps, countTokens);
        const NiahRunOutput run = runner(cell, prompt, stop);
        NiahCellResult r;
        r.cell = cell;
        r.key = prompt.needle.key;
        r.value = prompt.needle.value;
        r.retrieved = niahRetrieved(run.generated, prompt.needle.value);
        if (run.denseGenerated) r.denseRetrieved = niahRetrieved(*run.denseGenerated, prompt.needle.value);
        r.generated = run.generated;
        r.promptTokens = static_cast<std::int64_t>(prompt.promptTokens);
        r.needleCharStart = prompt.needleChars.start;
        r.needleCharEnd = prompt.needleChars.end;
        r.sparsity = run.sparsity;
        r.tracePath = run.tracePath;
        table.put(std::move(r));
        table.writeJson(jsonPath);
        table.writeCsv(csvPath);
        ++p.done;
        if (progress) progress(p);
    }
    if (todo.empty() && !std::filesystem::exists(csvPath)) table.writeCsv(csvPath);
    if (todo.empty() && !std::filesystem::exists(jsonPath)) table.writeJson(jsonPath);
    return table;
}

std::vector<std::int64_t> parseNiahLengths(const std::string& text)
{
    std::vector<std::int64_t> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        std::int64_t mult = 1;
        if (!item.empty() && (item.back() == 'k' || item.back() == 'K')) {
            mult = 1024;
            item.pop_back();
        }
        std::int64_t v = 0;
        auto r = std::from_chars(item.data(), item.data() + item.size(), v);
        if (item.empty() || r.ec != std::errc() || r.ptr != item.data() + item.size() || v < 1)
            throw ArgumentError("lengths: \"" + text + "\" is not a list like 2k,4k,8192");
        out.push_back(v * mult);
    }
    if (out.empty()) throw ArgumentError("lengths: empty list");
    return out;
}

std::vector<double> parseNiahDepths(const std::string& text)
{
    auto number = [&](const std::string& s) {
        double v = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
            throw ArgumentError("depths: \"" + text + "\" is not start:stop:step or a list like 0,50,100");
        return v;
    };
    std::vector<double> out;
    if (text.find(':') != std::string::npos) {
        std::vector<std::string> parts;
        std::stringstream ss(text);
        std::string p;
        while (std::getline(ss, p, ':')) parts.push_back(p);
        if (parts.size() != 3) throw ArgumentError("depths: \"" + text + "\" is not start:stop:step");
        const double a = number(parts[0]), b = number(parts[1]), step = number(parts[2]);
        if (!(step > 0) || b < a) throw ArgumentError("depths: need step > 0 and stop >= start in \"" + text + "\"");
        const auto n = static_cast<std::int64_t>(std::floor((b - a) / step + 1e-9));
        for (std::int64_t i = 0; i <= n; ++i) out.push_back(a + static_cast<double>(i) * step);
    } else {
        std::stringstream ss(text);
        std::string item;
        while (std::getline(ss, item, ',')) out.push_back(number(item));
    }
    for (double d : out)
        if (!(d >= 0 && d <= 100)) throw ArgumentError("depths must lie in [0, 100] percent, got " + shortest(d));
    if (out.empty()) throw ArgumentError("depths: empty list");
    return out;
}

NiahSweepSpec tracedSweepSpec(const NiahTracedSweep& sweep)
{
    NiahSweepSpec spec = sweep.spec;
    const std::filesystem::path dir = std::filesystem::path(sweep.base.modelDir).lexically_normal();
    spec.model = dir.filename().string();
    if (spec.model.empty()) spec.model = dir.parent_path().filename().string();
    spec.haystack = sweep.haystack;
    spec.extra = {{"params", sweep.base.params.toJson()}, {"device", sweep.base.device}, {"dtype", sweep.base.dtype}};
    return spec;
}

NiahTable runTracedNiahSweep(NiahTracedSweep sweep, const NiahTraceFn& trace,
                             const std::function<void(const NiahSweepProgress&)>& progress, std::stop_token stop)
{
    if (!trace) throw ArgumentError("NIAH sweep: no tracing function");
    sweep.spec = tracedSweepSpec(sweep);
    const NiahSweepSpec& spec = sweep.spec;
    spec.validate();
    sweep.base.params.validate();
    const Haystack haystack = Haystack::fromSpec(sweep.haystack);
    const Tokenizer tokenizer = Tokenizer::fromModelDir(sweep.base.modelDir);
    const TokenCounter count = [&](std::string_view text) { return tokenizer.encode(text).ids.size(); };
    if (sweep.keepTraces) {
        std::error_code ec;
        std::filesystem::create_directories(sweep.outDir / "traces", ec);
        if (ec) throw IoError((sweep.outDir / "traces").string() + ": cannot create the folder (" + ec.message() + ")");
    }
    const NiahCellRunner runner = [&](const NiahCellKey& cell, const NiahPrompt& prompt, std::stop_token cellStop) {
        TraceRequest r = sweep.base;
        r.prompt = prompt.text;
        r.tokenIds.clear();
        r.params.k = cell.k;
        r.checkTokens = static_cast<int>(spec.tokensToGenerate);
        // The needle's token span, from the same tokenizer the engine uses.
        const Encoding e = tokenizer.encode(prompt.text);
        TokenTable table;
        table.ids = e.ids;
        for (const auto& [a, b] : e.offsets) table.offsets.push_back({static_cast<std::int32_t>(a), static_cast<std::int32_t>(b)});
        table.strings.resize(table.ids.size());
        r.annotations["needle"] = needleAnnotation(prompt, tokenSpanOfChars(table, prompt.needleChars));
        const std::shared_ptr<OwnedTrace> t = trace(r, cellStop);
        if (!t) throw ArgumentError("NIAH sweep: the tracer returned no trace");
        NiahRunOutput out;
        if (t->info().behaviour) {
            out.generated = tokenizer.decode(t->info().behaviour->sparseTokens, /*skipSpecialTokens=*/true);
            out.denseGenerated = tokenizer.decode(t->info().behaviour->denseTokens, /*skipSpecialTokens=*/true);
        }
        out.sparsity = traceSparsity(*t).sparsity();
        if (sweep.keepTraces) {
            const std::filesystem::path path = sweep.outDir / "traces" / ("cell-" + std::to_string(cell.index) + ".sptrace");
            writeTraceFile(*t, path.string());
            out.tracePath = std::filesystem::relative(path, sweep.outDir).string();
        }
        return out;
    };
    return runNiahSweep(spec, sweep.shard, sweep.outDir, haystack, count, runner, progress, stop);
}

} // namespace sparsetrace::core
