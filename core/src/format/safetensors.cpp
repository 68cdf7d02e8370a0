// safetensors reader (validating, memory-mapped) and writer (atomic, aligned).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/safetensors.h"

#include "sparsetrace/core/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

namespace sparsetrace::core {

namespace {
struct DTypeEntry {
    DType dtype;
    std::string_view name;
    std::size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::Bool, "BOOL", 1}, {DType::U64, "U64", 8}, {DType::U32, "U32", 4},
    {DType::U16, "U16", 2},
};

const DTypeEntry& entryOf(DType d)
{
    for (const auto& e : kDTypes)
        if (e.dtype == d) return e;
    throw ArgumentError("unknown dtype");
}

// Multiplies non-negative extents, refusing overflow past 2^62. The non-zero extents must fit
// on their own too: a [0, 2^40, 2^40] tensor holds no bytes, but a reader computing its strides
// or the numel of a slice would still overflow.
bool checkedProduct(const std::vector<std::int64_t>& shape, std::size_t elemSize, std::uint64_t& bytes)
{
    constexpr std::uint64_t limit = std::uint64_t(1) << 62;
    std::uint64_t n = elemSize;
    bool empty = false;
    for (std::int64_t d : shape) {
        if (d < 0) return false;
        if (d == 0) {
            empty = true;
            continue;
        }
        if (n > limit / static_cast<std::uint64_t>(d)) return false;
        n *= static_cast<std::uint64_t>(d);
    }
    bytes = empty ? 0 : n;
    return true;
}

std::uint64_t readLe64(const std::byte* p)
{
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
    return v;
}
} // namespace

std::string_view dtypeName(DType dtype) { return entryOf(dtype).name; }
std::size_t dtypeSize(DType dtype) { return entryOf(dtype).size; }
DType dtypeFromName(std::string_view name)
{
    for (const auto& e : kDTypes)
        if (e.name == name) return e.dtype;
    throw FormatError("unknown dtype \"" + std::string(name) + "\"");
}

std::int64_t TensorInfo::numel() const
{
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

std::string TensorInfo::shapeString() const
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

SafetensorsFile SafetensorsFile::open(const std::string& path) { return fromMapped(MappedFile::open(path)); }

SafetensorsFile SafetensorsFile::fromMapped(std::shared_ptr<const MappedFile> file)
{
    const std::string& path = file->path();
    auto fail = [&](const std::string& what) { return FormatError(path + ": " + what); };
    auto bytes = file->bytes();
    if (bytes.size() < 8) throw fail("not a safetensors file (shorter than its 8-byte header length)");
    std::uint64_t headerLen = readLe64(bytes.data());
    if (headerLen > kMaxHeaderBytes)
        throw fail("not a safetensors file (header length " + std::to_string(headerLen) + " exceeds the 100 MB limit)");
    if (headerLen > bytes.size() - 8)
        throw fail("truncated: header of " + std::to_string(headerLen) + " bytes but the file has " +
                   std::to_string(bytes.size()) + " bytes");
    const char* hp = reinterpret_cast<const char*>(bytes.data() + 8);
    if (headerLen == 0 || hp[0] != '{') throw fail("not a safetensors file (header is not a JSON object)");

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(hp, hp + headerLen);
    } catch (const nlohmann::json::exception& e) {
        throw fail(std::string("corrupted header: invalid JSON (") + e.what() + ")");
    }
    if (!header.is_object()) throw fail("corrupted header: not a JSON object");

    SafetensorsFile out;
    out.m_file = file;
    out.m_dataStart = 8 + headerLen;
    const std::uint64_t dataSize = bytes.size() - out.m_dataStart;

    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it.value().is_object()) throw fail("__metadata__ is not an object");
            for (auto m = it.value().begin(); m != it.value().end(); ++m) {
                if (!m.value().is_string()) throw fail("__metadata__ value \"" + m.key() + "\" is not a string");
                out.m_metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const auto& t = it.value();
        const std::string& name = it.key();
        auto bad = [&](const std::string& what) { return fail("tensor " + name + ": " + what); };
        if (!t.is_object()) throw bad("entry is not an object");
        if (!t.contains("dtype") || !t["dtype"].is_string()) throw bad("missing dtype");
        if (!t.contains("shape") || !t["shape"].is_array()) throw bad("missing shape");
        if (!t.contains("data_offsets") || !t["data_offsets"].is_array() || t["data_offsets"].size() != 2)
            throw bad("missing data_offsets [begin, end]");
        TensorInfo info;
        info.name = name;
        try {
            info.dtype = dtypeFromName(t["dtype"].get<std::string>());
        } catch (const FormatError& e) {
            throw bad(e.what());
        }
        for (const auto& d : t["shape"]) {
            if (!d.is_number_integer() || d.get<std::int64_t>() < 0) throw bad("shape holds a negative or non-integer extent");
            info.shape.push_back(d.get<std::int64_t>());
        }
        for (int i = 0; i < 2; ++i)
            if (!t["data_offsets"][i].is_number_unsigned()) throw bad("data_offsets are not non-negative integers");
        info.begin = t["data_offsets"][0].get<std::uint64_t>();
        info.end = t["data_offsets"][1].get<std::uint64_t>();
        if (info.begin > info.end) throw bad("data_offsets begin after they end");
        if (info.end > dataSize)
            throw bad("data ends at byte " + std::to_string(info.end) + " but the file holds " +
                      std::to_string(dataSize) + " data bytes (truncated?)");
        std::uint64_t expected = 0;
        if (!checkedProduct(info.shape, dtypeSize(info.dtype), expected))
            throw bad("shape " + info.shapeString() + " is too large");
        if (expected != info.end - info.begin)
            throw bad("shape " + info.shapeString() + " of " + std::string(dtypeName(info.dtype)) + " needs " +
                      std::to_string(expected) + " bytes but data_offsets span " +
                      std::to_string(info.end - info.begin));
        out.m_tensors.push_back(std::move(info));
    }
    std::sort(out.m_tensors.begin(), out.m_tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    // Empty tensors occupy no bytes; each non-empty one must start at or after the end of the
    // furthest-reaching non-empty one before it (not just its neighbour: an empty tensor between
    // two overlapping ones must not hide the overlap).
    const TensorInfo* reach = nullptr;
    for (const auto& cur : out.m_tensors) {
        if (cur.end == cur.begin) continue;
        if (reach && cur.begin < reach->end) throw fail("tensors " + reach->name + " and " + cur.name + " overlap");
        if (!reach || cur.end > reach->end) reach = &cur;
    }
    return out;
}

