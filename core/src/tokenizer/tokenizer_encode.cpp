// Tokenizer, encoding: text to ids with Hugging Face's offsets, and chat prompts.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer_pipeline.h"

namespace sparsetrace::core {

// ---- encode --------------------------------------------------------------------------------

void Tokenizer::Impl::pushToken(Encoding& enc, std::int32_t id, Align orig, CodePointCursor& cps, bool special) const
{
    if (trimOffsets) {
        // ByteLevel post-processor with trim_offsets: leading/trailing spaces (Ġ) leave the span.
        const std::string_view t = tokenOf(id);
        std::vector<char32_t> cpsOf;
        for (std::size_t i = 0; i < t.size();) cpsOf.push_back(decodeUtf8(t, i));
        auto isSpace = [](char32_t c) { return c == 0x120 || isUnicodeWhitespace(c); };
        std::size_t lead = 0;
        while (lead < cpsOf.size() && isSpace(cpsOf[lead])) ++lead;
        std::size_t trail = 0;
        while (trail < cpsOf.size() && isSpace(cpsOf[cpsOf.size() - 1 - trail])) ++trail;
        if (lead > 0) {
            const bool isFirst = enc.ids.empty() || orig.start == 0;
            if (isFirst && trimAddPrefixSpace && lead == 1) lead = 0;
            orig.start = std::min<std::uint32_t>(orig.start + static_cast<std::uint32_t>(lead), orig.end);
        }
        if (trail > 0 && orig.end >= trail) orig.end = std::max<std::uint32_t>(orig.end - static_cast<std::uint32_t>(trail), orig.start);
    }
    enc.ids.push_back(id);
    const std::uint32_t s = cps.at(orig.start);
    const std::uint32_t e = cps.at(orig.end);
    enc.offsets.emplace_back(s, e);
    enc.special.push_back(special);
}

void Tokenizer::Impl::encodeSegment(std::string_view text, std::size_t b, std::size_t e, Encoding& enc,
                                    CodePointCursor& cps, WordCache& cache, BpeScratch& scratch,
                                    std::vector<BpeToken>& toks) const
{
    NormalizedText nt(text, b, e);
    for (const NormalizerStep& n : normalizers) {
        switch (n.kind) {
        case NormalizerStep::Nfc: nt.nfc(); break;
        case NormalizerStep::ReplaceLiteral: nt.replaceLiteral(n.pattern, n.content); break;
        case NormalizerStep::ReplaceRegex: {
            std::vector<std::pair<std::size_t, std::size_t>> m;
            n.regex->findAll(nt.text(), m);
            nt.replaceMatches(m, n.content);
            break;
        }
        case NormalizerStep::Prepend: nt.prepend(n.content); break;
        }
    }
    if (byteLevelPrefixSpace && !nt.text().empty() && nt.text()[0] != ' ') nt.prepend(" ");
    const std::string& norm = nt.text();
    if (norm.empty()) return;

    // Pre-tokenize: pieces are byte ranges of the normalized text.
    std::vector<std::pair<std::size_t, std::size_t>> pieces{{0, norm.size()}};
    std::vector<std::pair<std::size_t, std::size_t>> next, matches;
    std::vector<std::pair<std::pair<std::size_t, std::size_t>, bool>> marked;
    for (const PreTokenizerStep& step : preTokenizers) {
        next.clear();
        for (const auto& [ps, pe] : pieces) {
            const std::string_view piece(norm.data() + ps, pe - ps);
            matches.clear();
            if (step.kind == PreTokenizerStep::SplitRegex) {
                step.regex->findAll(piece, matches);
            } else if (!step.literal.empty()) {
                for (std::size_t p = piece.find(step.literal); p != std::string_view::npos;
                     p = piece.find(step.literal, p + step.literal.size()))
                    matches.emplace_back(p, p + step.literal.size());
            }
            // (offsets, is_match) over the whole piece, as HF's Pattern::find_matches.
            marked.clear();
            std::size_t prev = 0;
            for (const auto& [ms, me] : matches) {
                if (ms > prev) marked.push_back({{prev, ms}, false});
                marked.push_back({{ms, me}, true});
                prev = me;
            }
            if (prev < piece.size()) marked.push_back({{prev, piece.size()}, false});
            if (step.invert)
                for (auto& m : marked) m.second = !m.second;
            std::vector<std::pair<std::size_t, std::size_t>> out;
            switch (step.behavior) {
            case SplitBehavior::Isolated:
                for (const auto& m : marked) out.push_back(m.first);
                break;
            case SplitBehavior::Removed:
                for (const auto& m : marked)
                    if (!m.second) out.push_back(m.first);
                break;
            case SplitBehavior::MergedWithPrevious: {
                bool prevMatch = false;
                for (const auto& m : marked) {
                    if (m.second && !prevMatch && !out.empty())
                        out.back().second = m.first.second;
                    else
                        out.push_back(m.first);
                    prevMatch = m.second;
                }
                break;
            }
            case SplitBehavior::MergedWithNext: {
                bool prevMatch = false;
                for (auto it = marked.rbegin(); it != marked.rend(); ++it) {
                    if (it->second && !prevMatch && !out.empty())
                        out.back().first = it->first.first;
                    else
                        out.push_back(it->first);
                    prevMatch = it->second;
                }
                std::reverse(out.begin(), out.end());
                break;
            }
            case SplitBehavior::Contiguous: {
                bool prevMatch = false;
                for (const auto& m : marked) {
                    if (m.second == prevMatch && !out.empty())
                        out.back().second = m.first.second;
                    else
                        out.push_back(m.first);
                    prevMatch = m.second;
                }
                break;
            }
            }
            for (const auto& [s, t] : out)
                if (t > s) next.emplace_back(ps + s, ps + t);
        }
        pieces.swap(next);
    }

    for (const auto& [ps, pe] : pieces) {
        const std::string_view word(norm.data() + ps, pe - ps);
        const std::vector<BpeToken>* result = nullptr;
        if (word.size() <= WordCache::kMaxWord) result = cache.find(word);
        if (!result) {
            toks.clear();
            bpe.tokenize(word, toks, scratch);
            if (word.size() <= WordCache::kMaxWord) {
                cache.put(word, toks);
                result = cache.find(word);
            } else {
                result = &toks;
            }
        }
        for (const BpeToken& t : *result)
            pushToken(enc, t.id, nt.originalRange(ps + t.start, ps + t.start + t.len), cps, false);
    }
}

Encoding Tokenizer::encode(std::string_view text, bool addSpecialTokens) const
{
    const Impl& d = *m_impl;
    if (!isValidUtf8(text)) throw ArgumentError("tokenizer: the text is not valid UTF-8");
    if (text.size() > 0xFFFFFFF0u) throw ArgumentError("tokenizer: the text is larger than 4 GiB");
    Encoding enc;
    enc.ids.reserve(text.size() / 3 + 4);
    enc.offsets.reserve(text.size() / 3 + 4);
    CodePointCursor cps(text);
    WordCache cache;
    BpeScratch scratch;
    std::vector<BpeToken> toks;

    std::size_t segStart = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!d.trie.empty()) {
            const auto [t, len] = d.trie.longestAt(text, i);
            if (t >= 0) {
                if (i > segStart) d.encodeSegment(text, segStart, i, enc, cps, cache, scratch, toks);
                const AddedToken& a = d.added[static_cast<std::size_t>(t)];
                d.pushToken(enc, a.id, {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + len)}, cps, a.special);
                i += len;
                segStart = i;
                continue;
            }
        }
        ++i;
    }
    if (segStart < text.size()) d.encodeSegment(text, segStart, text.size(), enc, cps, cache, scratch, toks);

    if (addSpecialTokens && !d.singleTemplate.empty()) {
        Encoding out;
        for (const TemplateItem& item : d.singleTemplate) {
            if (item.sequence) {
                out.ids.insert(out.ids.end(), enc.ids.begin(), enc.ids.end());
                out.offsets.insert(out.offsets.end(), enc.offsets.begin(), enc.offsets.end());
                out.special.insert(out.special.end(), enc.special.begin(), enc.special.end());
            } else {
                for (const std::int32_t id : item.ids) {
                    out.ids.push_back(id);
                    out.offsets.emplace_back(0, 0);
                    out.special.push_back(true);
                }
            }
        }
        return out;
    }
    return enc;
}

