// Fuzz target: the safetensors reader (headers, offsets, shapes) and tensor access.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "fuzz_entry.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/safetensors.h"

#include <cstring>

int fuzzOne(const std::uint8_t* data, std::size_t size)
{
    using namespace sparsetrace;
    std::vector<std::byte> bytes(size);
    if (size) std::memcpy(bytes.data(), data, size);
    try {
        auto f = core::SafetensorsFile::fromMapped(core::MappedFile::fromBytes("fuzz-input", std::move(bytes)));
        std::uint64_t sum = 0;
        for (const auto& t : f.tensors()) {
            auto d = f.data(t);
            for (std::byte b : d) sum += static_cast<std::uint8_t>(b); // touches every byte claimed
            (void)t.numel();
        }
        (void)sum;
    } catch (const Error&) {
    }
    return 0;
}
