// Tokenizer: reads tokenizer.json (+ tokenizer_config.json) into a pipeline of added-token
// splitting, normalizers, pre-tokenizers, the BPE model, post-processors and decoders, each
// limited to the components and options that the supported model families use; anything else
// is refused at load time with a message naming the component.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/tokenizer.h"

#include "tokenizer/tokenizer_internal.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/read_file.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/utf8.h"

#include "format/json_checked.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <nlohmann/json.hpp>
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

namespace sparsetrace::core {

using namespace tok;
using Json = nlohmann::json;

namespace {

// ---- regex (PCRE2, UTF + UCP, JIT) ---------------------------------------------------------

class Regex {
public:
    Regex(const std::string& pattern, const std::string& where)
    {
        int err = 0;
        PCRE2_SIZE errOffset = 0;
        m_code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                               &err, &errOffset, nullptr);
        if (!m_code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof(msg));
            throw FormatError(where + ": regex '" + pattern + "' is not supported: " +
                              reinterpret_cast<const char*>(msg) + " at offset " + std::to_string(errOffset));
        }
        m_jit = pcre2_jit_compile(m_code, PCRE2_JIT_COMPLETE) == 0;
    }
    ~Regex() { pcre2_code_free(m_code); }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Non-empty, non-overlapping matches of `s`, left to right.
    void findAll(std::string_view s, std::vector<std::pair<std::size_t, std::size_t>>& out) const
    {
        struct MatchData {
            pcre2_match_data* md;
            ~MatchData() { pcre2_match_data_free(md); }
        };
        thread_local std::unordered_map<const Regex*, std::unique_ptr<MatchData>> perThread;
        auto& slot = perThread[this];
        if (!slot) slot.reset(new MatchData{pcre2_match_data_create_from_pattern(m_code, nullptr)});
        pcre2_match_data* md = slot->md;
        std::size_t pos = 0;
        const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
        while (pos < s.size()) {
            const int rc = m_jit ? pcre2_jit_match(m_code, subject, s.size(), pos, 0, md, nullptr)
                                 : pcre2_match(m_code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) throw ArgumentError("tokenizer: regex match failed (PCRE2 error " + std::to_string(rc) + ")");
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            const std::size_t ms = ov[0];
            const std::size_t me = ov[1];
            if (me == ms) { // empty match: step over one code point
                pos = ms + 1;
                while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
                continue;
            }
            out.emplace_back(ms, me);
            pos = me;
        }
    }

private:
    pcre2_code* m_code = nullptr;
    bool m_jit = false;
};

// The GPT-2 pattern that ByteLevel applies when use_regex is true.
const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// ---- component descriptions ----------------------------------------------------------------

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct NormalizerStep {
    enum Kind { Nfc, ReplaceLiteral, ReplaceRegex, Prepend } kind;
    std::string pattern;
    std::string content;
    std::shared_ptr<Regex> regex;
};

struct PreTokenizerStep {
    enum Kind { SplitLiteral, SplitRegex } kind;
    std::string literal;
    std::shared_ptr<Regex> regex;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
};

struct DecoderStep {
    enum Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip } kind;
    std::string pattern;
    std::string content;
    std::size_t start = 0;
    std::size_t stop = 0;
};

struct TemplateItem {
    bool sequence = false;           // the encoded text ($A)
    std::vector<std::int32_t> ids;   // the special token's ids otherwise
};

struct AddedToken {
    std::string content;
    std::int32_t id;
    bool special;
};

