// Tokenizer, decoding: ids to text through the tokenizer.json decoders.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer_pipeline.h"

namespace sparsetrace::core {

// ---- decode --------------------------------------------------------------------------------

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skipSpecialTokens) const
{
    const Impl& d = *m_impl;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const std::int32_t id : ids) {
        if (id < 0 || static_cast<std::size_t>(id) >= vocabSize() ||
            (!d.vocab.has(id) && !d.addedById.count(id)))
            throw ArgumentError("tokenizer: cannot decode id " + std::to_string(id) + " (vocabulary size " +
                                std::to_string(vocabSize()) + ")");
        if (skipSpecialTokens && isSpecial(id)) continue;
        tokens.emplace_back(d.tokenOf(id));
    }
    if (!d.haveDecoder) {
        std::string out;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i) out.push_back(' ');
            out += tokens[i];
        }
        return out;
    }
    for (const DecoderStep& step : d.decoders) {
        switch (step.kind) {
        case DecoderStep::ByteLevel: {
            std::string bytes;
            for (const std::string& t : tokens) {
                std::string tb;
                bool ok = true;
                for (std::size_t i = 0; i < t.size() && ok;) {
                    const int b = unicodeToByte(decodeUtf8(t, i));
                    if (b < 0) ok = false;
                    else tb.push_back(static_cast<char>(b));
                }
                bytes += ok ? tb : t;
            }
            tokens.assign(1, utf8Lossy(bytes));
            break;
        }
        case DecoderStep::Replace:
            for (std::string& t : tokens) {
                if (step.pattern.empty()) break;
                std::string r;
                std::size_t prev = 0;
                for (std::size_t p = t.find(step.pattern); p != std::string::npos; p = t.find(step.pattern, prev)) {
                    r.append(t, prev, p - prev);
                    r += step.content;
                    prev = p + step.pattern.size();
                }
                r.append(t, prev, std::string::npos);
                t = std::move(r);
            }
            break;
        case DecoderStep::ByteFallback: {
            std::vector<std::string> out;
            std::string pending;
            auto flush = [&]() {
                if (pending.empty()) return;
                if (isValidUtf8(pending)) {
                    out.push_back(pending);
                } else {
                    for (std::size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
                }
                pending.clear();
            };
            for (std::string& t : tokens) {
                if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
                    char* end = nullptr;
                    const std::string hex = t.substr(3, 2);
                    const long v = std::strtol(hex.c_str(), &end, 16);
                    if (end && *end == '\0' && std::isxdigit(static_cast<unsigned char>(hex[0])) &&
                        std::isxdigit(static_cast<unsigned char>(hex[1]))) {
                        pending.push_back(static_cast<char>(v));
                        continue;
                    }
                }
                flush();
                out.push_back(std::move(t));
            }
            flush();
            tokens = std::move(out);
            break;
        }
        case DecoderStep::Fuse: {
            std::string all;
            for (const std::string& t : tokens) all += t;
            tokens.assign(1, std::move(all));
            break;
        }
        case DecoderStep::Strip: {
            std::size_t ci = 0;
            const char32_t content = step.content.empty() ? 0 : decodeUtf8(step.content, ci);
            for (std::string& t : tokens) {
                std::vector<std::size_t> starts; // byte offset of each code point
                for (std::size_t i = 0; i < t.size();) {
                    starts.push_back(i);
                    decodeUtf8(t, i);
                }
                const std::size_t nc = starts.size();
                auto cpAt = [&](std::size_t k) {
                    std::size_t i = starts[k];
                    return decodeUtf8(t, i);
                };
                std::size_t startCut = 0;
                for (std::size_t k = 0; k < std::min(step.start, nc); ++k) {
                    if (cpAt(k) == content) startCut = k + 1;
                    else break;
                }
                std::size_t stopCut = nc;
                for (std::size_t k = 0; k < step.stop && k < nc; ++k) {
                    const std::size_t idx = nc - k - 1;
                    if (cpAt(idx) == content) stopCut = idx;
                    else break;
                }
                if (stopCut < startCut) stopCut = startCut;
                const std::size_t bs = startCut < nc ? starts[startCut] : t.size();
                const std::size_t be = stopCut < nc ? starts[stopCut] : t.size();
                t = t.substr(bs, be - bs);
            }
            break;
        }
        }
    }
    std::string out;
    for (const std::string& t : tokens) out += t;
    return out;
}

} // namespace sparsetrace::core
