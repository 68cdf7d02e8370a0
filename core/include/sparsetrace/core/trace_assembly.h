// The torch-free half of a trace run: the prompt's tokens as the trace stores them, and the
// assembly of a trace from an engine's records (provenance, model shape, tokens and text with
// the generated ones appended, the behaviour check, annotations, per-head statistics). The
// tracer (gpu/src/tracer) calls it for every k-search probe and for the final trace.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/model_config.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/core/trace.h"
#include "sparsetrace/core/trace_request.h"
#include "sparsetrace/core/trace_timings.h"

#include <array>
#include <cstdint>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sparsetrace::core {

// Tokens of the prompt with their text spans (code points), as the trace stores them.
struct PreparedPrompt {
    std::string text;
    std::vector<std::int32_t> ids;
    std::vector<std::array<std::int32_t, 2>> offsets;
    std::vector<std::string> strings;
};

// Tokenizes the request's prompt (its chat template with `chat`), or takes its token ids with
// the text they decode to one by one. `tokenizer` may be null (token ids only; empty strings).
// Throws ModelError for a prompt text without a tokenizer, ArgumentError for an empty prompt.
PreparedPrompt preparePrompt(const TraceRequest& request, const Tokenizer* tokenizer);

// Appends token `id` decoded on its own to `text`, whose length in code points `codePoints`
// tracks, and returns its span in code points. A token holding part of a multi-byte character
// (byte-level BPE) decodes to U+FFFD. The second form counts `text` first.
std::array<std::int32_t, 2> appendDecodedToken(std::string& text, std::int32_t& codePoints, const Tokenizer* tokenizer,
                                               std::int32_t id);
std::array<std::int32_t, 2> appendDecodedToken(std::string& text, const Tokenizer* tokenizer, std::int32_t id);

// The provenance's SHA-256 (hex) of a model folder's config.json and tokenizer.json (empty when
// the folder has no tokenizer.json). Throws IoError when a file cannot be read.
struct ModelFolderHashes {
    std::string config;
    std::string tokenizer;
};
ModelFolderHashes hashModelFolder(const std::string& modelDir);

// What a run knows besides its records; the pointers must outlive assembleTrace's calls.
struct TraceRunContext {
    const TraceRequest* request = nullptr;
    const ModelConfig* config = nullptr;
    const Tokenizer* tokenizer = nullptr;   // may be null
    const PreparedPrompt* prompt = nullptr;
    std::string dtype;                       // provenance, e.g. "bf16 (random weights, seed 3)"
    std::string device;                      // provenance, e.g. "cuda:0 (NVIDIA H100 ...)"
    int checkTokens = 0;                     // n generated tokens compared (0: no check)
    std::vector<float> denseFirst;           // [V] the dense model's first distribution (n > 0)
    std::vector<std::int32_t> denseTokens;   // [n] the dense model's greedy tokens
    PhaseClock* clock = nullptr;             // laps the assembly's phases (may be null)
    // The folder's hashes when an engine computes them while its model runs (tens of ms for a
    // 7 MB tokenizer.json); not valid: assembleTrace hashes the folder itself.
    std::shared_future<ModelFolderHashes> hashes;
};

// One sparse pass's outcome.
struct SparsePassRecords {
    std::vector<LayerRecord> layers;
    std::vector<float> firstLogits;   // [V] of the first generated position (n > 0)
    std::vector<std::int32_t> tokens; // greedy tokens under the sparse rule
};

// The trace of one sparse pass at `params`: metadata from `context`, the pass's layers, and
// headStats sparsity and entropy (storeHeadStats). Laps "trace metadata", "trace validation" and
// "head statistics" on the context's clock.
std::shared_ptr<OwnedTrace> assembleTrace(const TraceRunContext& context, const StreamParams& params, SparsePassRecords pass);

} // namespace sparsetrace::core