// Trie over the bytes of the added tokens, for leftmost-longest matching on the raw text.
class AddedTokenTrie {
public:
    void build(const std::vector<AddedToken>& tokens)
    {
        m_terminal.assign(1, -1);
        m_edges = PairTable();
        std::fill(std::begin(m_first), std::end(m_first), false);
        for (std::size_t t = 0; t < tokens.size(); ++t) {
            const std::string& s = tokens[t].content;
            if (s.empty()) continue;
            m_first[static_cast<unsigned char>(s[0])] = true;
            std::int32_t node = 0;
            for (const char c : s) {
                const std::uint64_t key = (static_cast<std::uint64_t>(node) << 8) | static_cast<unsigned char>(c);
                if (const PairTable::Value* v = m_edges.find(key)) {
                    node = v->id;
                } else {
                    const auto child = static_cast<std::int32_t>(m_terminal.size());
                    m_terminal.push_back(-1);
                    m_edges.insert(key, {0, child});
                    node = child;
                }
            }
            m_terminal[static_cast<std::size_t>(node)] = static_cast<std::int32_t>(t);
        }
    }
    bool empty() const { return m_terminal.size() <= 1; }
    // Longest token matching at text[i...]: (token index, length) or (-1, 0).
    std::pair<std::int32_t, std::size_t> longestAt(std::string_view text, std::size_t i) const
    {
        if (!m_first[static_cast<unsigned char>(text[i])]) return {-1, 0};
        std::int32_t node = 0;
        std::pair<std::int32_t, std::size_t> best{-1, 0};
        for (std::size_t j = i; j < text.size(); ++j) {
            const std::uint64_t key = (static_cast<std::uint64_t>(node) << 8) | static_cast<unsigned char>(text[j]);
            const PairTable::Value* v = m_edges.find(key);
            if (!v) break;
            node = v->id;
            if (m_terminal[static_cast<std::size_t>(node)] >= 0) best = {m_terminal[static_cast<std::size_t>(node)], j + 1 - i};
        }
        return best;
    }

private:
    bool m_first[256] = {};
    PairTable m_edges;                  // (node << 8 | byte) -> child node
    std::vector<std::int32_t> m_terminal; // [nodes] index of the token ending here, or -1
};

// Byte offset -> code point index, walking from the previous answer (tokens come in order).
class CodePointCursor {
public:
    explicit CodePointCursor(std::string_view text) : m_text(text) {}
    std::uint32_t at(std::size_t b)
    {
        while (m_byte < b) {
            if ((static_cast<unsigned char>(m_text[m_byte]) & 0xC0) != 0x80) ++m_cp;
            ++m_byte;
        }
        while (m_byte > b) {
            --m_byte;
            if ((static_cast<unsigned char>(m_text[m_byte]) & 0xC0) != 0x80) --m_cp;
        }
        // A byte inside a character maps to that character (HF's bytes-to-char map does the
        // same); only ByteLevel's trim_offsets produces such bytes.
        if (b < m_text.size() && (static_cast<unsigned char>(m_text[b]) & 0xC0) == 0x80) return static_cast<std::uint32_t>(m_cp - 1);
        return static_cast<std::uint32_t>(m_cp);
    }

private:
    std::string_view m_text;
    std::size_t m_byte = 0;
    std::size_t m_cp = 0;
};

// Per-call memo of BPE results by word (HF caches the same way); long words are not kept.
class WordCache {
public:
    static constexpr std::size_t kMaxWord = 96;
    const std::vector<BpeToken>* find(std::string_view w) const
    {
        auto it = m_map.find(w);
        return it == m_map.end() ? nullptr : &it->second;
    }
    void put(std::string_view w, std::vector<BpeToken> toks)
    {
        if (m_map.size() > 200000) return;
        m_keys.emplace_back(w);
        m_map.emplace(m_keys.back(), std::move(toks));
    }

private:
    std::deque<std::string> m_keys; // stable storage for the map's views
    std::unordered_map<std::string_view, std::vector<BpeToken>> m_map;
};

// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string utf8Lossy(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    const std::size_t n = s.size();
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < n) {
        const unsigned char c = byte(i);
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        std::size_t need = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        std::size_t got = 0;
        while (got < need && j < n) {
            const unsigned char d = byte(j);
            const bool ok = got == 0 ? (d >= lo && d <= hi) : (d >= 0x80 && d <= 0xBF);
            if (!ok) break;
            ++j;
            ++got;
        }
        if (got == need) {
            out.append(s.data() + i, j - i);
        } else {
            out += "\xEF\xBF\xBD";
        }
        i = j;
    }
    return out;
}

