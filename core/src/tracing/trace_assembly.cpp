// The torch-free half of a trace run (see trace_assembly.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/trace_assembly.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/head_stats.h"
#include "sparsetrace/core/k_search.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/utf8.h"
#include "sparsetrace/core/version.h"

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

} // namespace

std::array<std::int32_t, 2> appendDecodedToken(std::string& text, std::int32_t& codePoints, const Tokenizer* tok, std::int32_t id)
{
    std::string piece = tok ? tok->decode(std::span<const std::int32_t>(&id, 1)) : std::string();
    if (!isValidUtf8(piece)) piece = "\xEF\xBF\xBD";
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
        // token has its own span (the length kept as it grows: one pass, not one per token).
        std::int32_t codePoints = 0;
        for (std::int32_t id : p.ids) p.offsets.push_back(appendDecodedToken(p.text, codePoints, tok, id));
    }
    if (p.ids.empty()) throw ArgumentError("the prompt is empty after tokenization");
    for (std::int32_t id : p.ids) p.strings.emplace_back(tok ? std::string(tok->idToToken(id)) : std::string());
    return p;
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
    info.provenance.configSha256 = sha256FileHex((fs::path(r.modelDir) / "config.json").string());
    if (fs::exists(fs::path(r.modelDir) / "tokenizer.json"))
        info.provenance.tokenizerSha256 = sha256FileHex((fs::path(r.modelDir) / "tokenizer.json").string());
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
        info.tokens.strings.emplace_back(c.tokenizer ? std::string(c.tokenizer->idToToken(id)) : std::string());
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
