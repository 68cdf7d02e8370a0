// Reader and writer of the safetensors container (Hugging Face weights and our .sptrace traces).
// Layout: 8-byte little-endian header length N, N bytes of JSON header
// {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}},
// then the raw little-endian tensor data; offsets are relative to the first data byte and the
// tensors tile the data region with no gap or overlap. Every field is validated on open.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/mapped_file.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sparsetrace::core {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, U64, U32, U16 };

std::string_view dtypeName(DType dtype);    // "F32", ...
std::size_t dtypeSize(DType dtype);         // bytes per element
DType dtypeFromName(std::string_view name); // throws FormatError

template <class T> constexpr DType dtypeOf();
template <> constexpr DType dtypeOf<double>() { return DType::F64; }
template <> constexpr DType dtypeOf<float>() { return DType::F32; }
template <> constexpr DType dtypeOf<std::int64_t>() { return DType::I64; }
template <> constexpr DType dtypeOf<std::int32_t>() { return DType::I32; }
template <> constexpr DType dtypeOf<std::int16_t>() { return DType::I16; }
template <> constexpr DType dtypeOf<std::int8_t>() { return DType::I8; }
template <> constexpr DType dtypeOf<std::uint8_t>() { return DType::U8; }
template <> constexpr DType dtypeOf<std::uint16_t>() { return DType::U16; }
template <> constexpr DType dtypeOf<std::uint32_t>() { return DType::U32; }
template <> constexpr DType dtypeOf<std::uint64_t>() { return DType::U64; }

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0; // byte offsets relative to the data region
    std::uint64_t end = 0;

    std::int64_t numel() const;
    std::string shapeString() const; // "[2, 3]"
};

// Read-only view of a safetensors file. The file is memory-mapped; data() returns views into
// the mapping, which stays alive as long as this object (or a copy) does.
class SafetensorsFile {
public:
    // Hard limit on the JSON header, as in the reference implementation.
    static constexpr std::uint64_t kMaxHeaderBytes = 100u * 1024u * 1024u;

    // Throws IoError when the file cannot be read and FormatError (naming the file and the
    // offending field) when it is not a valid safetensors file.
    static SafetensorsFile open(const std::string& path);
    // Parses an in-memory buffer (used by tests and fuzzers); `label` names it in messages.
    static SafetensorsFile fromMapped(std::shared_ptr<const MappedFile> file);

    const std::string& path() const { return m_file->path(); }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    // The metadata value or `fallback` when absent.
    std::string metadataValue(const std::string& key, const std::string& fallback = {}) const;
    const std::vector<TensorInfo>& tensors() const { return m_tensors; }
    const TensorInfo* find(std::string_view name) const;
    // Throws FormatError "FILE: tensor NAME is missing" when absent.
    const TensorInfo& at(std::string_view name) const;
    std::span<const std::byte> data(const TensorInfo& info) const;

    // Checks dtype and, when given, the shape (-1 matches any extent), and throws a FormatError
    // naming the file, tensor, expected and found values otherwise.
    const TensorInfo& expect(std::string_view name, DType dtype,
                             const std::vector<std::int64_t>& shape = {}) const;

    // Copies a tensor into a vector of T (dtype must match T exactly).
    template <class T> std::vector<T> copy(std::string_view name) const
    {
        const TensorInfo& info = expect(name, dtypeOf<T>());
        std::vector<T> out(static_cast<std::size_t>(info.numel()));
        auto bytes = data(info);
        if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
        return out;
    }
    // A view of a tensor as T when the data is suitably aligned, else empty (use copy()).
    template <class T> std::span<const T> alignedView(const TensorInfo& info) const
    {
        auto bytes = data(info);
        if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(T) != 0) return {};
        return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
    }

    std::shared_ptr<const MappedFile> mappedFile() const { return m_file; }

private:
    std::shared_ptr<const MappedFile> m_file;
    std::uint64_t m_dataStart = 0;
    std::map<std::string, std::string> m_metadata;
    std::vector<TensorInfo> m_tensors; // in file order of data offsets
};

// Builds a safetensors file. Tensor data is referenced, not copied: it must stay alive until
// write() returns. Tensors are laid out widest dtype first so that every tensor of a file we
// write starts at an address aligned to its element size once mapped.
class SafetensorsWriter {
public:
    void setMetadata(const std::string& key, const std::string& value);
    void add(const std::string& name, DType dtype, std::vector<std::int64_t> shape,
             const void* data, std::size_t bytes);
    template <class T>
    void add(const std::string& name, std::vector<std::int64_t> shape, std::span<const T> values)
    {
        add(name, dtypeOf<T>(), std::move(shape), values.data(), values.size_bytes());
    }
    // Keeps a copy of the bytes (for small derived tensors).
    void addCopy(const std::string& name, DType dtype, std::vector<std::int64_t> shape,
                 const void* data, std::size_t bytes);

    // Writes atomically (temporary file + rename). Throws IoError or ArgumentError.
    void write(const std::string& path) const;
    // Serialises to memory (tests).
    std::vector<std::byte> toBytes() const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<std::int64_t> shape;
        const void* data;
        std::size_t bytes;
    };
    std::string headerJson(std::vector<const Entry*>& order) const;
    std::map<std::string, std::string> m_metadata;
    std::vector<Entry> m_entries;
    std::vector<std::shared_ptr<std::vector<std::byte>>> m_owned;
};

} // namespace sparsetrace::core
