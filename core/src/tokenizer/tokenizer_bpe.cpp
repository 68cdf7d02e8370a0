// The BPE model: a word becomes one symbol per byte (byte-level) or per code point (with byte
// fallback and unknown-token fusing), then merges are applied lowest rank first, leftmost first,
// through a min-heap over a linked list of symbols: O(n log n) in the word length, which matters
// for Gemma, whose pre-tokenizer leaves whole paragraphs as one word.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer/tokenizer_internal.h"

#include "sparsetrace/core/utf8.h"

#include <algorithm>

namespace sparsetrace::core::tok {

BpeModel::BpeModel()
{
    std::fill(std::begin(byteIds), std::end(byteIds), -1);
}

BpeModel::~BpeModel() = default;

namespace {
std::size_t charLen(unsigned char lead)
{
    if (lead < 0x80) return 1;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    return 4;
}
} // namespace

void BpeModel::tokenize(std::string_view word, std::vector<BpeToken>& out, BpeScratch& scratch) const
{
    if (word.empty()) return;
    auto& syms = scratch.symbols;
    syms.clear();
    auto add = [&](std::int32_t id, std::uint32_t start, std::uint32_t len) {
        const auto idx = static_cast<std::int32_t>(syms.size());
        syms.push_back({id, start, len, idx - 1, -1});
        if (idx > 0) syms[static_cast<std::size_t>(idx) - 1].next = idx;
    };

    if (ignoreMerges) {
        std::int32_t whole = -1;
        if (byteLevel) {
            scratch.buffer.clear();
            for (const char c : word) appendUtf8(scratch.buffer, byteToUnicode(static_cast<std::uint8_t>(c)));
            whole = vocab->find(scratch.buffer);
        } else {
            whole = vocab->find(word);
        }
        if (whole >= 0) {
            out.push_back({whole, 0, static_cast<std::uint32_t>(word.size())});
            return;
        }
    }

    if (byteLevel) {
        for (std::size_t i = 0; i < word.size(); ++i) {
            const std::int32_t id = byteIds[static_cast<unsigned char>(word[i])];
            if (id >= 0) {
                add(id, static_cast<std::uint32_t>(i), 1);
            } else if (unkId >= 0) {
                // A byte-level vocabulary lacking a byte: HF's unknown handling applies.
                if (fuseUnk && !syms.empty() && syms.back().id == unkId &&
                    syms.back().start + syms.back().len == i)
                    syms.back().len += 1;
                else
                    add(unkId, static_cast<std::uint32_t>(i), 1);
            }
        }
    } else {
        // Pending unknown span, flushed before the next known symbol (HF fuses consecutive ones).
        std::int32_t unkStart = -1;
        std::uint32_t unkLen = 0;
        auto flushUnk = [&]() {
            if (unkStart >= 0) add(unkId, static_cast<std::uint32_t>(unkStart), unkLen);
            unkStart = -1;
            unkLen = 0;
        };
        std::size_t i = 0;
        while (i < word.size()) {
            const std::size_t len = std::min(charLen(static_cast<unsigned char>(word[i])), word.size() - i);
            std::size_t j = i;
            const char32_t cp = decodeUtf8(word, j);
            const PairTable::Value* v = charIds.find(cp);
            if (v) {
                flushUnk();
                add(v->id, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(len));
            } else {
                bool done = false;
                if (byteFallback) {
                    bool all = true;
                    for (std::size_t k = 0; k < len; ++k)
                        all = all && byteIds[static_cast<unsigned char>(word[i + k])] >= 0;
                    if (all) {
                        for (std::size_t k = 0; k < len; ++k)
                            add(byteIds[static_cast<unsigned char>(word[i + k])], static_cast<std::uint32_t>(i + k), 1);
                        done = true;
                    }
                }
                if (!done && unkId >= 0) {
                    if (unkStart >= 0 && fuseUnk) {
                        unkLen += static_cast<std::uint32_t>(len);
                    } else {
                        flushUnk();
                        unkStart = static_cast<std::int32_t>(i);
                        unkLen = static_cast<std::uint32_t>(len);
                    }
                }
                // Without an unknown token HF drops the character.
            }
            i += len;
        }
        flushUnk();
    }
    if (syms.empty()) return;

    // Merge queue: min-heap on (rank, position); stale entries are skipped on pop.
    auto& heap = scratch.heap;
    heap.clear();
    auto cmp = [](const BpeScratch::Merge& x, const BpeScratch::Merge& y) { return x.key > y.key; };
    for (std::size_t p = 0; p + 1 < syms.size(); ++p) {
        if (const PairTable::Value* m = merges.find(pairKey(syms[p].id, syms[p + 1].id)))
            heap.push_back({(static_cast<std::uint64_t>(m->rank) << 32) | p, m->id});
    }
    std::make_heap(heap.begin(), heap.end(), cmp);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), cmp);
        const BpeScratch::Merge top = heap.back();
        heap.pop_back();
        const auto pos = static_cast<std::int32_t>(top.key & 0xFFFFFFFFu);
        auto& left = syms[static_cast<std::size_t>(pos)];
        if (left.len == 0 || left.next < 0) continue;
        auto& right = syms[static_cast<std::size_t>(left.next)];
        const PairTable::Value* m = merges.find(pairKey(left.id, right.id));
        if (!m || m->id != top.newId) continue;
        left.id = top.newId;
        left.len += right.len;
        right.len = 0;
        left.next = right.next;
        if (left.next >= 0) syms[static_cast<std::size_t>(left.next)].prev = pos;
        if (left.prev >= 0) {
            const auto& prev = syms[static_cast<std::size_t>(left.prev)];
            if (const PairTable::Value* pm = merges.find(pairKey(prev.id, left.id))) {
                heap.push_back({(static_cast<std::uint64_t>(pm->rank) << 32) | static_cast<std::uint32_t>(left.prev), pm->id});
                std::push_heap(heap.begin(), heap.end(), cmp);
            }
        }
        if (left.next >= 0) {
            const auto& next = syms[static_cast<std::size_t>(left.next)];
            if (const PairTable::Value* nm = merges.find(pairKey(left.id, next.id))) {
                heap.push_back({(static_cast<std::uint64_t>(nm->rank) << 32) | static_cast<std::uint32_t>(pos), nm->id});
                std::push_heap(heap.begin(), heap.end(), cmp);
            }
        }
    }
    for (std::int32_t p = 0; p >= 0; p = syms[static_cast<std::size_t>(p)].next) {
        const auto& s = syms[static_cast<std::size_t>(p)];
        out.push_back({s.id, s.start, s.len});
    }
}

} // namespace sparsetrace::core::tok