bool isUnicodeWhitespace(char32_t c)
{
    // Rust's char::is_whitespace / Python's str.isspace (White_Space, plus U+001C..U+001F for Python).
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool isPythonSpace(char32_t c) { return isUnicodeWhitespace(c) || (c >= 0x1C && c <= 0x1F); }

std::string tokenContent(const Json& v)
{
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return {};
}

} // namespace

// ---- Impl ----------------------------------------------------------------------------------

struct Tokenizer::Impl {
    std::string source;
    TokenTable vocab; // the model's vocabulary
    BpeModel bpe;
    std::vector<AddedToken> added;
    std::unordered_map<std::string, std::int32_t> addedByContent;
    std::unordered_map<std::int32_t, std::size_t> addedById;
    AddedTokenTrie trie;

    std::vector<NormalizerStep> normalizers;
    std::vector<PreTokenizerStep> preTokenizers;
    bool byteLevelPrefixSpace = false;
    bool trimOffsets = false;      // ByteLevel post-processor
    bool trimAddPrefixSpace = false;
    std::vector<TemplateItem> singleTemplate; // empty: no TemplateProcessing
    bool haveDecoder = false;
    std::vector<DecoderStep> decoders;

    std::string bosToken, eosToken;
    ChatFormat chat = ChatFormat::None;
    std::string chatSystemDefault; // ChatML: the template's default system prompt, if any
    bool chatThink = false;        // DeepSeek-R1: the generation prompt opens <think>\n

    void load(std::string_view json, std::string_view config);
    void parseModel(JsonCursor& cur, std::map<std::string, std::string_view>& modelRaw, std::string_view& mergesRaw);
    void parseVocab(JsonCursor& cur);
    void parseMerges(std::string_view raw);
    void parseNormalizer(const Json& j);
    void parsePreTokenizer(const Json& j, bool first);
    void parsePostProcessor(const Json& j);
    void parseDecoder(const Json& j);
    void parseConfig(std::string_view config);

    [[noreturn]] void unsupported(const std::string& what) const
    {
        throw FormatError(source + ": unsupported tokenizer component: " + what);
    }

    std::string_view tokenOf(std::int32_t id) const
    {
        if (auto it = addedById.find(id); it != addedById.end()) return added[it->second].content;
        return vocab.token(id);
    }

