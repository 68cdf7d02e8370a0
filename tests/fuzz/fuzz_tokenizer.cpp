// Fuzz target: tokenizer.json loading, then encoding and decoding a fuzzer-chosen text. The
// input is split at its first NUL byte (which valid JSON text never holds): the tokenizer JSON
// before it, the text after it (a fixed sentence when there is no NUL).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "fuzz_entry.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/tokenizer.h"

#include <algorithm>
#include <string_view>

int fuzzOne(const std::uint8_t* data, std::size_t size)
{
    using namespace sparsetrace;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = input.find('\0');
    const std::string_view json = input.substr(0, nul);
    const std::string_view text = nul == std::string_view::npos ? std::string_view("Hello, world! 12 tokens\n<|endoftext|>")
                                                                : input.substr(nul + 1);
    try {
        const auto tok = core::Tokenizer::fromJson(json, {}, "fuzz-tokenizer.json");
        for (bool special : {true, false}) {
            try {
                const core::Encoding e = tok.encode(text, special);
                if (e.ids.size() != e.offsets.size() || e.ids.size() != e.special.size()) __builtin_trap();
                (void)tok.decode(e.ids, false);
                (void)tok.decode(e.ids, true);
                for (std::int32_t id : e.ids) (void)tok.idToToken(id);
            } catch (const Error&) {
            }
        }
        // Ids from the text bytes, some out of range: decode must refuse them cleanly.
        std::vector<std::int32_t> ids; // [min(|text|, 64)] int32
        for (std::size_t i = 0; i < std::min<std::size_t>(text.size(), 64); ++i)
            ids.push_back(static_cast<std::int32_t>(static_cast<std::uint8_t>(text[i])) * 7 - 50);
        try {
            (void)tok.decode(ids, false);
        } catch (const Error&) {
        }
        (void)tok.vocabSize();
        (void)tok.tokenToId(text);
    } catch (const Error&) {
    }
    return 0;
}
