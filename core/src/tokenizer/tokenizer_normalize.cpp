// Normalized text with its alignment to the original: NFC, Replace and Prepend, each keeping for
// every normalized byte the original byte range it came from, the way Hugging Face's
// NormalizedString does, so that offsets of tokens map back to the original text identically.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer/tokenizer_internal.h"

#include "sparsetrace/core/utf8.h"

#include <utf8proc.h>

#include <cstdlib>

namespace sparsetrace::core::tok {

namespace {

bool isContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::size_t charLen(unsigned char lead)
{
    if (lead < 0x80) return 1;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    return 4;
}

// NFC of valid UTF-8 through utf8proc.
std::string nfcOf(std::string_view s)
{
    if (s.empty()) return {};
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), static_cast<utf8proc_ssize_t>(s.size()),
                     &out, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n < 0) {
        std::free(out);
        return std::string(s); // invalid input cannot reach here (validated), keep it unchanged
    }
    std::string r(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
    std::free(out);
    return r;
}

} // namespace

NormalizedText::NormalizedText(std::string_view original, std::size_t begin, std::size_t end)
    : m_original(original), m_base(begin), m_text(original.substr(begin, end - begin))
{
}

Align NormalizedText::alignAt(std::size_t i) const
{
    if (!m_align.empty()) return m_align[i];
    // Identity: every byte of a character maps to the whole character.
    std::size_t s = m_base + i;
    while (s > 0 && isContinuation(m_original[s])) --s;
    const std::size_t e = s + charLen(static_cast<unsigned char>(m_original[s]));
    return {static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(e)};
}

Align NormalizedText::originalRange(std::size_t s, std::size_t e) const
{
    return {alignAt(s).start, alignAt(e - 1).end};
}

void NormalizedText::materialize()
{
    if (!m_align.empty() || m_text.empty()) return;
    m_align.resize(m_text.size());
    std::size_t i = 0;
    while (i < m_text.size()) {
        const std::size_t len = charLen(static_cast<unsigned char>(m_text[i]));
        const Align a{static_cast<std::uint32_t>(m_base + i), static_cast<std::uint32_t>(m_base + i + len)};
        for (std::size_t k = 0; k < len; ++k) m_align[i + k] = a;
        i += len;
    }
}

void NormalizedText::prepend(std::string_view s)
{
    if (m_text.empty() || s.empty()) return;
    materialize();
    // HF: the first prepended character replaces the first character (taking its alignment),
    // the rest and the first character itself are "inserted" after it (alignment of its last byte).
    const std::size_t firstLen = charLen(static_cast<unsigned char>(m_text[0]));
    const Align first = m_align[0];
    const Align last = m_align[firstLen - 1];
    const std::size_t firstPrepLen = charLen(static_cast<unsigned char>(s[0]));
    std::vector<Align> a;
    a.reserve(m_align.size() + s.size());
    for (std::size_t k = 0; k < s.size(); ++k) a.push_back(k < firstPrepLen ? first : last);
    for (std::size_t k = 0; k < firstLen; ++k) a.push_back(last);
    a.insert(a.end(), m_align.begin() + static_cast<std::ptrdiff_t>(firstLen), m_align.end());
    m_text.insert(0, s);
    m_align = std::move(a);
}

void NormalizedText::replaceLiteral(std::string_view pattern, std::string_view content)
{
    if (pattern.empty()) return;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    std::size_t p = 0;
    while ((p = m_text.find(pattern, p)) != std::string::npos) {
        matches.emplace_back(p, p + pattern.size());
        p += pattern.size();
    }
    replaceMatches(matches, content);
}

void NormalizedText::replaceMatches(const std::vector<std::pair<std::size_t, std::size_t>>& matches,
                                    std::string_view content)
{
    if (matches.empty()) return;
    materialize();
    std::string out;
    std::vector<Align> a;
    out.reserve(m_text.size() + matches.size() * content.size());
    a.reserve(out.capacity());
    std::size_t prev = 0;
    for (const auto& [ms, me] : matches) {
        out.append(m_text, prev, ms - prev);
        a.insert(a.end(), m_align.begin() + static_cast<std::ptrdiff_t>(prev),
                 m_align.begin() + static_cast<std::ptrdiff_t>(ms));
        // Replacement characters are "inserted" after the removed match: they take the
        // alignment of the match's last byte.
        const Align al = me > 0 ? m_align[me - 1] : Align{0, 0};
        out.append(content);
        a.insert(a.end(), content.size(), al);
        prev = me;
    }
    out.append(m_text, prev, std::string::npos);
    a.insert(a.end(), m_align.begin() + static_cast<std::ptrdiff_t>(prev), m_align.end());
    m_text = std::move(out);
    m_align = std::move(a);
}