std::string SafetensorsFile::metadataValue(const std::string& key, const std::string& fallback) const
{
    auto it = m_metadata.find(key);
    return it == m_metadata.end() ? fallback : it->second;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const
{
    for (const auto& t : m_tensors)
        if (t.name == name) return &t;
    return nullptr;
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const
{
    const TensorInfo* t = find(name);
    if (!t) throw FormatError(path() + ": tensor " + std::string(name) + " is missing");
    return *t;
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& info) const
{
    return m_file->bytes().subspan(static_cast<std::size_t>(m_dataStart + info.begin),
                                   static_cast<std::size_t>(info.end - info.begin));
}

const TensorInfo& SafetensorsFile::expect(std::string_view name, DType dtype, const std::vector<std::int64_t>& shape) const
{
    const TensorInfo& t = at(name);
    if (t.dtype != dtype)
        throw FormatError(path() + ": tensor " + t.name + " has dtype " + std::string(dtypeName(t.dtype)) +
                          ", expected " + std::string(dtypeName(dtype)));
    if (!shape.empty()) {
        bool ok = shape.size() == t.shape.size();
        for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == t.shape[i];
        if (!ok) {
            TensorInfo want;
            want.shape = shape;
            throw FormatError(path() + ": tensor " + t.name + " has shape " + t.shapeString() + ", expected " +
                              want.shapeString());
        }
    }
    return t;
}

// ---- writer --------------------------------------------------------------------------------

void SafetensorsWriter::setMetadata(const std::string& key, const std::string& value) { m_metadata[key] = value; }

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<std::int64_t> shape, const void* data,
                            std::size_t bytes)
{
    if (name.empty() || name == "__metadata__") throw ArgumentError("invalid tensor name \"" + name + "\"");
    for (const auto& e : m_entries)
        if (e.name == name) throw ArgumentError("tensor " + name + " added twice");
    std::uint64_t expected = 0;
    if (!checkedProduct(shape, dtypeSize(dtype), expected) || expected != bytes)
        throw ArgumentError("tensor " + name + ": " + std::to_string(bytes) + " bytes do not match its shape");
    m_entries.push_back({name, dtype, std::move(shape), data, bytes});
}

void SafetensorsWriter::addCopy(const std::string& name, DType dtype, std::vector<std::int64_t> shape, const void* data,
                                std::size_t bytes)
{
    auto buf = std::make_shared<std::vector<std::byte>>(bytes);
    if (bytes) std::memcpy(buf->data(), data, bytes);
    m_owned.push_back(buf);
    add(name, dtype, std::move(shape), buf->data(), bytes);
}

std::string SafetensorsWriter::headerJson(std::vector<const Entry*>& order) const
{
    order.clear();
    for (const auto& e : m_entries) order.push_back(&e);
    // Widest elements first keeps every tensor aligned to its element size.
    std::stable_sort(order.begin(), order.end(),
                     [](const Entry* a, const Entry* b) { return dtypeSize(a->dtype) > dtypeSize(b->dtype); });
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!m_metadata.empty()) {
        nlohmann::ordered_json meta = nlohmann::ordered_json::object();
        for (const auto& [k, v] : m_metadata) meta[k] = v;
        header["__metadata__"] = meta;
    }
    std::uint64_t offset = 0;
    for (const Entry* e : order) {
        header[e->name] = {{"dtype", std::string(dtypeName(e->dtype))},
                           {"shape", e->shape},
                           {"data_offsets", {offset, offset + e->bytes}}};
        offset += e->bytes;
    }
    std::string text = header.dump();
    // Pad with spaces so that the data region starts 8-byte aligned.
    while ((8 + text.size()) % 8 != 0) text.push_back(' ');
    return text;
}

std::vector<std::byte> SafetensorsWriter::toBytes() const
{
    std::vector<const Entry*> order;
    std::string header = headerJson(order);
    std::vector<std::byte> out(8 + header.size());
    std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
    std::memcpy(out.data() + 8, header.data(), header.size());
    for (const Entry* e : order) {
        const auto* p = static_cast<const std::byte*>(e->data);
        out.insert(out.end(), p, p + e->bytes);
    }
    return out;
}

void SafetensorsWriter::write(const std::string& path) const
{
    std::vector<const Entry*> order;
    std::string header = headerJson(order);
    if (header.size() > SafetensorsFile::kMaxHeaderBytes)
        throw ArgumentError(path + ": header of " + std::to_string(header.size()) + " bytes exceeds the 100 MB limit");
    AtomicFileWriter out(path);
    unsigned char len[8];
    std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(header.data(), header.size());
    for (const Entry* e : order)
        if (e->bytes) out.write(e->data, e->bytes);
    out.commit();
}

} // namespace sparsetrace::core
