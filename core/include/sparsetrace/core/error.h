// The one family of exceptions that core and gpu throw. Messages are one line, name the file,
// tensor or key concerned, and say what was expected.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sparsetrace {

namespace detail {
// Messages reach terminals and Qt widgets as UTF-8, but they may quote bytes from a file (a JSON
// parser's "last read: ..."), or a path in another encoding: bytes that are not valid UTF-8
// (also overlong forms, surrogates, code points past U+10FFFF) are written as <XX>.
inline std::string validUtf8(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size();
        std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            ok = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        if (ok && len > 1) {
            const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= smallest[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
        }
        if (ok) {
            out.append(s, i, len);
            i += len;
        } else {
            const char* hex = "0123456789ABCDEF";
            out += '<';
            out += hex[c >> 4];
            out += hex[c & 0xF];
            out += '>';
            ++i;
        }
    }
    return out;
}
} // namespace detail

// Base of every error SparseTrace reports to a user. Its message is always valid UTF-8.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(detail::validUtf8(what)) {}
    explicit Error(const char* what) : Error(std::string(what)) {}
};

// A file (trace, safetensors, config, tokenizer, labels, sweep table) is malformed.
class FormatError : public Error {
public:
    using Error::Error;
};

// A caller passed an invalid argument (bad parameters, prompt too long, ...).
class ArgumentError : public Error {
public:
    using Error::Error;
};

// A model folder is unusable (missing file or tensor, wrong shape, unsupported architecture).
class ModelError : public Error {
public:
    using Error::Error;
};

// The compute backend failed (CUDA error, out of memory, libtorch error).
class BackendError : public Error {
public:
    using Error::Error;
};

// Operating-system level I/O failure (cannot open, write or rename a file).
class IoError : public Error {
public:
    using Error::Error;
};

// Thrown when a run is asked to stop. It is an outcome, not an error: it does not derive from
// Error so that `catch (const Error&)` never swallows it.
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

} // namespace sparsetrace