    void encodeSegment(std::string_view text, std::size_t b, std::size_t e, Encoding& enc, CodePointCursor& cps,
                       WordCache& cache, BpeScratch& scratch, std::vector<BpeToken>& toks) const;
    void pushToken(Encoding& enc, std::int32_t id, Align orig, CodePointCursor& cps, bool special) const;
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::fromJson(std::string_view tokenizerJson, std::string_view configJson, const std::string& source)
{
    auto impl = std::make_unique<Impl>();
    impl->source = source;
    try {
        impl->load(tokenizerJson, configJson);
    } catch (const Json::exception& e) {
        // The loader reads sections with nlohmann's typed accessors; a key of the wrong type or a
        // missing required key surfaces here, and is a malformed file like any other.
        throw FormatError(source + ": unexpected tokenizer.json structure (" + e.what() + ")");
    }
    return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::fromFile(const std::filesystem::path& tokenizerJson)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(tokenizerJson, ec))
        throw IoError(tokenizerJson.string() + ": no such file");
    auto mapped = MappedFile::open(tokenizerJson.string());
    const auto bytes = mapped->bytes();
    const std::string_view json(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::string config;
    const auto configPath = tokenizerJson.parent_path() / "tokenizer_config.json";
    if (std::filesystem::is_regular_file(configPath, ec)) config = readFileBytes(configPath);
    return fromJson(json, config, tokenizerJson.string());
}

Tokenizer Tokenizer::fromModelDir(const std::filesystem::path& dir)
{
    const auto path = dir / "tokenizer.json";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw ModelError(dir.string() + ": no tokenizer.json in the model folder");
    return fromFile(path);
}

void Tokenizer::Impl::load(std::string_view json, std::string_view config)
{
    JsonCursor cur(json, source);
    std::map<std::string, std::string_view> raw;
    std::map<std::string, std::string_view> modelRaw;
    std::string_view mergesRaw;
    bool haveModel = false;
    cur.expect('{');
    std::string key;
    if (!cur.consume('}')) {
        while (true) {
            cur.readString(key);
            cur.expect(':');
            if (key == "model") {
                parseModel(cur, modelRaw, mergesRaw);
                haveModel = true;
            } else {
                raw[key] = cur.skipValue();
            }
            if (cur.consume(',')) continue;
            cur.expect('}');
            break;
        }
    }
    if (!cur.atEnd()) cur.fail("trailing characters after the top-level object");
    if (!haveModel) throw FormatError(source + ": no \"model\" section");

    auto parseRaw = [&](std::string_view text, const std::string& what) {
        try {
            return Json::parse(text);
        } catch (const Json::exception& e) {
            throw FormatError(source + ": malformed JSON in \"" + what + "\": " + e.what());
        }
    };

    // Model options.
    Json model = Json::object();
    for (const auto& [k, v] : modelRaw) model[k] = parseRaw(v, "model." + k);
    const std::string type = model.value("type", std::string("BPE"));
    if (type != "BPE") unsupported("model type '" + type + "' (only BPE)");
    if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() != 0.0)
        unsupported("BPE dropout");
    for (const char* opt : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        if (model.contains(opt) && model[opt].is_string() && !model[opt].get<std::string>().empty())
            unsupported(std::string("BPE ") + opt);
    }
    bpe.byteFallback = model.value("byte_fallback", false);
    bpe.fuseUnk = model.value("fuse_unk", false);
    bpe.ignoreMerges = model.value("ignore_merges", false);
    vocab.buildIndex();
    bpe.vocab = &vocab;
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
        bpe.unkId = vocab.find(model["unk_token"].get<std::string>());
        if (bpe.unkId < 0) throw FormatError(source + ": unk_token is not in the vocabulary");
    }
    if (vocab.size() == 0) throw FormatError(source + ": the model has no vocab");
    parseMerges(mergesRaw);

    // Added tokens.
    if (auto it = raw.find("added_tokens"); it != raw.end()) {
        const Json arr = parseRaw(it->second, "added_tokens");
        if (!arr.is_array()) throw FormatError(source + ": \"added_tokens\" is not an array");
        for (const Json& t : arr) {
            if (!t.is_object() || !t.contains("id") || !t.contains("content"))
                throw FormatError(source + ": an added token lacks \"id\" or \"content\"");
            const auto id = jsonAs<std::int32_t>(t["id"]);
            // Added tokens extend the vocabulary; vocabSize() is their largest id + 1, so it is
            // bounded like the vocab's own ids.
            if (!id || *id < 0 || static_cast<std::size_t>(*id) >= vocab.size() + arr.size() + 1024)
                throw FormatError(source + ": an added token's \"id\" is not an integer near the vocabulary's " +
                                  std::to_string(vocab.size()) + " ids");
            AddedToken a{t["content"].get<std::string>(), *id, t.value("special", false)};
            for (const char* opt : {"lstrip", "rstrip", "single_word"})
                if (t.value(opt, false)) unsupported(std::string("added token option ") + opt + " (token " + a.content + ")");
            if (a.id < 0) throw FormatError(source + ": negative added token id");
            addedByContent[a.content] = a.id;
            addedById[a.id] = added.size();
            added.push_back(std::move(a));
        }
    }

    // Pipeline components.
    auto component = [&](const char* name) -> Json {
        auto it = raw.find(name);
        if (it == raw.end()) return Json();
        return parseRaw(it->second, name);
    };
    parseNormalizer(component("normalizer"));
    // Added tokens flagged normalized=true are matched on the normalized text by HF; with no
    // normalizer that is the raw text, which is what we match on.
    if (auto it = raw.find("added_tokens"); it != raw.end() && !normalizers.empty()) {
        for (const Json& t : parseRaw(it->second, "added_tokens"))
            if (t.value("normalized", false) && !t.value("special", false))
                unsupported("added token with normalized=true together with a normalizer (token " +
                            t["content"].get<std::string>() + ")");
    }
    trie.build(added);
    const Json pre = component("pre_tokenizer");
    parsePreTokenizer(pre, true);
    parsePostProcessor(component("post_processor"));
    parseDecoder(component("decoder"));
    for (const char* opt : {"truncation", "padding"}) {
        const Json j = component(opt);
        if (!j.is_null()) unsupported(std::string(opt) + " (tokenizer.json must have \"" + opt + "\": null)");
    }

    if (bpe.byteLevel) {
        for (int b = 0; b < 256; ++b) {
            std::string s;
            appendUtf8(s, byteToUnicode(static_cast<std::uint8_t>(b)));
            bpe.byteIds[b] = vocab.find(s);
        }
    } else {
        // Single-code-point tokens for the initial symbols, and <0xXX> tokens for byte fallback.
        for (std::size_t id = 0; id < vocab.size(); ++id) {
            const std::string_view t = vocab.token(static_cast<std::int32_t>(id));
            if (!vocab.has(static_cast<std::int32_t>(id)) || t.empty()) continue;
            std::size_t i = 0;
            const char32_t cp = decodeUtf8(t, i);
            if (i == t.size() && vocab.find(t) == static_cast<std::int32_t>(id)) bpe.charIds.insert(cp, {0, static_cast<std::int32_t>(id)});
        }
        if (bpe.byteFallback) {
            static const char* hex = "0123456789ABCDEF";
            for (int b = 0; b < 256; ++b) {
                const std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
                bpe.byteIds[b] = vocab.find(name);
            }
        }
    }
    parseConfig(config);
}

