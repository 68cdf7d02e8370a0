// Fuzz target: the Thought Anchors labels file (chunks_labeled.json) as parseChunkLabels reads
// it, and the assignment of its labels to the sentences of a fixed chain of thought.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "fuzz_entry.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/sentences.h"
#include "sparsetrace/core/thought_anchors.h"

#include <nlohmann/json.hpp>

#include <string_view>

int fuzzOne(const std::uint8_t* data, std::size_t size)
{
    using namespace sparsetrace;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    } catch (const nlohmann::json::exception&) {
        return 0; // readChunkLabels turns this into a FormatError; the JSON parser is not ours
    }
    try {
        const auto labels = core::parseChunkLabels(j, "chunks_labeled.json");
        std::vector<core::Sentence> sentences(3);
        sentences[0].text = "Let x be 3.";
        sentences[1].text = "Then 2x = 6.";
        sentences[2].text = "The answer is 6.";
        std::size_t unmatched = 0;
        (void)core::assignLabels(sentences, labels, unmatched);
    } catch (const Error&) {
    }
    return 0;
}
