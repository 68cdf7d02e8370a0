// The tokenizer's pipeline (core/src/tokenizer only): the components a tokenizer.json
// describes (added tokens, normalizers, pre-tokenizers, post-processors, decoders), the regex
// engine and the word cache, and Tokenizer::Impl, which holds them. Loading fills it
// (tokenizer_load.cpp), encoding and chat prompts read it (tokenizer_encode.cpp), decoding
// reads it (tokenizer_decode.cpp).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/tokenizer.h"

#include "tokenizer/tokenizer_internal.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/utf8.h"

#include "format/json_checked.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <nlohmann/json.hpp>
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

namespace sparsetrace::core {

namespace tok {

using Json = nlohmann::json;

// ---- regex (PCRE2, UTF + UCP, JIT) ---------------------------------------------------------

class Regex {
public:
    Regex(const std::string& pattern, const std::string& where)
    {
        int err = 0;
        PCRE2_SIZE errOffset = 0;
        m_code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                               &err, &errOffset, nullptr);
        if (!m_code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof(msg));
            throw FormatError(where + ": regex '" + pattern + "' is not supported: " +
                              reinterpret_cast<const char*>(msg) + " at offset " + std::to_string(errOffset));
        }
        m_jit = pcre2_jit_compile(m_code, PCRE2_JIT_COMPLETE) == 0;
    }
    ~Regex() { pcre2_code_free(m_code); }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Non-empty, non-overlapping matches of `s`, left to right.
    void findAll(std::string_view s, std::vector<std::pair<std::size_t, std::size_t>>& out) const
    {
        struct MatchData {
            pcre2_match_data* md;
            ~MatchData() { pcre2_match_data_free(md); }
        };
        thread_local std::unordered_map<const Regex*, std::unique_ptr<MatchData>> perThread;
        auto& slot = perThread[this];
        if (!slot) slot.reset(new MatchData{pcre2_match_data_create_from_pattern(m_code, nullptr)});
        pcre2_match_data* md = slot->md;
        std::size_t pos = 0;
        const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
        while (pos < s.size()) {
            const int rc = m_jit ? pcre2_jit_match(m_code, subject, s.size(), pos, 0, md, nullptr)
                                 : pcre2_match(m_code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) throw ArgumentError("tokenizer: regex match failed (PCRE2 error " + std::to_string(rc) + ")");
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            const std::size_t ms = ov[0];
            const std::size_t me = ov[1];
            if (me == ms) { // empty match: step over one code point
                pos = ms + 1;
                while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
                continue;
            }
            out.emplace_back(ms, me);
            pos = me;
        }
    }

private:
    pcre2_code* m_code = nullptr;
    bool m_jit = false;
};

// The GPT-2 pattern that ByteLevel applies when use_regex is true.
inline constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// ---- component descriptions ----------------------------------------------------------------

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct NormalizerStep {
    enum Kind { Nfc, ReplaceLiteral, ReplaceRegex, Prepend } kind;
    std::string pattern;
    std::string content;
    std::shared_ptr<Regex> regex;
};

struct PreTokenizerStep {
    enum Kind { SplitLiteral, SplitRegex } kind;
    std::string literal;
    std::shared_ptr<Regex> regex;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
};

struct DecoderStep {
    enum Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip } kind;
    std::string pattern;
    std::string content;
    std::size_t start = 0;
    std::size_t stop = 0;
};

struct TemplateItem {
    bool sequence = false;           // the encoded text ($A)
    std::vector<std::int32_t> ids;   // the special token's ids otherwise
};

struct AddedToken {
    std::string content;
    std::int32_t id;
    bool special;
};

// Trie over the bytes of the added tokens, for leftmost-longest matching on the raw text.
class AddedTokenTrie {
public:
    void build(const std::vector<AddedToken>& tokens)
    {
        m_terminal.assign(1, -1);
        m_edges = PairTable();
        std::fill(std::begin(m_first), std::end(m_first), false);
        for (std::size_t t = 0; t < tokens.size(); ++t) {
            const std::string& s = tokens[t].content;
            if (s.empty()) continue;
            m_first[static_cast<unsigned char>(s[0])] = true;
            std::int32_t node = 0;
            for (const char c : s) {
                const std::uint64_t key = (static_cast<std::uint64_t>(node) << 8) | static_cast<unsigned char>(c);
                if (const PairTable::Value* v = m_edges.find(key)) {
                    node = v->id;
                } else {
                    const auto child = static_cast<std::int32_t>(m_terminal.size());
                    m_terminal.push_back(-1);
                    m_edges.insert(key, {0, child});
                    node = child;
                }
            }
            m_terminal[static_cast<std::size_t>(node)] = static_cast<std::int32_t>(t);
        }
    }
    bool empty() const { return m_terminal.size() <= 1; }
    // Longest token matching at text[i...]: (token index, length) or (-1, 0).
    std::pair<std::int32_t, std::size_t> longestAt(std::string_view text, std::size_t i) const
    {
        if (!m_first[static_cast<unsigned char>(text[i])]) return {-1, 0};
        std::int32_t node = 0;
        std::pair<std::int32_t, std::size_t> best{-1, 0};
        for (std::size_t j = i; j < text.size(); ++j) {
            const std::uint64_t key = (static_cast<std::uint64_t>(node) << 8) | static_cast<unsigned char>(text[j]);
            const PairTable::Value* v = m_edges.find(key);
            if (!v) break;
            node = v->id;
            if (m_terminal[static_cast<std::size_t>(node)] >= 0) best = {m_terminal[static_cast<std::size_t>(node)], j + 1 - i};
        }
        return best;
    }

private:
    bool m_first[256] = {};
    PairTable m_edges;                  // (node << 8 | byte) -> child node
    std::vector<std::int32_t> m_terminal; // [nodes] index of the token ending here, or -1
};

