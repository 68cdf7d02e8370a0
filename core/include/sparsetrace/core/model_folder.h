// What a Hugging Face model folder holds, checked without loading weights: the architecture and
// shape from config.json, the weight files' size and dtypes from their safetensors headers, and
// whether tokenizer.json loads. The explorer's New Trace dialog shows it as a folder is chosen.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/model_config.h"

#include <cstdint>
#include <string>

namespace sparsetrace::core {

struct ModelFolderSummary {
    std::string dir;
    ModelConfig config;
    std::int64_t parameters = 0;     // from the config's shapes
    std::int64_t weightBytes = 0;    // bytes of the weight files (0 when none)
    std::string weightDtypes;        // "BF16", "F32 + BF16", ... (empty when no weights)
    int weightFiles = 0;             // model.safetensors or the shards of the index
    std::string weightsProblem;      // why the weights cannot be read (empty when they can)
    bool tokenizerFound = false;
    std::int64_t tokenizerVocab = 0;
    bool chatTemplate = false;       // tokenizer_config.json has a chat template we render
    std::string tokenizerProblem;    // why tokenizer.json cannot be used (empty when it can)

    // Ready for a traced text prompt: weights readable and tokenizer loaded.
    bool usable() const { return weightsProblem.empty() && tokenizerProblem.empty(); }
    // One line for a dialog: "LlamaForCausalLM, 5 layers x 8 heads, 0.26 M parameters, 1.0 MiB F32".
    std::string describe() const;
};

// Throws ModelError / IoError when config.json is missing or unusable (the message names the
// file and key); problems with the weights or the tokenizer are reported in the summary.
ModelFolderSummary inspectModelFolder(const std::string& dir);

} // namespace sparsetrace::core