void Tokenizer::Impl::parseModel(JsonCursor& cur, std::map<std::string, std::string_view>& modelRaw,
                                 std::string_view& mergesRaw)
{
    cur.expect('{');
    if (cur.consume('}')) return;
    std::string key;
    while (true) {
        cur.readString(key);
        cur.expect(':');
        if (key == "vocab") {
            parseVocab(cur);
        } else if (key == "merges") {
            mergesRaw = cur.skipValue();
        } else {
            modelRaw[key] = cur.skipValue();
        }
        if (cur.consume(',')) continue;
        cur.expect('}');
        return;
    }
}

void Tokenizer::Impl::parseVocab(JsonCursor& cur)
{
    if (cur.peek() != '{') unsupported("model.vocab that is not an object (token -> id)");
    cur.expect('{');
    if (cur.consume('}')) return;
    std::string token;
    // The table is sized by the largest id, so a file naming id 2^28 for its only token would
    // claim gigabytes: entries are collected first and the ids must be dense (Hugging Face
    // vocabularies number their tokens 0..N-1; a few gaps are allowed).
    std::vector<std::pair<std::int32_t, std::string>> entries;
    std::int64_t maxId = 0;
    while (true) {
        cur.readString(token);
        cur.expect(':');
        const std::int64_t id = cur.readInteger();
        if (id < 0 || id > (std::int64_t(1) << 28)) cur.fail("vocab id out of range");
        maxId = std::max(maxId, id);
        entries.emplace_back(static_cast<std::int32_t>(id), token);
        if (cur.consume(',')) continue;
        cur.expect('}');
        break;
    }
    const auto count = static_cast<std::int64_t>(entries.size());
    if (maxId >= 2 * count + 1024)
        throw FormatError(source + ": model.vocab is sparse: its largest id is " + std::to_string(maxId) + " for " +
                          std::to_string(count) + " tokens");
    for (const auto& [id, text] : entries) vocab.set(id, text);
}

