// Tokenizer building blocks: the JSON scanner for tokenizer.json's big sections, the hash tables
// of token strings and merges, and the GPT-2 byte-level alphabet.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer/tokenizer_internal.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/utf8.h"

#include <bit>
#include <functional>

namespace sparsetrace::core::tok {

// ---- JsonCursor ----------------------------------------------------------------------------

void JsonCursor::fail(const std::string& what) const
{
    throw FormatError(m_source + ": malformed JSON at byte " + std::to_string(m_pos) + ": " + what);
}

void JsonCursor::expect(char c)
{
    if (!consume(c)) fail(std::string("expected '") + c + "'");
}

static int hexValue(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void JsonCursor::readString(std::string& out)
{
    out.clear();
    if (peek() != '"') fail("expected a string");
    ++m_pos;
    const std::size_t n = m_doc.size();
    while (true) {
        // Copy the run up to the next quote or backslash in one go.
        std::size_t i = m_pos;
        while (i < n && m_doc[i] != '"' && m_doc[i] != '\\') {
            if (static_cast<unsigned char>(m_doc[i]) < 0x20) {
                m_pos = i;
                fail("control character in string");
            }
            ++i;
        }
        out.append(m_doc.data() + m_pos, i - m_pos);
        m_pos = i;
        if (m_pos >= n) fail("unterminated string");
        if (m_doc[m_pos] == '"') {
            ++m_pos;
            return;
        }
        ++m_pos; // backslash
        if (m_pos >= n) fail("unterminated escape");
        const char e = m_doc[m_pos++];
        switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
            auto read4 = [&]() -> std::uint32_t {
                if (m_pos + 4 > n) fail("truncated \\u escape");
                std::uint32_t v = 0;
                for (int k = 0; k < 4; ++k) {
                    const int h = hexValue(m_doc[m_pos + static_cast<std::size_t>(k)]);
                    if (h < 0) fail("bad \\u escape");
                    v = v * 16 + static_cast<std::uint32_t>(h);
                }
                m_pos += 4;
                return v;
            };
            std::uint32_t cp = read4();
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (m_pos + 2 <= n && m_doc[m_pos] == '\\' && m_doc[m_pos + 1] == 'u') {
                    m_pos += 2;
                    const std::uint32_t lo = read4();
                    if (lo < 0xDC00 || lo > 0xDFFF) fail("unpaired surrogate in \\u escape");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else {
                    fail("unpaired surrogate in \\u escape");
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail("unpaired surrogate in \\u escape");
            }
            appendUtf8(out, static_cast<char32_t>(cp));
            break;
        }
        default: fail(std::string("bad escape '\\") + e + "'");
        }
    }
}

std::int64_t JsonCursor::readInteger()
{
    skipWs();
    bool neg = false;
    if (m_pos < m_doc.size() && m_doc[m_pos] == '-') {
        neg = true;
        ++m_pos;
    }
    const std::size_t start = m_pos;
    std::int64_t v = 0;
    while (m_pos < m_doc.size() && m_doc[m_pos] >= '0' && m_doc[m_pos] <= '9') {
        v = v * 10 + (m_doc[m_pos] - '0');
        if (v > (std::int64_t(1) << 40)) fail("integer too large");
        ++m_pos;
    }
    if (m_pos == start) fail("expected an integer");
    if (m_pos < m_doc.size() && (m_doc[m_pos] == '.' || m_doc[m_pos] == 'e' || m_doc[m_pos] == 'E'))
        fail("expected an integer");
    return neg ? -v : v;
}

void JsonCursor::skipString()
{
    ++m_pos; // opening quote
    const std::size_t n = m_doc.size();
    while (m_pos < n) {
        const char c = m_doc[m_pos++];
        if (c == '\\') {
            ++m_pos;
        } else if (c == '"') {
            return;
        }
    }
    fail("unterminated string");
}

std::string_view JsonCursor::skipValue()
{
    skipWs();
    const std::size_t start = m_pos;
    if (m_pos >= m_doc.size()) fail("expected a value");
    const char c = m_doc[m_pos];
    if (c == '"') {
        skipString();
    } else if (c == '{' || c == '[') {
        int depth = 0;
        const std::size_t n = m_doc.size();
        while (m_pos < n) {
            const char d = m_doc[m_pos];
            if (d == '"') {
                skipString();
                continue;
            }
            ++m_pos;
            if (d == '{' || d == '[') {
                ++depth;
            } else if (d == '}' || d == ']') {
                if (--depth == 0) break;
            }
        }
        if (depth != 0) fail("unbalanced brackets");
    } else {
        while (m_pos < m_doc.size()) {
            const char d = m_doc[m_pos];
            if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t') break;
            ++m_pos;
        }
        if (m_pos == start) fail("expected a value");
    }
    return m_doc.substr(start, m_pos - start);
}

// ---- TokenTable ----------------------------------------------------------------------------

void TokenTable::set(std::int32_t id, std::string_view text)
{
    const auto i = static_cast<std::size_t>(id);
    if (i >= m_spans.size()) {
        m_spans.resize(i + 1, {0, 0});
        m_present.resize(i + 1, false);
    }
    if (m_present[i] && token(id) == text) return;
    m_spans[i] = {static_cast<std::uint32_t>(m_arena.size()), static_cast<std::uint32_t>(text.size())};
    m_present[i] = true;
    m_arena.append(text);
}

void TokenTable::buildIndex()
{
    std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, m_spans.size() * 2));
    m_slots.assign(cap, -1);
    m_mask = cap - 1;
    const std::hash<std::string_view> hasher;
    // A string present under two ids (not possible in a JSON object's keys, but possible through
    // set()) resolves to the lower id.
    for (std::size_t id = 0; id < m_spans.size(); ++id) {
        if (!m_present[id]) continue;
        const std::string_view t = token(static_cast<std::int32_t>(id));
        std::size_t i = hasher(t) & m_mask;
        bool duplicate = false;
        while (m_slots[i] >= 0) {
            if (token(m_slots[i]) == t) {
                duplicate = true;
                break;
            }
            i = (i + 1) & m_mask;
        }
        if (!duplicate) m_slots[i] = static_cast<std::int32_t>(id);
    }
}