// Byte offset -> code point index, walking from the previous answer (tokens come in order).
class CodePointCursor {
public:
    explicit CodePointCursor(std::string_view text) : m_text(text) {}
    std::uint32_t at(std::size_t b)
    {
        while (m_byte < b) {
            if ((static_cast<unsigned char>(m_text[m_byte]) & 0xC0) != 0x80) ++m_cp;
            ++m_byte;
        }
        while (m_byte > b) {
            --m_byte;
            if ((static_cast<unsigned char>(m_text[m_byte]) & 0xC0) != 0x80) --m_cp;
        }
        // A byte inside a character maps to that character (HF's bytes-to-char map does the
        // same); only ByteLevel's trim_offsets produces such bytes.
        if (b < m_text.size() && (static_cast<unsigned char>(m_text[b]) & 0xC0) == 0x80) return static_cast<std::uint32_t>(m_cp - 1);
        return static_cast<std::uint32_t>(m_cp);
    }

private:
    std::string_view m_text;
    std::size_t m_byte = 0;
    std::size_t m_cp = 0;
};

// Per-call memo of BPE results by word (HF caches the same way); long words are not kept.
class WordCache {
public:
    static constexpr std::size_t kMaxWord = 96;
    const std::vector<BpeToken>* find(std::string_view w) const
    {
        auto it = m_map.find(w);
        return it == m_map.end() ? nullptr : &it->second;
    }
    void put(std::string_view w, std::vector<BpeToken> toks)
    {
        if (m_map.size() > 200000) return;
        m_keys.emplace_back(w);
        m_map.emplace(m_keys.back(), std::move(toks));
    }

private:
    std::deque<std::string> m_keys; // stable storage for the map's views
    std::unordered_map<std::string_view, std::vector<BpeToken>> m_map;
};

// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
inline std::string utf8Lossy(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    const std::size_t n = s.size();
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < n) {
        const unsigned char c = byte(i);
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        std::size_t need = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        std::size_t got = 0;
        while (got < need && j < n) {
            const unsigned char d = byte(j);
            const bool ok = got == 0 ? (d >= lo && d <= hi) : (d >= 0x80 && d <= 0xBF);
            if (!ok) break;
            ++j;
            ++got;
        }
        if (got == need) {
            out.append(s.data() + i, j - i);
        } else {
            out += "\xEF\xBF\xBD";
        }
        i = j;
    }
    return out;
}

inline bool isUnicodeWhitespace(char32_t c)
{
    // Rust's char::is_whitespace / Python's str.isspace (White_Space, plus U+001C..U+001F for Python).
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

inline bool isPythonSpace(char32_t c) { return isUnicodeWhitespace(c) || (c >= 0x1C && c <= 0x1F); }

inline std::string tokenContent(const Json& v)
{
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return {};
}

} // namespace tok

using namespace tok;

// ---- Impl ----------------------------------------------------------------------------------

struct Tokenizer::Impl {
    std::string source;
    TokenTable vocab; // the model's vocabulary
    BpeModel bpe;
    std::vector<AddedToken> added;
    std::unordered_map<std::string, std::int32_t> addedByContent;
    std::unordered_map<std::int32_t, std::size_t> addedById;
    AddedTokenTrie trie;

    std::vector<NormalizerStep> normalizers;
    std::vector<PreTokenizerStep> preTokenizers;
    bool byteLevelPrefixSpace = false;
    bool trimOffsets = false;      // ByteLevel post-processor
    bool trimAddPrefixSpace = false;
    std::vector<TemplateItem> singleTemplate; // empty: no TemplateProcessing
    bool haveDecoder = false;
    std::vector<DecoderStep> decoders;

    std::string bosToken, eosToken;
    ChatFormat chat = ChatFormat::None;
    std::string chatSystemDefault; // ChatML: the template's default system prompt, if any
    bool chatThink = false;        // DeepSeek-R1: the generation prompt opens <think>\n

    void load(std::string_view json, std::string_view config);
    void parseModel(JsonCursor& cur, std::map<std::string, std::string_view>& modelRaw, std::string_view& mergesRaw);
    void parseVocab(JsonCursor& cur);
    void parseMerges(std::string_view raw);
    void parseNormalizer(const Json& j);
    void parsePreTokenizer(const Json& j, bool first);
    void parsePostProcessor(const Json& j);
    void parseDecoder(const Json& j);
    void parseConfig(std::string_view config);

    [[noreturn]] void unsupported(const std::string& what) const
    {
        throw FormatError(source + ": unsupported tokenizer component: " + what);
    }

    std::string_view tokenOf(std::int32_t id) const
    {
        if (auto it = addedById.find(id); it != addedById.end()) return added[it->second].content;
        return vocab.token(id);
    }

    void encodeSegment(std::string_view text, std::size_t b, std::size_t e, Encoding& enc, CodePointCursor& cps,
                       WordCache& cache, BpeScratch& scratch, std::vector<BpeToken>& toks) const;
    void pushToken(Encoding& enc, std::int32_t id, Align orig, CodePointCursor& cps, bool special) const;
};

} // namespace sparsetrace::core
