// Fuzz target: config.json parsing (ModelConfig::fromJson) and the derived quantities the engine
// sizes its tensors from (parameter count, attention scale, summary).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "fuzz_entry.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/model_config.h"

#include <string_view>

int fuzzOne(const std::uint8_t* data, std::size_t size)
{
    using namespace sparsetrace;
    try {
        const auto c = core::ModelConfig::fromJson(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
        (void)c.parameterCount();
        (void)c.attentionScale();
        (void)c.summary();
    } catch (const Error&) {
    }
    return 0;
}
