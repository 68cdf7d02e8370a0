// A read-only memory map of a whole file: readers of large files (traces, weights) keep the
// mapping and hand out views, so memory grows with what is touched, not with the file.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sparsetrace::core {

class MappedFile {
public:
    // Throws IoError naming the path when it cannot be opened or mapped.
    static std::shared_ptr<const MappedFile> open(const std::string& path);
    // An in-memory "file" (fuzzers, tests, data received from elsewhere); `label` names it in
    // messages the way a path would.
    static std::shared_ptr<const MappedFile> fromBytes(std::string label, std::vector<std::byte> bytes);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& path() const { return m_path; }
    std::span<const std::byte> bytes() const { return {m_data, m_size}; }
    std::size_t size() const { return m_size; }

private:
    MappedFile() = default;
    std::string m_path;
    const std::byte* m_data = nullptr;
    std::size_t m_size = 0;
    std::vector<std::byte> m_owned; // backing store of fromBytes(); empty for mappings
};

// Writes `path` atomically: the content goes to a temporary file in the same folder, is flushed
// to disk, then renamed over `path`. If `write` throws, the temporary is removed and any earlier
// file at `path` is left untouched.
//
// A process killed mid-save (SIGKILL, power loss) cannot remove its temporary: it stays as
// `PATH.tmp-PID-N` beside an intact `PATH`. Such a file never ends in the target's extension
// (.sptrace, .json, ...), so file dialogs and globs do not offer it, and it is a truncated
// file that the readers refuse. The next successful save of the same `path` removes the
// temporaries whose writing process PID no longer runs (removeStaleTemporaries).
class AtomicFileWriter {
public:
    // Test seam: called after every write() with the temporary's path and the bytes written so
    // far (tests/core/kill_mid_save_helper.cpp stops there to be killed mid-save). Process-wide;
    // set it before any writer runs. nullptr (the default) turns it off.
    using WriteObserver = void (*)(const std::string& temporaryPath, std::uint64_t written);
    static void setWriteObserver(WriteObserver observer);
    // Removes `path`'s temporaries left by writers that are no longer running (same host);
    // returns how many were removed. Best effort: a file that cannot be removed is skipped.
    static int removeStaleTemporaries(const std::string& path);

    explicit AtomicFileWriter(std::string path);
    ~AtomicFileWriter(); // removes the temporary when commit() was not reached
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, std::size_t size);
    std::uint64_t written() const { return m_written; }
    void commit(); // fsync + rename, then removeStaleTemporaries(path); throws IoError

    const std::string& temporaryPath() const { return m_tmpPath; }

private:
    std::string m_path;
    std::string m_tmpPath;
    int m_fd = -1;
    std::uint64_t m_written = 0;
    bool m_committed = false;
};

std::string sha256Hex(std::span<const std::byte> data);
std::string sha256FileHex(const std::string& path); // throws IoError

} // namespace sparsetrace::core
