// RULER-style needle-in-a-haystack prompts and their scoring (see niah.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/niah.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"
#include "sparsetrace/core/utf8.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <cmath>
#include <fstream>
#include <sstream>

namespace sparsetrace::core {

namespace {

// Word lists for keys (our own choice of plain English words).
constexpr std::array<const char*, 64> kAdjectives = {
    "amber",   "ancient", "bitter",  "bold",    "brave",   "bright",  "broad",   "calm",    "clever",  "cold",
    "crimson", "curious", "daring",  "distant", "dusty",   "eager",   "early",   "fair",    "fierce",  "fragile",
    "gentle",  "gilded",  "golden",  "grand",   "green",   "hidden",  "hollow",  "humble",  "icy",     "idle",
    "jolly",   "keen",    "lively",  "lonely",  "lucky",   "mellow",  "misty",   "narrow",  "noble",   "odd",
    "pale",    "patient", "polite",  "proud",   "quiet",   "rapid",   "rare",    "restless", "rough",  "rustic",
    "scarlet", "shy",     "silent",  "silver",  "smooth",  "solemn",  "steady",  "stormy",  "swift",   "tender",
    "velvet",  "vivid",   "wild",    "witty"};
constexpr std::array<const char*, 64> kNouns = {
    "anchor",  "apple",   "arrow",   "badger",  "basket",  "beacon",  "bridge",  "candle",  "canyon",  "castle",
    "cedar",   "comet",   "compass", "cottage", "crane",   "crystal", "dragon",  "falcon",  "feather", "forest",
    "garden",  "glacier", "harbor",  "hammer",  "helmet",  "island",  "kettle",  "ladder",  "lantern", "lemon",
    "meadow",  "mirror",  "monkey",  "needle",  "oak",     "orchard", "otter",   "pebble",  "pepper",  "piano",
    "pigeon",  "planet",  "pocket",  "quartz",  "rabbit",  "ribbon",  "river",   "saddle",  "shadow",  "spoon",
    "squirrel", "stone",  "sunset",  "thistle", "thunder", "tiger",   "tulip",   "valley",  "violin",  "walnut",
    "willow",  "window",  "winter",  "zebra"};

// splitmix64: a fixed generator so that seeds mean the same needle everywhere.
std::uint64_t splitmix64(std::uint64_t& state)
{
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::string replaceAll(std::string s, std::string_view what, std::string_view with)
{
    for (std::size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
        s.replace(pos, what.size(), with);
    return s;
}

std::vector<std::string> splitHaystackSentences(std::string_view text)
{
    // Whitespace runs become one space (RULER normalises its essays the same way).
    std::string flat;
    bool space = false;
    for (char ch : text) {
        const bool ws = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
        if (ws) {
            space = !flat.empty();
            continue;
        }
        if (space) flat.push_back(' ');
        space = false;
        flat.push_back(ch);
    }
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i < flat.size(); ++i) {
        if ((flat[i] == '.' || flat[i] == '?' || flat[i] == '!') && i + 1 < flat.size() && flat[i + 1] == ' ') {
            out.push_back(flat.substr(start, i + 1 - start));
            start = i + 2;
        }
    }
    if (start < flat.size()) out.push_back(flat.substr(start));
    return out;
}

struct Assembled {
    std::string text;
    CharSpan needle;
};

Assembled assemble(const Haystack& hay, std::size_t n, const NiahPromptSpec& spec, const std::string& needleSentence)
{
    const std::size_t at = spec.depth >= 100.0 ? n : static_cast<std::size_t>(std::floor(static_cast<double>(n) * spec.depth / 100.0));
    std::string context;
    std::int64_t needleStart = 0;
    for (std::size_t i = 0; i <= n; ++i) {
        if (i == at) {
            if (!context.empty()) context += ' ';
            needleStart = static_cast<std::int64_t>(codePointCount(context));
            context += needleSentence;
        }
        if (i == n) break;
        if (!context.empty()) context += ' ';
        context += hay.sentence(i);
    }
    // {key} first so that a haystack that happens to contain "{key}" stays as it is.
    std::string head = replaceAll(spec.templates.prompt, "{key}", spec.needle.key);
    const std::size_t slot = head.find("{context}");
    if (slot == std::string::npos) throw ArgumentError("NIAH prompt template lacks {context}");
    const std::int64_t before = static_cast<std::int64_t>(codePointCount(std::string_view(head).substr(0, slot)));
    Assembled a;
    a.text = head.substr(0, slot) + context + head.substr(slot + 9) + replaceAll(spec.templates.answerPrefix, "{key}", spec.needle.key);
    a.needle = {before + needleStart, before + needleStart + static_cast<std::int64_t>(codePointCount(needleSentence))};
    return a;
}

} // namespace

Haystack Haystack::fromText(std::string_view text, std::string name)
{
    if (!isValidUtf8(text)) throw ArgumentError("haystack " + name + ": the text is not valid UTF-8");
    Haystack h;
    h.m_name = std::move(name);
    h.m_sentences = splitHaystackSentences(text);
    if (h.m_sentences.empty()) throw ArgumentError("haystack " + h.m_name + ": the text holds no sentence");
    return h;
}

Haystack Haystack::fromFile(const std::string& path)
{
    return fromText(readFileBytes(path, "the haystack text"), path);
}

Haystack Haystack::noise() { return fromText(kNoiseHaystack, "noise"); }

Haystack Haystack::fromSpec(const std::string& spec) { return spec == "noise" ? noise() : fromFile(spec); }

NiahNeedle drawNeedle(std::uint64_t seed)
{
    std::uint64_t state = seed;
    NiahNeedle n;
    n.key = std::string(kAdjectives[splitmix64(state) % kAdjectives.size()]) + "-" + kNouns[splitmix64(state) % kNouns.size()];
    n.value = std::to_string(1000000 + splitmix64(state) % 9000000); // 7 digits, no leading zero
    return n;
}

NiahPrompt buildNiahPrompt(const Haystack& haystack, const NiahPromptSpec& spec, const TokenCounter& countTokens)
{
    if (!(spec.depth >= 0.0 && spec.depth <= 100.0))
        throw ArgumentError("needle depth must lie in [0, 100] percent, got " + std::to_string(spec.depth));
    if (spec.targetTokens < 1) throw ArgumentError("target length must be at least 1 token");
    if (spec.tokensToGenerate < 0) throw ArgumentError("tokens to generate must not be negative");
    if (!countTokens) throw ArgumentError("NIAH prompt: no token counter");
    if (spec.needle.key.empty() || spec.needle.value.empty()) throw ArgumentError("NIAH prompt: the needle has no key or value");
    const std::string needleSentence =
        replaceAll(replaceAll(spec.templates.needle, "{key}", spec.needle.key), "{value}", spec.needle.value);
    const auto budget = static_cast<std::size_t>(spec.targetTokens - std::min(spec.targetTokens, spec.tokensToGenerate));
    auto fits = [&](std::size_t n, std::size_t& tokens) {
        tokens = countTokens(assemble(haystack, n, spec, needleSentence).text);
        return tokens <= budget;
    };
    std::size_t tokens = 0;
    if (spec.tokensToGenerate >= spec.targetTokens || !fits(0, tokens))
        throw ArgumentError("target length " + std::to_string(spec.targetTokens) +
                            " tokens is too short for the template and needle alone plus " +
                            std::to_string(spec.tokensToGenerate) + " tokens to generate");
    // Every haystack sentence adds at least one token, so more than `budget` never fit.
    std::size_t lo = 0, hi = 1;
    while (hi <= budget && fits(hi, tokens)) {
        lo = hi;
        hi *= 2;
    }
    hi = std::min(hi, budget + 1);
    while (hi - lo > 1) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (fits(mid, tokens)) lo = mid;
        else hi = mid;
    }
    NiahPrompt p;
    const Assembled a = assemble(haystack, lo, spec, needleSentence);
    p.text = a.text;
    p.needle = spec.needle;
    p.depth = spec.depth;
    p.needleChars = a.needle;
    p.haystackSentences = lo;
    p.promptTokens = countTokens(p.text);
    if (p.promptTokens > budget) throw ArgumentError("NIAH prompt: the token counter is not monotone in the haystack length");
    return p;
}

bool niahRetrieved(std::string_view generated, std::string_view value)
{
    auto fold = [](std::string_view s) {
        std::string out;
        for (std::size_t i = 0; i < s.size();) {
            const char32_t c = decodeUtf8(s, i);
            appendUtf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
        }
        return out;
    };
    if (value.empty()) return false;
    return fold(generated).find(fold(value)) != std::string::npos;
}

nlohmann::json needleAnnotation(const NiahPrompt& prompt, TokenSpan tokens)
{
    return {{"key", prompt.needle.key},
            {"value", prompt.needle.value},
            {"depth", prompt.depth},
            {"char_start", prompt.needleChars.start},
            {"char_end", prompt.needleChars.end},
            {"token_start", tokens.start},
            {"token_end", tokens.end}};
}

std::optional<TokenSpan> needleTokens(const TraceInfo& info)
{
    const auto& a = info.annotations;
    if (!a.is_object() || !a.contains("needle") || !a["needle"].is_object()) return std::nullopt;
    const auto& n = a["needle"];
    if (!n.contains("token_start") || !n.contains("token_end") || !n["token_start"].is_number_integer() ||
        !n["token_end"].is_number_integer())
        return std::nullopt;
    const auto start = n["token_start"].get<std::int64_t>(), end = n["token_end"].get<std::int64_t>();
    if (start < 0 || end <= start || end > static_cast<std::int64_t>(info.tokens.size())) return std::nullopt;
    return TokenSpan{static_cast<decltype(TokenSpan::start)>(start), static_cast<decltype(TokenSpan::end)>(end)};
}

std::optional<NeedleSummary> needleSummary(const Trace& trace)
{
    const TraceInfo& info = trace.info();
    const auto& a = info.annotations;
    if (!a.is_object() || !a.contains("needle") || !a["needle"].is_object()) return std::nullopt;
    const auto& n = a["needle"];
    auto has = [&](const char* f, bool (nlohmann::json::*is)() const noexcept) { return n.contains(f) && (n[f].*is)(); };
    const auto span = needleTokens(info);
    if (!has("value", &nlohmann::json::is_string) || !span) return std::nullopt;
    NeedleSummary s;
    s.key = has("key", &nlohmann::json::is_string) ? n["key"].get<std::string>() : std::string();
    s.value = n["value"].get<std::string>();
    s.depth = has("depth", &nlohmann::json::is_number) ? n["depth"].get<double>() : 0.0;
    s.tokenStart = static_cast<std::int64_t>(span->start);
    s.tokenEnd = static_cast<std::int64_t>(span->end);
    s.k = info.params.k;
    s.scoreRule = std::string(scoreRuleName(info.params.score));
    s.sparsity = traceSparsity(trace).sparsity();

    const TokenTable& t = info.tokens;
    const std::size_t T = static_cast<std::size_t>(std::max<std::int64_t>(0, info.promptTokens));
    if (info.generatedTokens > 0 && t.strings.size() > T) {
        std::string generated;
        for (std::size_t i = T; i < t.strings.size(); ++i) generated += t.strings[i];
        s.retrieved = niahRetrieved(generated, s.value);
    }
    if (info.behaviour && !info.behaviour->denseTokens.empty()) {
        const BehaviourCheck& b = *info.behaviour;
        if (b.denseTokens == b.sparseTokens && s.retrieved) {
            s.denseRetrieved = s.retrieved;
        } else {
            // Spell the dense tokens with the strings the trace holds for the same ids; an id the
            // trace never saw leaves the answer open unless the value is found anyway.
            std::map<std::int32_t, const std::string*> spelling;
            for (std::size_t i = 0; i < t.ids.size() && i < t.strings.size(); ++i) spelling.emplace(t.ids[i], &t.strings[i]);
            std::string dense;
            bool complete = true;
            for (std::int32_t id : b.denseTokens) {
                const auto it = spelling.find(id);
                if (it == spelling.end()) {
                    complete = false;
                    dense += '\x1f'; // breaks a match across the unknown token
                } else {
                    dense += *it->second;
                }
            }
            const bool found = niahRetrieved(dense, s.value);
            if (found || complete) s.denseRetrieved = found;
        }
    }
    return s;
}

std::string NeedleSummary::line() const
{
    std::ostringstream o;
    o << "Needle " << (key.empty() ? std::string("?") : key) << " = " << value << " (tokens " << tokenStart << "-"
      << (tokenEnd - 1) << ", depth " << depth << "%): ";
    auto word = [](const std::optional<bool>& r) { return !r ? std::string("unknown") : *r ? std::string("retrieved") : std::string("lost"); };
    if (retrieved && denseRetrieved && *retrieved == *denseRetrieved)
        o << word(retrieved) << " densely and sparsely";
    else
        o << word(denseRetrieved) << " densely, " << word(retrieved) << " sparsely";
    char sp[32];
    std::snprintf(sp, sizeof sp, "%.2f", sparsity);
    o << " at sparsity " << sp << " (K = " << k << ", " << scoreRule << ")";
    return o.str();
}

} // namespace sparsetrace::core
