// Internals of the tokenizer (core/src only): the tokenizer.json scanner, id hash tables, the
// normalized text with its alignment to the original, and the BPE model.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparsetrace::core::tok {

// ---- JSON scanning -------------------------------------------------------------------------
// A forward-only reader over a JSON document: tokenizer.json's vocab and merges (hundreds of
// thousands of entries) are read straight into the tables, everything else is cut out as raw
// text and handed to nlohmann::json (small).
class JsonCursor {
public:
    JsonCursor(std::string_view doc, const std::string& source) : m_doc(doc), m_source(source) {}
    void skipWs()
    {
        while (m_pos < m_doc.size()) {
            const char c = m_doc[m_pos];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
            ++m_pos;
        }
    }
    char peek()
    {
        skipWs();
        return m_pos < m_doc.size() ? m_doc[m_pos] : '\0';
    }
    bool consume(char c)
    {
        if (peek() != c) return false;
        ++m_pos;
        return true;
    }
    void expect(char c);
    // Reads a string (after optional whitespace), decoding escapes, into `out` (cleared first).
    void readString(std::string& out);
    std::int64_t readInteger();
    // Skips one value and returns its raw text.
    std::string_view skipValue();
    [[noreturn]] void fail(const std::string& what) const;
    std::size_t pos() const { return m_pos; }
    bool atEnd()
    {
        skipWs();
        return m_pos >= m_doc.size();
    }

private:
    void skipString();
    std::string_view m_doc;
    const std::string& m_source;
    std::size_t m_pos = 0;
};

// ---- hash tables ---------------------------------------------------------------------------
// Token string -> id over an arena of token strings (open addressing, linear probing).
class TokenTable {
public:
    // Adds or replaces `id`'s string. Ids may arrive in any order; gaps stay empty.
    void set(std::int32_t id, std::string_view token);
    void buildIndex(); // after all set() calls
    std::int32_t find(std::string_view token) const; // -1 when absent
    std::string_view token(std::int32_t id) const
    {
        if (id < 0 || static_cast<std::size_t>(id) >= m_spans.size()) return {};
        const auto [off, len] = m_spans[static_cast<std::size_t>(id)];
        return std::string_view(m_arena).substr(off, len);
    }
    bool has(std::int32_t id) const
    {
        return id >= 0 && static_cast<std::size_t>(id) < m_spans.size() && m_present[static_cast<std::size_t>(id)];
    }
    std::size_t size() const { return m_spans.size(); }
    std::size_t memoryBytes() const;

private:
    std::string m_arena;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> m_spans; // [V] (offset, length) in m_arena
    std::vector<bool> m_present;                                   // [V]
    std::vector<std::int32_t> m_slots;                             // [2^k] id or -1
    std::size_t m_mask = 0;
};

// 64-bit key -> (rank, id), open addressing: merges keyed by (left id, right id), and single code
// points keyed by code point.
class PairTable {
public:
    struct Value {
        std::uint32_t rank;
        std::int32_t id;
    };
    void reserve(std::size_t n);
    void insert(std::uint64_t key, Value v); // replaces an existing key (later merges win, as in HF)
    const Value* find(std::uint64_t key) const
    {
        if (m_keys.empty()) return nullptr;
        std::size_t i = slot(key);
        while (true) {
            const std::uint64_t k = m_keys[i];
            if (k == key) return &m_values[i];
            if (k == kEmpty) return nullptr;
            i = (i + 1) & m_mask;
        }
    }
    std::size_t size() const { return m_count; }
    std::size_t memoryBytes() const { return m_keys.size() * (sizeof(std::uint64_t) + sizeof(Value)); }

private:
    static constexpr std::uint64_t kEmpty = ~std::uint64_t(0);
    std::size_t slot(std::uint64_t key) const
    {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> m_shift) & m_mask;
    }
    void grow();
    std::vector<std::uint64_t> m_keys; // [2^k]
    std::vector<Value> m_values;       // [2^k]
    std::size_t m_mask = 0;
    unsigned m_shift = 64;
    std::size_t m_count = 0;
};

inline std::uint64_t pairKey(std::int32_t a, std::int32_t b)
{
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
}

// ---- normalized text -----------------------------------------------------------------------
// One segment of the input (between added tokens) after normalization. Like Hugging Face's
// NormalizedString, every byte of `text` knows the original byte range it came from; while no
// normalizer changed anything the alignment is implicit (identity with `base`).
struct Align {
    std::uint32_t start;
    std::uint32_t end;
};

class NormalizedText {
public:
    NormalizedText(std::string_view original, std::size_t begin, std::size_t end);
    const std::string& text() const { return m_text; }
    // Original byte range [start, end) of normalized bytes [s, e), e > s.
    Align originalRange(std::size_t s, std::size_t e) const;

    void nfc();
    void replaceLiteral(std::string_view pattern, std::string_view content);
    void replaceMatches(const std::vector<std::pair<std::size_t, std::size_t>>& matches, std::string_view content);
    void prepend(std::string_view s);

private:
    void materialize();
    Align alignAt(std::size_t i) const;
    std::string_view m_original;
    std::size_t m_base;
    std::string m_text;
    std::vector<Align> m_align; // [text.size()] empty while identity
};

// ---- BPE -----------------------------------------------------------------------------------
struct BpeToken {
    std::int32_t id;
    std::uint32_t start; // byte offset in the word
    std::uint32_t len;   // bytes
};

struct BpeScratch;

class BpeModel {
public:
    BpeModel();
    ~BpeModel();
    bool byteLevel = false;   // words are raw bytes; vocab strings are GPT-2 byte-level encoded
    bool byteFallback = false;
    bool fuseUnk = false;
    bool ignoreMerges = false;
    std::int32_t unkId = -1;
    std::int32_t byteIds[256];      // byte-level: id of byte b; byte fallback: id of <0xXX> (-1 absent)
    PairTable charIds;              // code point -> id of single-code-point tokens (not byte-level)
    PairTable merges;               // (left, right) -> (rank, merged id)
    const TokenTable* vocab = nullptr;

    // Appends the tokens of `word` (a pre-token; raw bytes for byte-level) to `out`.
    void tokenize(std::string_view word, std::vector<BpeToken>& out, BpeScratch& scratch) const;
};

struct BpeScratch {
    struct Symbol {
        std::int32_t id;
        std::uint32_t start;
        std::uint32_t len;
        std::int32_t prev;
        std::int32_t next;
    };
    struct Merge {
        std::uint64_t key; // rank << 32 | position: min-heap order of Hugging Face's merge queue
        std::int32_t newId;
    };
    std::vector<Symbol> symbols;
    std::vector<Merge> heap;
    std::string buffer;
};

// GPT-2 byte-level alphabet: byte -> code point, and the inverse (-1 for non-alphabet code points).
char32_t byteToUnicode(std::uint8_t b);
int unicodeToByte(char32_t cp);

} // namespace sparsetrace::core::tok