std::int32_t TokenTable::find(std::string_view t) const
{
    if (m_slots.empty()) return -1;
    std::size_t i = std::hash<std::string_view>()(t) & m_mask;
    while (true) {
        const std::int32_t id = m_slots[i];
        if (id < 0) return -1;
        if (token(id) == t) return id;
        i = (i + 1) & m_mask;
    }
}

std::size_t TokenTable::memoryBytes() const
{
    return m_arena.capacity() + m_spans.capacity() * sizeof(m_spans[0]) + m_present.capacity() / 8 +
           m_slots.capacity() * sizeof(std::int32_t);
}

// ---- PairTable -----------------------------------------------------------------------------

void PairTable::reserve(std::size_t n)
{
    // Load factor at most 2/3 after reserve(n).
    const std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, n + n / 2));
    if (cap <= m_keys.size()) return;
    std::vector<std::uint64_t> keys = std::move(m_keys);
    std::vector<Value> values = std::move(m_values);
    m_keys.assign(cap, kEmpty);
    m_values.assign(cap, Value{0, -1});
    m_mask = cap - 1;
    m_shift = 64u - static_cast<unsigned>(std::countr_zero(cap));
    m_count = 0;
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (keys[i] != kEmpty) insert(keys[i], values[i]);
}

void PairTable::grow() { reserve(std::max<std::size_t>(16, m_count * 2)); }

void PairTable::insert(std::uint64_t key, Value v)
{
    if ((m_count + 1) * 4 > m_keys.size() * 3) grow();
    std::size_t i = slot(key);
    while (m_keys[i] != kEmpty && m_keys[i] != key) i = (i + 1) & m_mask;
    if (m_keys[i] == kEmpty) ++m_count;
    m_keys[i] = key;
    m_values[i] = v;
}

// ---- byte-level alphabet -------------------------------------------------------------------
// GPT-2 maps the printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') to themselves and the other 68
// bytes, in order, to U+0100.. so that every byte is a visible character.

namespace {
struct ByteAlphabet {
    char32_t toUnicode[256];
    ByteAlphabet()
    {
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            toUnicode[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(0x100 + n++);
        }
    }
};
const ByteAlphabet& alphabet()
{
    static const ByteAlphabet a;
    return a;
}
} // namespace

char32_t byteToUnicode(std::uint8_t b) { return alphabet().toUnicode[b]; }

int unicodeToByte(char32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return static_cast<int>(cp);
    if (cp >= 0x100 && cp < 0x100 + 68) {
        static const auto inverse = [] {
            std::vector<int> inv(68, -1);
            for (int b = 0; b < 256; ++b) {
                const char32_t u = byteToUnicode(static_cast<std::uint8_t>(b));
                if (u >= 0x100) inv[u - 0x100] = b;
            }
            return inv;
        }();
        return inverse[cp - 0x100];
    }
    return -1;
}

} // namespace sparsetrace::core::tok
