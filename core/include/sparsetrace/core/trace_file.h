// The .sptrace file: a safetensors file that numpy opens with no code of ours
// (docs/trace-format.md documents every key). Reading maps the file and hands out layer views
// on demand; writing is atomic.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/safetensors.h"
#include "sparsetrace/core/trace.h"

#include <atomic>
#include <memory>
#include <string>

namespace sparsetrace::core {

inline constexpr const char* kTraceFormatName = "sparsetrace.trace";

class TraceFile final : public Trace {
public:
    // Opens and validates the whole header (every offset, dtype and shape); throws FormatError
    // "PATH: what is wrong" or IoError. Layer data is not read until layer() is called.
    static std::shared_ptr<const TraceFile> open(const std::string& path);
    // The same from an already mapped (or in-memory) file.
    static std::shared_ptr<const TraceFile> open(std::shared_ptr<const MappedFile> file);
    LayerView layer(int l) const override;
    const std::string& path() const { return m_file.path(); }
    std::uint64_t fileBytes() const { return m_file.mappedFile()->size(); }

private:
    explicit TraceFile(SafetensorsFile file);
    SafetensorsFile m_file;
    struct LayerSlots {
        const TensorInfo* index = nullptr;
        const TensorInfo* mass = nullptr;
        const TensorInfo* captured = nullptr;
        const TensorInfo* oracleIndex = nullptr;
        bool dense = false;
    };
    std::vector<LayerSlots> m_layers;
    mutable std::vector<std::atomic<bool>> m_validated; // [L] index values checked
};

// Writes `trace` to `path` atomically (an earlier file at `path` survives any failure).
void writeTraceFile(const Trace& trace, const std::string& path);

} // namespace sparsetrace::core
