// UTF-8 decoding and validation (RFC 3629).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/utf8.h"

namespace sparsetrace::core {

namespace {
// Length of the well-formed sequence at s[i], or 0 when it is not well formed.
std::size_t sequenceLength(std::string_view s, std::size_t i, char32_t* cpOut)
{
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        if (cpOut) *cpOut = b0;
        return 1;
    }
    std::size_t n;
    char32_t cp;
    char32_t min;
    if ((b0 & 0xE0) == 0xC0) { n = 2; cp = b0 & 0x1F; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { n = 3; cp = b0 & 0x0F; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { n = 4; cp = b0 & 0x07; min = 0x10000; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    if (cpOut) *cpOut = cp;
    return n;
}
} // namespace

bool isValidUtf8(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = sequenceLength(s, i, nullptr);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::size_t codePointCount(std::string_view s)
{
    std::size_t count = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++count;
    return count;
}

char32_t decodeUtf8(std::string_view s, std::size_t& i)
{
    char32_t cp = 0xFFFD;
    std::size_t n = sequenceLength(s, i, &cp);
    if (n == 0) {
        i += 1;
        return 0xFFFD;
    }
    i += n;
    return cp;
}

void appendUtf8(std::string& out, char32_t cp)
{
    if (cp < 0x80) out.push_back(static_cast<char>(cp));
    else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::vector<std::size_t> codePointByteOffsets(std::string_view s)
{
    std::vector<std::size_t> out;
    out.reserve(s.size() + 1);
    for (std::size_t i = 0; i < s.size();) {
        out.push_back(i);
        decodeUtf8(s, i);
    }
    out.push_back(s.size());
    return out;
}

} // namespace sparsetrace::core
