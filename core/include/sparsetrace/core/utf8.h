// UTF-8 helpers shared by the tokenizer, the trace file and the analyses. Character offsets
// throughout SparseTrace count Unicode code points, as Hugging Face tokenizers do.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool isValidUtf8(std::string_view s);
// Number of code points in valid UTF-8.
std::size_t codePointCount(std::string_view s);
// Decodes one code point at s[i], advancing i; invalid bytes decode as U+FFFD one byte at a time.
char32_t decodeUtf8(std::string_view s, std::size_t& i);
void appendUtf8(std::string& out, char32_t cp);
// Byte offset of every code point boundary: result[k] = byte offset of code point k, plus a
// final entry equal to s.size().
std::vector<std::size_t> codePointByteOffsets(std::string_view s);

} // namespace sparsetrace::core