void Tokenizer::Impl::parseMerges(std::string_view raw)
{
    if (raw.empty()) return;
    JsonCursor cur(raw, source);
    cur.expect('[');
    if (cur.consume(']')) return;
    std::string a, b, joined;
    // (left, right, merged) ids in rank order; the table is sized once from their count.
    std::vector<std::int32_t> triples; // [M, 3] int32
    triples.reserve(raw.size() / 8);
    while (true) {
        if (cur.peek() == '"') {
            cur.readString(a);
            const std::size_t sp = a.find(' ');
            if (sp == std::string::npos || a.find(' ', sp + 1) != std::string::npos)
                cur.fail("merge \"" + a + "\" is not two tokens separated by one space");
            b.assign(a, sp + 1, std::string::npos);
            a.resize(sp);
        } else {
            cur.expect('[');
            cur.readString(a);
            cur.expect(',');
            cur.readString(b);
            cur.expect(']');
        }
        const std::int32_t ia = vocab.find(a);
        const std::int32_t ib = vocab.find(b);
        joined.assign(a).append(b);
        const std::int32_t ij = vocab.find(joined);
        if (ia < 0 || ib < 0 || ij < 0)
            throw FormatError(source + ": merge " + std::to_string(triples.size() / 3) + " (\"" + a + "\", \"" + b +
                              "\") uses a token missing from the vocab");
        triples.insert(triples.end(), {ia, ib, ij});
        if (cur.consume(',')) continue;
        cur.expect(']');
        break;
    }
    bpe.merges.reserve(triples.size() / 3);
    for (std::size_t m = 0; m < triples.size(); m += 3)
        bpe.merges.insert(pairKey(triples[m], triples[m + 1]), {static_cast<std::uint32_t>(m / 3), triples[m + 2]});
}

static SplitBehavior parseBehavior(const std::string& s, const Tokenizer::Impl& impl)
{
    if (s == "Removed") return SplitBehavior::Removed;
    if (s == "Isolated") return SplitBehavior::Isolated;
    if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (s == "Contiguous") return SplitBehavior::Contiguous;
    impl.unsupported("Split behavior '" + s + "'");
}

void Tokenizer::Impl::parseNormalizer(const Json& j)
{
    if (j.is_null()) return;
    const std::string type = j.value("type", std::string());
    if (type == "Sequence") {
        for (const Json& n : j.at("normalizers")) parseNormalizer(n);
    } else if (type == "NFC") {
        normalizers.push_back({NormalizerStep::Nfc, {}, {}, nullptr});
    } else if (type == "Replace") {
        const Json& p = j.at("pattern");
        const std::string content = j.at("content").get<std::string>();
        if (p.contains("String")) {
            normalizers.push_back({NormalizerStep::ReplaceLiteral, p["String"].get<std::string>(), content, nullptr});
        } else if (p.contains("Regex")) {
            const std::string re = p["Regex"].get<std::string>();
            normalizers.push_back({NormalizerStep::ReplaceRegex, re, content,
                                   std::make_shared<Regex>(re, source + ": normalizer Replace")});
        } else {
            unsupported("normalizer Replace pattern " + p.dump());
        }
    } else if (type == "Prepend") {
        normalizers.push_back({NormalizerStep::Prepend, {}, j.at("prepend").get<std::string>(), nullptr});
    } else {
        unsupported("normalizer '" + type + "'");
    }
}

void Tokenizer::Impl::parsePreTokenizer(const Json& j, bool first)
{
    if (j.is_null()) return;
    const std::string type = j.value("type", std::string());
    if (type == "Sequence") {
        bool isFirst = first;
        for (const Json& p : j.at("pretokenizers")) {
            parsePreTokenizer(p, isFirst);
            isFirst = false;
        }
    } else if (type == "Split") {
        PreTokenizerStep step;
        const Json& p = j.at("pattern");
        if (p.contains("String")) {
            step.kind = PreTokenizerStep::SplitLiteral;
            step.literal = p["String"].get<std::string>();
        } else if (p.contains("Regex")) {
            step.kind = PreTokenizerStep::SplitRegex;
            step.regex = std::make_shared<Regex>(p["Regex"].get<std::string>(), source + ": pre_tokenizer Split");
        } else {
            unsupported("pre_tokenizer Split pattern " + p.dump());
        }
        step.behavior = parseBehavior(j.value("behavior", std::string("Isolated")), *this);
        step.invert = j.value("invert", false);
        preTokenizers.push_back(std::move(step));
    } else if (type == "ByteLevel") {
        bpe.byteLevel = true;
        if (j.value("add_prefix_space", false)) {
            if (!first || !preTokenizers.empty()) unsupported("pre_tokenizer ByteLevel with add_prefix_space after another pre-tokenizer");
            byteLevelPrefixSpace = true;
        }
        if (j.value("use_regex", true)) {
            PreTokenizerStep step;
            step.kind = PreTokenizerStep::SplitRegex;
            step.regex = std::make_shared<Regex>(kGpt2Pattern, source + ": pre_tokenizer ByteLevel");
            step.behavior = SplitBehavior::Isolated;
            preTokenizers.push_back(std::move(step));
        }
    } else {
        unsupported("pre_tokenizer '" + type + "'");
    }
}

