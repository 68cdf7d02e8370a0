// Tokenizer, loading: reads tokenizer.json (+ tokenizer_config.json) into a pipeline of
// added-token splitting, normalizers, pre-tokenizers, the BPE model, post-processors and
// decoders, each limited to the components and options that the supported model families use;
// anything else is refused at load time with a message naming the component. Also the
// vocabulary lookups.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "tokenizer_pipeline.h"

#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/read_file.h"

namespace sparsetrace::core {

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

} // namespace sparsetrace::core
