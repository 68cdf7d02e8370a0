// Fuzz target: the .sptrace reader, including lazy layer validation and the sparsity walk
// that trusts validated indices. Only sparsetrace::Error may escape as a clean rejection.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "fuzz_entry.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/trace_file.h"

#include <cstring>

int fuzzOne(const std::uint8_t* data, std::size_t size)
{
    using namespace sparsetrace;
    std::vector<std::byte> bytes(size);
    if (size) std::memcpy(bytes.data(), data, size);
    try {
        auto trace = core::TraceFile::open(core::MappedFile::fromBytes("fuzz-input", std::move(bytes)));
        for (int l = 0; l < trace->layers(); ++l) {
            try {
                core::LayerView v = trace->layer(l);
                for (int h = 0; h < v.heads; ++h) (void)core::headSparsity(trace->info(), l, v, h);
            } catch (const Error&) {
            }
        }
    } catch (const Error&) {
    }
    return 0;
}