// ---- chat ----------------------------------------------------------------------------------

ChatFormat Tokenizer::chatFormat() const { return m_impl->chat; }

std::string Tokenizer::formatChat(std::string_view userMessage) const
{
    const Impl& d = *m_impl;
    switch (d.chat) {
    case ChatFormat::DeepSeekR1:
        // bos + '<｜User｜>' + content + '<｜Assistant｜>' (+ '<think>\n' in the R1 distills' template)
        return d.bosToken + "<\xEF\xBD\x9CUser\xEF\xBD\x9C>" + std::string(userMessage) +
               "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>" + (d.chatThink ? "<think>\n" : "");
    case ChatFormat::Gemma3: {
        // The template trims the message (Jinja's trim = Python str.strip()).
        std::vector<std::size_t> starts;
        const std::string msg(userMessage);
        std::size_t b = 0;
        std::size_t e = msg.size();
        for (std::size_t i = 0; i < msg.size();) {
            const std::size_t s = i;
            if (!isPythonSpace(decodeUtf8(msg, i))) {
                b = s;
                break;
            }
            b = i;
        }
        std::size_t lastNonSpaceEnd = b;
        for (std::size_t i = b; i < msg.size();) {
            if (!isPythonSpace(decodeUtf8(msg, i))) lastNonSpaceEnd = i;
        }
        e = lastNonSpaceEnd;
        return d.bosToken + "<start_of_turn>user\n" + msg.substr(b, e - b) + "<end_of_turn>\n<start_of_turn>model\n";
    }
    case ChatFormat::ChatML: {
        std::string out;
        if (!d.chatSystemDefault.empty()) out += "<|im_start|>system\n" + d.chatSystemDefault + "<|im_end|>\n";
        out += "<|im_start|>user\n" + std::string(userMessage) + "<|im_end|>\n<|im_start|>assistant\n";
        return out;
    }
    case ChatFormat::None: break;
    }
    throw ArgumentError(d.source + ": no chat template this build can render (DeepSeek-R1, Gemma 3 or ChatML) in "
                                   "tokenizer_config.json");
}

Encoding Tokenizer::encodeChat(std::string_view userMessage) const
{
    return encode(formatChat(userMessage), false);
}

const char* chatFormatName(ChatFormat format)
{
    switch (format) {
    case ChatFormat::DeepSeekR1: return "deepseek-r1";
    case ChatFormat::Gemma3: return "gemma3";
    case ChatFormat::ChatML: return "chatml";
    case ChatFormat::None: break;
    }
    return "none";
}

} // namespace sparsetrace::core