void NormalizedText::nfc()
{
    // Fast path: code points below U+0300 are NFC-stable starters that never compose with a
    // preceding character, so text made only of them is already NFC.
    bool simple = true;
    for (const char c : m_text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0xCC) { // lead byte of U+0300 and above
            simple = false;
            break;
        }
    }
    if (simple) return;
    const std::string whole = nfcOf(m_text);
    if (whole == m_text) return;

    // Something changes. Chunks start at code points below U+0300 (they never compose with what
    // precedes them); inside a chunk, sub-chunks start at starters that do not compose with the
    // sub-chunk before them. Each changed sub-chunk of n input code points becoming m output code
    // points is aligned as HF's unicode-normalization-alignments does: the first output takes
    // the first input (and, when m < n, swallows the n - m inputs after it), the next outputs
    // take the following inputs in order, and surplus outputs are inserted after the last input.
    materialize();
    std::string out;
    std::vector<Align> a;
    out.reserve(whole.size());
    a.reserve(whole.size());

    auto emitChunk = [&](std::size_t cs, std::size_t ce) {
        const std::string_view in(m_text.data() + cs, ce - cs);
        const std::string norm = nfcOf(in);
        if (norm == in) {
            out.append(in);
            a.insert(a.end(), m_align.begin() + static_cast<std::ptrdiff_t>(cs),
                     m_align.begin() + static_cast<std::ptrdiff_t>(ce));
            return;
        }
        std::vector<std::size_t> inStarts; // byte offset of each input code point (absolute)
        for (std::size_t i = cs; i < ce; i += charLen(static_cast<unsigned char>(m_text[i]))) inStarts.push_back(i);
        std::vector<std::pair<std::size_t, std::size_t>> outChars; // (offset in norm, length)
        for (std::size_t i = 0; i < norm.size(); i += charLen(static_cast<unsigned char>(norm[i])))
            outChars.emplace_back(i, charLen(static_cast<unsigned char>(norm[i])));
        const std::size_t n = inStarts.size();
        const std::size_t m = outChars.size();
        for (std::size_t k = 0; k < m; ++k) {
            Align al;
            if (k == 0) {
                al = m_align[inStarts[0]];
            } else if (m < n) {
                al = m_align[inStarts[k + (n - m)]];
            } else if (k < n) {
                al = m_align[inStarts[k]];
            } else {
                al = m_align[ce - 1]; // inserted after the last input
            }
            out.append(norm, outChars[k].first, outChars[k].second);
            a.insert(a.end(), outChars[k].second, al);
        }
    };

    auto processChunk = [&](std::size_t cs, std::size_t ce) {
        // Split at starters that do not compose with the sub-chunk before them.
        std::size_t sub = cs;
        std::size_t i = cs + charLen(static_cast<unsigned char>(m_text[cs]));
        while (i < ce) {
            std::size_t j = i;
            const char32_t cp = decodeUtf8(m_text, j);
            const utf8proc_property_t* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
            if (prop->combining_class == 0) {
                const std::string_view left(m_text.data() + sub, i - sub);
                const std::string_view right(m_text.data() + i, j - i);
                const std::string joined = nfcOf(std::string(left) + std::string(right));
                if (joined == nfcOf(left) + nfcOf(right)) {
                    emitChunk(sub, i);
                    sub = i;
                }
            }
            i = j;
        }
        emitChunk(sub, ce);
    };

    std::size_t chunkStart = 0;
    std::size_t i = 0;
    while (i < m_text.size()) {
        const auto u = static_cast<unsigned char>(m_text[i]);
        const bool stableStarter = u < 0xCC; // code point below U+0300
        if (stableStarter && i > chunkStart) {
            processChunk(chunkStart, i);
            chunkStart = i;
        }
        i += charLen(u);
    }
    if (chunkStart < m_text.size()) processChunk(chunkStart, m_text.size());
    m_text = std::move(out);
    m_align = std::move(a);
}

} // namespace sparsetrace::core::tok
