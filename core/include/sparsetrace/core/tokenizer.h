// Hugging Face tokenizer.json in C++: added tokens, normalizers, pre-tokenizers, BPE (byte-level
// and byte-fallback), post-processors and decoders as used by the models SparseTrace supports,
// with ids and offsets identical to Hugging Face `tokenizers`, plus single-message chat prompts.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparsetrace::core {

// Result of Tokenizer::encode. offsets[i] is the span of token i in the ORIGINAL text, counted in
// Unicode code points, [start, end), exactly as Hugging Face tokenizers reports it; tokens added
// by the post-processor (e.g. <bos>) have the empty span (0, 0).
struct Encoding {
    std::vector<std::int32_t> ids;                              // [N] int32
    std::vector<std::pair<std::uint32_t, std::uint32_t>> offsets; // [N] code points [start, end)
    std::vector<bool> special;                                  // [N] true for special added tokens
};

// The chat template family recognised in tokenizer_config.json.
enum class ChatFormat { None, DeepSeekR1, Gemma3, ChatML };

class Tokenizer {
public:
    // Loads tokenizer.json and, when present beside it, tokenizer_config.json (BOS/EOS and the chat
    // template). Throws IoError when the file cannot be read, FormatError for malformed JSON or a
    // component this implementation does not support (the message names the component).
    static Tokenizer fromFile(const std::filesystem::path& tokenizerJson);
    // A model folder: DIR/tokenizer.json (+ DIR/tokenizer_config.json). Throws ModelError when
    // tokenizer.json is missing.
    static Tokenizer fromModelDir(const std::filesystem::path& dir);
    // From memory; `source` names the origin in error messages. configJson may be empty.
    static Tokenizer fromJson(std::string_view tokenizerJson, std::string_view configJson = {},
                              const std::string& source = "tokenizer.json");

    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    // Encodes UTF-8 text (ArgumentError when it is not valid UTF-8). addSpecialTokens applies the
    // post-processor (Gemma's and Llama's <bos>), as Hugging Face's encode() does by default.
    // Thread-safe: concurrent calls on one Tokenizer are allowed.
    Encoding encode(std::string_view text, bool addSpecialTokens = true) const;
    // Inverts encode for lossless tokenizers; ids out of range throw ArgumentError.
    std::string decode(std::span<const std::int32_t> ids, bool skipSpecialTokens = false) const;

    // Vocabulary size (the largest id + 1, added tokens included).
    std::size_t vocabSize() const;
    // The token's string as written in tokenizer.json (byte-level form for byte-level BPE); empty
    // for an id without a token.
    std::string_view idToToken(std::int32_t id) const;
    std::optional<std::int32_t> tokenToId(std::string_view token) const;
    bool isSpecial(std::int32_t id) const;

    // From tokenizer_config.json (or the post-processor's template when it has no config).
    std::optional<std::int32_t> bosId() const;
    std::optional<std::int32_t> eosId() const;
    std::string bosToken() const;
    std::string eosToken() const;

    // Single-message chat prompts, as the model's Jinja chat template renders one user message
    // with add_generation_prompt=True. chatFormat() is None when tokenizer_config.json has no
    // template or one of a family not listed in ChatFormat.
    ChatFormat chatFormat() const;
    // Throws ArgumentError when chatFormat() is None.
    std::string formatChat(std::string_view userMessage) const;
    // formatChat() then encode() without the post-processor (the template writes BOS itself).
    Encoding encodeChat(std::string_view userMessage) const;

    struct Impl;

private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

const char* chatFormatName(ChatFormat format);

} // namespace sparsetrace::core
