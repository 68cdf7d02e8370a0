// Fuzz target: the NIAH sweep files: a niah.json table (NiahTable::fromJson), its CSV form
// (cellsFromCsv), and merging the table with itself and with its re-read copy (niah-merge).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "fuzz_entry.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/niah_sweep.h"

#include <nlohmann/json.hpp>

#include <string_view>

int fuzzOne(const std::uint8_t* data, std::size_t size)
{
    using namespace sparsetrace;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    try {
        (void)core::NiahTable::cellsFromCsv(input, "niah.csv");
    } catch (const Error&) {
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(input);
    } catch (const nlohmann::json::exception&) {
        return 0; // readJson turns this into a FormatError; the JSON parser is not ours
    }
    try {
        const core::NiahTable t = core::NiahTable::fromJson(j, "niah.json");
        const std::string csv = t.toCsv();
        const auto cells = core::NiahTable::cellsFromCsv(csv, "niah.csv");
        if (cells.size() != t.cells().size()) __builtin_trap(); // the CSV must round-trip every cell
        const core::NiahTable again = core::NiahTable::fromJson(t.toJson(), "niah.json (rewritten)");
        (void)core::mergeNiahTables({t, again});
    } catch (const Error&) {
    }
    return 0;
}
