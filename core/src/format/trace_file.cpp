// .sptrace reading and writing (layout in docs/trace-format.md). The header is validated in
// full on open; each layer's index values are validated the first time the layer is viewed.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/trace_file.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/utf8.h"

#include "format/json_checked.h"

#include <cmath>

namespace sparsetrace::core {

using nlohmann::json;

namespace {
std::string layerKey(int l, const char* what) { return "layers." + std::to_string(l) + "." + what; }

json parseMeta(const SafetensorsFile& f, const std::string& key, bool required)
{
    auto it = f.metadata().find(key);
    if (it == f.metadata().end()) {
        if (required) throw FormatError(f.path() + ": metadata \"" + key + "\" is missing");
        return nullptr;
    }
    try {
        return json::parse(it->second);
    } catch (const json::exception&) {
        throw FormatError(f.path() + ": metadata \"" + key + "\" is not valid JSON");
    }
}

std::int64_t parseCount(const SafetensorsFile& f, const std::string& key)
{
    std::string v = f.metadataValue(key);
    if (v.empty()) throw FormatError(f.path() + ": metadata \"" + key + "\" is missing");
    std::size_t used = 0;
    long long n = -1;
    try {
        n = std::stoll(v, &used);
    } catch (const std::exception&) {
    }
    if (used != v.size() || n < 0 || n > (std::int64_t(1) << 40))
        throw FormatError(f.path() + ": metadata \"" + key + "\" is not a valid count: \"" + v + "\"");
    return n;
}
} // namespace

TraceFile::TraceFile(SafetensorsFile file) : m_file(std::move(file)) {}

std::shared_ptr<const TraceFile> TraceFile::open(const std::string& path) { return open(MappedFile::open(path)); }

std::shared_ptr<const TraceFile> TraceFile::open(std::shared_ptr<const MappedFile> mapped)
{
    const std::string path = mapped->path();
    SafetensorsFile st = SafetensorsFile::fromMapped(std::move(mapped));
    auto fail = [&](const std::string& what) { return FormatError(path + ": " + what); };

    std::string format = st.metadataValue("format");
    if (format != kTraceFormatName)
        throw fail(format.empty() ? "not a SparseTrace trace (a safetensors file without \"format\": sparsetrace.trace metadata)"
                                  : "not a SparseTrace trace (format \"" + format + "\")");
    std::string version = st.metadataValue("format_version");
    bool readable = false;
    for (int v = TraceInfo::kOldestReadableVersion; v <= TraceInfo::kFormatVersion; ++v)
        readable = readable || version == std::to_string(v);
    if (!readable)
        throw fail("unsupported trace format version \"" + version + "\" (this build reads versions " +
                   std::to_string(TraceInfo::kOldestReadableVersion) + " to " +
                   std::to_string(TraceInfo::kFormatVersion) + ")");

    auto trace = std::shared_ptr<TraceFile>(new TraceFile(std::move(st)));
    const SafetensorsFile& f = trace->m_file;
    TraceInfo& info = trace->m_info;
    try {
        info.provenance = Provenance::fromJson(parseMeta(f, "provenance", true));
        info.model = ModelShape::fromJson(parseMeta(f, "model", true));
        info.params = StreamParams::fromJson(parseMeta(f, "params", true));
        json behaviour = parseMeta(f, "behaviour", false);
        if (!behaviour.is_null()) info.behaviour = BehaviourCheck::fromJson(behaviour);
        json probes = parseMeta(f, "k_search", false);
        if (probes.is_array())
            for (const auto& p : probes) {
                const auto k = jsonAs<int>(p.at("k"));
                const auto preserved = jsonAs<bool>(p.at("preserved"));
                const auto sparsity = jsonAs<double>(p.at("sparsity"));
                if (!k || !preserved || !sparsity) throw FormatError("metadata \"k_search\" holds a malformed probe");
                info.kSearch.push_back({*k, *preserved, *sparsity});
            }
        json annotations = parseMeta(f, "annotations", false);
        if (annotations.is_object()) info.annotations = annotations;
    } catch (const FormatError& e) {
        throw fail(e.what());
    } catch (const json::exception& e) {
        throw fail(std::string("malformed metadata: ") + e.what());
    }
    info.promptTokens = parseCount(f, "prompt_tokens");
    info.generatedTokens = parseCount(f, "generated_tokens");
    if (info.promptTokens < 1) throw fail("the trace has no prompt tokens");

    const std::int64_t total = info.promptTokens + info.generatedTokens;
    const std::int64_t L = info.model.layers, H = info.model.heads, R = info.rows(), KP = info.kPrime();

    // Text and tokens.
    info.tokens.ids = f.copy<std::int32_t>(f.expect("token_ids", DType::I32, {total}).name);
    f.expect("token_offsets", DType::I32, {total, 2});
    auto offsets = f.copy<std::int32_t>("token_offsets");
    auto textBytes = f.data(f.expect("text.utf8", DType::U8));
    info.text.assign(reinterpret_cast<const char*>(textBytes.data()), textBytes.size());
    if (!isValidUtf8(info.text)) throw fail("text.utf8 is not valid UTF-8");
    const std::int64_t textLength = static_cast<std::int64_t>(codePointCount(info.text));
    info.tokens.offsets.resize(static_cast<std::size_t>(total));
    for (std::int64_t i = 0; i < total; ++i) {
        std::int32_t a = offsets[2 * i], b = offsets[2 * i + 1];
        if (a < 0 || b < a || b > textLength)
            throw fail("token_offsets row " + std::to_string(i) + " [" + std::to_string(a) + ", " + std::to_string(b) +
                       "] lies outside the text of " + std::to_string(textLength) + " characters");
        info.tokens.offsets[static_cast<std::size_t>(i)] = {a, b};
    }
    auto strOffsets = f.copy<std::int64_t>(f.expect("token_strings.offsets", DType::I64, {total + 1}).name);
    auto strBytes = f.data(f.expect("token_strings.utf8", DType::U8));
    if (strOffsets.front() != 0 || strOffsets.back() != static_cast<std::int64_t>(strBytes.size()))
        throw fail("token_strings.offsets do not span token_strings.utf8");
    info.tokens.strings.resize(static_cast<std::size_t>(total));
    for (std::int64_t i = 0; i < total; ++i) {
        std::int64_t a = strOffsets[i], b = strOffsets[i + 1];
        if (b < a || b > static_cast<std::int64_t>(strBytes.size()))
            throw fail("token_strings.offsets are not ascending within token_strings.utf8 at token " + std::to_string(i));
        info.tokens.strings[static_cast<std::size_t>(i)].assign(reinterpret_cast<const char*>(strBytes.data()) + a,
                                                                static_cast<std::size_t>(b - a));
    }

    // Per-head statistics.
    for (const auto& t : f.tensors()) {
        if (t.name.rfind("stats.", 0) != 0) continue;
        f.expect(t.name, DType::F32, {L, H});
        info.headStats[t.name.substr(6)] = f.copy<float>(t.name);
    }

    // Layers: shapes and dtypes now, values on first view.
    auto dense = f.copy<std::uint8_t>(f.expect("layer_dense", DType::U8, {L}).name);
    trace->m_layers.resize(static_cast<std::size_t>(L));
    for (int l = 0; l < L; ++l) {
        LayerSlots& s = trace->m_layers[static_cast<std::size_t>(l)];
        s.dense = dense[static_cast<std::size_t>(l)] != 0;
        s.index = &f.expect(layerKey(l, "index"), DType::I32, {H, R, KP});
        s.mass = &f.expect(layerKey(l, "mass"), DType::F32, {H, R, KP});
        if (f.find(layerKey(l, "captured"))) s.captured = &f.expect(layerKey(l, "captured"), DType::F32, {H, R});
        if (f.find(layerKey(l, "oracle_index")))
            s.oracleIndex = &f.expect(layerKey(l, "oracle_index"), DType::I32, {H, R, KP});
        for (const TensorInfo* t : {s.index, s.mass, s.captured, s.oracleIndex})
            if (t && f.alignedView<std::int32_t>(*t).data() == nullptr && t->end > t->begin)
                throw fail("tensor " + t->name + " is not 4-byte aligned in the file");
    }
    trace->m_validated = std::vector<std::atomic<bool>>(static_cast<std::size_t>(L));
    return trace;
}

LayerView TraceFile::layer(int l) const
{
    if (l < 0 || l >= static_cast<int>(m_layers.size()))
        throw ArgumentError(path() + ": layer " + std::to_string(l) + " out of range");
    const LayerSlots& s = m_layers[static_cast<std::size_t>(l)];
    LayerView v;
    v.heads = m_info.model.heads;
    v.rows = m_info.rows();
    v.kPrime = m_info.kPrime();
    v.dense = s.dense;
    v.index = m_file.alignedView<std::int32_t>(*s.index);
    v.mass = m_file.alignedView<float>(*s.mass);
    if (s.captured) v.captured = m_file.alignedView<float>(*s.captured);
    if (s.oracleIndex) v.oracleIndex = m_file.alignedView<std::int32_t>(*s.oracleIndex);

    std::atomic<bool>& validated = m_validated[static_cast<std::size_t>(l)];
    if (!validated.load(std::memory_order_acquire)) {
        // Key blocks a row may name: the prompt's blocks (generated rows see one more block).
        const std::int64_t keyBlocks = (m_info.promptTokens + m_info.generatedTokens + m_info.params.bk - 1) / m_info.params.bk;
        auto checkIndex = [&](std::span<const std::int32_t> idx, const char* what) {
            for (std::size_t i = 0; i < idx.size(); ++i)
                if (idx[i] < -1 || idx[i] >= keyBlocks)
                    throw FormatError(path() + ": layer " + std::to_string(l) + " " + what + " value " +
                                      std::to_string(idx[i]) + " is not a key block in [0, " + std::to_string(keyBlocks) + ")");
        };
        checkIndex(v.index, "index");
        checkIndex(v.oracleIndex, "oracle_index");
        for (float m : v.mass)
            if (!std::isfinite(m) || m < 0.0f)
                throw FormatError(path() + ": layer " + std::to_string(l) + " mass holds a negative or non-finite value");
        validated.store(true, std::memory_order_release);
    }
    return v;
}

void writeTraceFile(const Trace& trace, const std::string& path)
{
    const TraceInfo& info = trace.info();
    info.params.validate();
    const std::int64_t total = info.promptTokens + info.generatedTokens;
    const std::int64_t L = info.model.layers, H = info.model.heads, R = info.rows(), KP = info.kPrime();
    if (static_cast<std::int64_t>(info.tokens.ids.size()) != total || info.tokens.offsets.size() != info.tokens.ids.size() ||
        info.tokens.strings.size() != info.tokens.ids.size())
        throw ArgumentError(path + ": token table holds " + std::to_string(info.tokens.ids.size()) + " tokens, expected " +
                            std::to_string(total));
    if (!isValidUtf8(info.text)) throw ArgumentError(path + ": the trace text is not valid UTF-8");

    SafetensorsWriter w;
    w.setMetadata("format", kTraceFormatName);
    w.setMetadata("format_version", std::to_string(TraceInfo::kFormatVersion));
    w.setMetadata("provenance", info.provenance.toJson().dump());
    w.setMetadata("model", info.model.toJson().dump());
    w.setMetadata("params", info.params.toJson().dump());
    w.setMetadata("prompt_tokens", std::to_string(info.promptTokens));
    w.setMetadata("generated_tokens", std::to_string(info.generatedTokens));
    if (info.behaviour) w.setMetadata("behaviour", info.behaviour->toJson().dump());
    if (!info.kSearch.empty()) {
        json probes = json::array();
        for (const auto& p : info.kSearch) probes.push_back({{"k", p.k}, {"preserved", p.preserved}, {"sparsity", p.sparsity}});
        w.setMetadata("k_search", probes.dump());
    }
    w.setMetadata("annotations", info.annotations.dump());

    w.add<std::int32_t>("token_ids", {total}, info.tokens.ids);
    w.add("token_offsets", DType::I32, {total, 2}, info.tokens.offsets.data(), info.tokens.offsets.size() * 8);
    std::vector<std::int64_t> strOffsets{0};
    std::string strBytes;
    for (const auto& s : info.tokens.strings) {
        strBytes += s;
        strOffsets.push_back(static_cast<std::int64_t>(strBytes.size()));
    }
    w.add<std::int64_t>("token_strings.offsets", {total + 1}, strOffsets);
    w.add("token_strings.utf8", DType::U8, {static_cast<std::int64_t>(strBytes.size())}, strBytes.data(), strBytes.size());
    w.add("text.utf8", DType::U8, {static_cast<std::int64_t>(info.text.size())}, info.text.data(), info.text.size());

    for (const auto& [name, values] : info.headStats) {
        if (static_cast<std::int64_t>(values.size()) != L * H)
            throw ArgumentError(path + ": statistic " + name + " holds " + std::to_string(values.size()) + " values, expected L*H");
        w.add<float>("stats." + name, {L, H}, values);
    }
    std::vector<std::uint8_t> dense(static_cast<std::size_t>(L));
    std::vector<LayerView> views;
    for (int l = 0; l < L; ++l) {
        LayerView v = trace.layer(l);
        dense[static_cast<std::size_t>(l)] = v.dense ? 1 : 0;
        const auto n = static_cast<std::size_t>(H * R * KP);
        if (v.index.size() != n || v.mass.size() != n)
            throw ArgumentError(path + ": layer " + std::to_string(l) + " has the wrong number of mask values");
        w.add<std::int32_t>(layerKey(l, "index"), {H, R, KP}, v.index);
        w.add<float>(layerKey(l, "mass"), {H, R, KP}, v.mass);
        if (!v.captured.empty()) w.add<float>(layerKey(l, "captured"), {H, R}, v.captured);
        if (!v.oracleIndex.empty()) w.add<std::int32_t>(layerKey(l, "oracle_index"), {H, R, KP}, v.oracleIndex);
    }
    w.add<std::uint8_t>("layer_dense", {L}, dense);
    w.write(path);
}

} // namespace sparsetrace::core
