// The torch-free half of a trace run (see trace_assembly.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/trace_assembly.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/head_stats.h"
#include "sparsetrace/core/k_search.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/parallel_for.h"
#include "sparsetrace/core/utf8.h"
#include "sparsetrace/core/version.h"

#include <algorithm>
#include <ctime>
#include <filesystem>

namespace sparsetrace::core {

namespace fs = std::filesystem;

namespace {

std::string nowIso8601()
{
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string folderName(const std::string& dir)
{
    fs::path p = fs::path(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

// Token `id` decoded on its own; U+FFFD for a part of a multi-byte character.
std::string decodedPiece(const Tokenizer* tok, std::int32_t id)
{
    std::string piece = tok ? tok->decode(std::span<const std::int32_t>(&id, 1)) : std::string();
    if (!isValidUtf8(piece)) piece = "\xEF\xBF\xBD";
    return piece;
}

std::string tokenString(const Tokenizer* tok, std::int32_t id) { return tok ? std::string(tok->idToToken(id)) : std::string(); }

// fn(i) for every token i in [0, count), in chunks of 4096 tokens on every core (the prompt's
// decoding: 128k ids take tens of milliseconds on one).
template <class Fn> void forEachToken(std::int64_t count, const Fn& fn)
{
    constexpr std::int64_t kChunk = 4096;
    parallelFor((count + kChunk - 1) / kChunk, [&](std::int64_t chunk) {
        for (std::int64_t i = chunk * kChunk; i < std::min(count, (chunk + 1) * kChunk); ++i) fn(static_cast<std::size_t>(i));
    });
}

} // namespace

std::array<std::int32_t, 2> appendDecodedToken(std::string& text, std::int32_t& codePoints, const Tokenizer* tok, std::int32_t id)
{
    const std::string piece = decodedPiece(tok, id);
    const std::int32_t start = codePoints;
    text += piece;
    codePoints += static_cast<std::int32_t>(codePointCount(piece));
    return {start, codePoints};
}

std::array<std::int32_t, 2> appendDecodedToken(std::string& text, const Tokenizer* tok, std::int32_t id)
{
    auto codePoints = static_cast<std::int32_t>(codePointCount(text));
    return appendDecodedToken(text, codePoints, tok, id);
}

PreparedPrompt preparePrompt(const TraceRequest& r, const Tokenizer* tok)
{
    PreparedPrompt p;
    if (r.prompt && !r.prompt->empty()) {
        if (!tok) throw ModelError(r.modelDir + ": tokenizer.json is missing (needed to tokenize the prompt; pass token ids instead)");
        Encoding e = r.chat ? tok->encodeChat(*r.prompt) : tok->encode(*r.prompt);
        p.text = r.chat ? tok->formatChat(*r.prompt) : *r.prompt;
        p.ids = e.ids;
        for (const auto& [a, b] : e.offsets) p.offsets.push_back({static_cast<std::int32_t>(a), static_cast<std::int32_t>(b)});
    } else {
        if (r.tokenIds.empty()) throw ArgumentError("the prompt is empty: give a prompt text or token ids");
        p.ids = r.tokenIds;
        // Without the original text, the text is the ids decoded one by one, so that every
        // token has its own span: the pieces decoded on every core (128k ids take tens of ms on
        // one), then joined in order with their spans in code points.
        const auto T = static_cast<std::int64_t>(p.ids.size());
        std::vector<std::string> pieces(static_cast<std::size_t>(T));
        std::vector<std::int32_t> lengths(static_cast<std::size_t>(T));
        forEachToken(T, [&](std::size_t at) {
            pieces[at] = decodedPiece(tok, p.ids[at]);
            lengths[at] = static_cast<std::int32_t>(codePointCount(pieces[at]));
        });
        std::size_t bytes = 0;
        for (const std::string& piece : pieces) bytes += piece.size();
        p.text.reserve(bytes);
        p.offsets.reserve(pieces.size());
        std::int32_t codePoints = 0;
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            p.text += pieces[i];
            p.offsets.push_back({codePoints, codePoints + lengths[i]});
            codePoints += lengths[i];
        }
    }
    if (p.ids.empty()) throw ArgumentError("the prompt is empty after tokenization");
    const auto T = static_cast<std::int64_t>(p.ids.size());
    p.strings.resize(static_cast<std::size_t>(T));
    forEachToken(T, [&](std::size_t i) { p.strings[i] = tokenString(tok, p.ids[i]); });
    return p;
}

ModelFolderHashes hashModelFolder(const std::string& modelDir)
{
    ModelFolderHashes h;
    h.config = sha256FileHex((fs::path(modelDir) / "config.json").string());
    if (fs::exists(fs::path(modelDir) / "tokenizer.json")) h.tokenizer = sha256FileHex((fs::path(modelDir) / "tokenizer.json").string());
    return h;
}

std::shared_ptr<OwnedTrace> assembleTrace(const TraceRunContext& c, const StreamParams& params, SparsePassRecords run)
{
    const TraceRequest& r = *c.request;
    const ModelConfig& config = *c.config;
    const PreparedPrompt& prompt = *c.prompt;
    const int L = config.layers, n = c.checkTokens;
    TraceInfo info;
    info.provenance.toolVersion = kVersion;
    info.provenance.created = nowIso8601();
    info.provenance.modelName = folderName(r.modelDir);
    info.provenance.architecture = architectureName(config.architecture);
    const ModelFolderHashes hashes = c.hashes.valid() ? c.hashes.get() : hashModelFolder(r.modelDir);
    info.provenance.configSha256 = hashes.config;
    info.provenance.tokenizerSha256 = hashes.tokenizer;
    info.provenance.dtype = c.dtype;
    info.provenance.device = c.device;
    info.model.architecture = info.provenance.architecture;
    info.model.layers = L;
    info.model.heads = config.heads;
    info.model.kvHeads = config.kvHeads;
    info.model.headDim = config.headDim;
    if (config.hasSlidingLayers())
        for (int l = 0; l < L; ++l)
            info.model.slidingWindow.push_back(config.layerIsSliding[static_cast<std::size_t>(l)] ? config.slidingWindow : 0);
    info.params = params;
    info.promptTokens = static_cast<std::int64_t>(prompt.ids.size());
    info.generatedTokens = n;
    info.text = prompt.text;
    info.tokens.ids = prompt.ids;
    info.tokens.offsets = prompt.offsets;
    info.tokens.strings = prompt.strings;
    // Generated tokens (the sparse run's) follow the prompt in the text.
    auto codePoints = static_cast<std::int32_t>(codePointCount(info.text));
    for (std::int32_t id : run.tokens) {
        info.tokens.ids.push_back(id);
        info.tokens.offsets.push_back(appendDecodedToken(info.text, codePoints, c.tokenizer, id));
        info.tokens.strings.push_back(tokenString(c.tokenizer, id));
    }
    if (n > 0) {
        BehaviourCheck b;
        b.checkTokens = n;
        b.denseTokens = c.denseTokens;
        b.sparseTokens = run.tokens;
        b.klFirst = klDivergenceFromLogits(c.denseFirst, run.firstLogits);
        b.top1Match = !run.tokens.empty() && !c.denseTokens.empty() && run.tokens[0] == c.denseTokens[0];
        b.preserved = run.tokens == c.denseTokens;
        info.behaviour = b;
    }
    info.annotations = r.annotations.is_object() ? r.annotations : nlohmann::json::object();
    const auto lap = [&](std::string_view phase) {
        if (c.clock) c.clock->lap(phase);
    };
    lap("trace metadata");
    auto trace = std::make_shared<OwnedTrace>(std::move(info), std::move(run.layers));
    lap("trace validation");
    storeHeadStats(*trace);
    lap("head statistics");
    return trace;
}

} // namespace sparsetrace::core