void Tokenizer::Impl::parsePostProcessor(const Json& j)
{
    if (j.is_null()) return;
    const std::string type = j.value("type", std::string());
    if (type == "Sequence") {
        for (const Json& p : j.at("processors")) parsePostProcessor(p);
    } else if (type == "ByteLevel") {
        trimOffsets = j.value("trim_offsets", true);
        trimAddPrefixSpace = j.value("add_prefix_space", true);
    } else if (type == "TemplateProcessing") {
        const Json& special = j.contains("special_tokens") ? j["special_tokens"] : Json::object();
        singleTemplate.clear();
        for (const Json& item : j.at("single")) {
            TemplateItem t;
            if (item.contains("Sequence")) {
                if (item["Sequence"].value("id", std::string("A")) != "A")
                    unsupported("TemplateProcessing single template with sequence B");
                t.sequence = true;
            } else if (item.contains("SpecialToken")) {
                const std::string name = item["SpecialToken"].at("id").get<std::string>();
                if (!special.contains(name)) throw FormatError(source + ": TemplateProcessing uses undefined special token " + name);
                for (const Json& id : special[name].at("ids")) {
                    const auto v = jsonAs<std::int32_t>(id);
                    if (!v) throw FormatError(source + ": TemplateProcessing special token " + name + " has a non-integer id");
                    t.ids.push_back(*v);
                }
            } else {
                unsupported("TemplateProcessing item " + item.dump());
            }
            singleTemplate.push_back(std::move(t));
        }
        // Without a sequence item the text would vanish; HF requires one too.
        if (std::none_of(singleTemplate.begin(), singleTemplate.end(), [](const TemplateItem& t) { return t.sequence; }))
            throw FormatError(source + ": TemplateProcessing single template has no $A");
    } else {
        unsupported("post_processor '" + type + "'");
    }
}

void Tokenizer::Impl::parseDecoder(const Json& j)
{
    if (j.is_null()) return;
    haveDecoder = true;
    const std::string type = j.value("type", std::string());
    if (type == "Sequence") {
        for (const Json& d : j.at("decoders")) parseDecoder(d);
    } else if (type == "ByteLevel") {
        decoders.push_back({DecoderStep::ByteLevel, {}, {}, 0, 0});
    } else if (type == "Replace") {
        const Json& p = j.at("pattern");
        if (!p.contains("String")) unsupported("decoder Replace with a regex pattern");
        decoders.push_back({DecoderStep::Replace, p["String"].get<std::string>(), j.at("content").get<std::string>(), 0, 0});
    } else if (type == "ByteFallback") {
        decoders.push_back({DecoderStep::ByteFallback, {}, {}, 0, 0});
    } else if (type == "Fuse") {
        decoders.push_back({DecoderStep::Fuse, {}, {}, 0, 0});
    } else if (type == "Strip") {
        decoders.push_back({DecoderStep::Strip, {}, j.at("content").get<std::string>(), j.value("start", std::size_t(0)),
                            j.value("stop", std::size_t(0))});
    } else {
        unsupported("decoder '" + type + "'");
    }
}

void Tokenizer::Impl::parseConfig(std::string_view config)
{
    // Fallback BOS: the post-processor's first special token.
    if (!singleTemplate.empty() && !singleTemplate.front().sequence && singleTemplate.front().ids.size() == 1)
        bosToken = std::string(tokenOf(singleTemplate.front().ids[0]));
    if (config.empty()) return;
    Json cfg;
    try {
        cfg = Json::parse(config);
    } catch (const Json::exception& e) {
        throw FormatError(source + ": malformed tokenizer_config.json: " + e.what());
    }
    if (!cfg.is_object()) throw FormatError(source + ": tokenizer_config.json is not an object");
    if (cfg.contains("bos_token")) bosToken = tokenContent(cfg["bos_token"]);
    if (cfg.contains("eos_token")) eosToken = tokenContent(cfg["eos_token"]);
    std::string tmpl;
    if (cfg.contains("chat_template")) {
        const Json& t = cfg["chat_template"];
        if (t.is_string()) {
            tmpl = t.get<std::string>();
        } else if (t.is_array()) { // named templates: use "default"
            for (const Json& e : t)
                if (e.value("name", std::string()) == "default") tmpl = e.value("template", std::string());
        }
    }
    if (tmpl.empty()) return;
    if (tmpl.find("<\xEF\xBD\x9CUser\xEF\xBD\x9C>") != std::string::npos &&
        tmpl.find("<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>") != std::string::npos) {
        chat = ChatFormat::DeepSeekR1;
        chatThink = tmpl.find("Assistant\xEF\xBD\x9C><think>\\n") != std::string::npos;
    } else if (tmpl.find("<start_of_turn>") != std::string::npos) {
        chat = ChatFormat::Gemma3;
    } else if (tmpl.find("<|im_start|>") != std::string::npos) {
        chat = ChatFormat::ChatML;
        // A default system prompt written as a literal: '<|im_start|>system\n...<|im_end|>\n'.
        const std::string marker = "<|im_start|>system\\n";
        for (std::size_t p = tmpl.find(marker); p != std::string::npos; p = tmpl.find(marker, p + 1)) {
            const std::size_t s = p + marker.size();
            const std::size_t e = tmpl.find("<|im_end|>", s);
            if (e == std::string::npos || s >= tmpl.size() || tmpl[s] == '\'' || tmpl[s] == '"') continue;
            const std::string lit = tmpl.substr(s, e - s);
            if (lit.find('\'') != std::string::npos || lit.find("{{") != std::string::npos) continue;
            std::string unescaped;
            for (std::size_t i = 0; i < lit.size(); ++i) {
                if (lit[i] == '\\' && i + 1 < lit.size()) {
                    const char c = lit[++i];
                    unescaped.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c);
                } else {
                    unescaped.push_back(lit[i]);
                }
            }
            chatSystemDefault = unescaped;
            break;
        }
    }
}

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

// ---- vocabulary ----------------------------------------------------------------------------

std::size_t Tokenizer::vocabSize() const
{
    std::size_t n = m_impl->vocab.size();
    for (const AddedToken& a : m_impl->added) n = std::max(n, static_cast<std::size_t>(a.id) + 1);
    return n;
}

std::string_view Tokenizer::idToToken(std::int32_t id) const { return m_impl->tokenOf(id); }

std::optional<std::int32_t> Tokenizer::tokenToId(std::string_view token) const
{
    if (auto it = m_impl->addedByContent.find(std::string(token)); it != m_impl->addedByContent.end()) return it->second;
    const std::int32_t id = m_impl->vocab.find(token);
    if (id < 0) return std::nullopt;
    return id;
}

bool Tokenizer::isSpecial(std::int32_t id) const
{
    auto it = m_impl->addedById.find(id);
    return it != m_impl->addedById.end() && m_impl->added[it->second].special;
}

std::optional<std::int32_t> Tokenizer::bosId() const
{
    if (m_impl->bosToken.empty()) return std::nullopt;
    return tokenToId(m_impl->bosToken);
}

std::optional<std::int32_t> Tokenizer::eosId() const
{
    if (m_impl->eosToken.empty()) return std::nullopt;
    return tokenToId(m_impl->eosToken);
}

std::string Tokenizer::bosToken() const { return m_impl->bosToken; }
std::string Tokenizer::eosToken() const { return m_impl->eosToken; }

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
