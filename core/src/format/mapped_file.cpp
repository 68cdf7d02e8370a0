// Memory maps, atomic writes and SHA-256 (FIPS 180-4) for provenance hashes.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/mapped_file.h"

#include "sparsetrace/core/error.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <signal.h>
#include <string_view>
#include <fcntl.h>
#include <random>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sparsetrace::core {

namespace {
std::string errnoText() { return std::strerror(errno); }
std::atomic<AtomicFileWriter::WriteObserver> g_writeObserver{nullptr};
constexpr std::string_view kTemporaryInfix = ".tmp-"; // PATH.tmp-PID-N
} // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError(path + ": cannot open: " + errnoText());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        std::string err = errnoText();
        ::close(fd);
        throw IoError(path + ": cannot stat: " + err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw IoError(path + ": not a regular file");
    }
    auto file = std::shared_ptr<MappedFile>(new MappedFile());
    file->m_path = path;
    file->m_size = static_cast<std::size_t>(st.st_size);
    if (file->m_size > 0) {
        void* p = ::mmap(nullptr, file->m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            std::string err = errnoText();
            ::close(fd);
            throw IoError(path + ": cannot map: " + err);
        }
        file->m_data = static_cast<const std::byte*>(p);
    }
    ::close(fd);
    return file;
}

std::shared_ptr<const MappedFile> MappedFile::fromBytes(std::string label, std::vector<std::byte> bytes)
{
    auto file = std::shared_ptr<MappedFile>(new MappedFile());
    file->m_path = std::move(label);
    file->m_owned = std::move(bytes);
    file->m_size = file->m_owned.size();
    file->m_data = file->m_owned.empty() ? nullptr : file->m_owned.data();
    return file;
}

MappedFile::~MappedFile()
{
    if (m_data && m_owned.empty()) ::munmap(const_cast<std::byte*>(m_data), m_size);
}

AtomicFileWriter::AtomicFileWriter(std::string path) : m_path(std::move(path))
{
    std::random_device rd;
    for (int attempt = 0; attempt < 16 && m_fd < 0; ++attempt) {
        m_tmpPath = m_path + std::string(kTemporaryInfix) + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
        m_fd = ::open(m_tmpPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (m_fd < 0 && errno != EEXIST) break;
    }
    if (m_fd < 0) throw IoError(m_path + ": cannot create a temporary file beside it: " + errnoText());
}

AtomicFileWriter::~AtomicFileWriter()
{
    if (m_fd >= 0) ::close(m_fd);
    if (!m_committed) ::unlink(m_tmpPath.c_str());
}

void AtomicFileWriter::write(const void* data, std::size_t size)
{
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(m_fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw IoError(m_path + ": write failed: " + errnoText());
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        m_written += static_cast<std::uint64_t>(n);
    }
    if (auto observer = g_writeObserver.load(std::memory_order_relaxed)) observer(m_tmpPath, m_written);
}

void AtomicFileWriter::setWriteObserver(WriteObserver observer) { g_writeObserver.store(observer); }

int AtomicFileWriter::removeStaleTemporaries(const std::string& path)
{
    namespace fs = std::filesystem;
    const fs::path target(path);
    const std::string prefix = target.filename().string() + std::string(kTemporaryInfix);
    std::error_code ec;
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    int removed = 0;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        // PID-N: digits, a dash, digits; anything else is not ours.
        const std::string rest = name.substr(prefix.size());
        const auto dash = rest.find('-');
        if (dash == 0 || dash == std::string::npos || dash + 1 == rest.size() ||
            rest.find_first_not_of("0123456789-") != std::string::npos || rest.find('-', dash + 1) != std::string::npos)
            continue;
        long long pid = 0;
        try {
            pid = std::stoll(rest.substr(0, dash));
        } catch (const std::exception&) {
            continue;
        }
        if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) continue;
        // A running writer (or a reused PID: then the file waits for a later save) keeps its file.
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
        std::error_code rmError;
        if (fs::remove(it->path(), rmError)) ++removed;
    }
    return removed;
}

void AtomicFileWriter::commit()
{
    if (::fsync(m_fd) != 0) throw IoError(m_path + ": cannot flush to disk: " + errnoText());
    if (::close(m_fd) != 0) {
        m_fd = -1;
        throw IoError(m_path + ": cannot close: " + errnoText());
    }
    m_fd = -1;
    if (::rename(m_tmpPath.c_str(), m_path.c_str()) != 0)
        throw IoError(m_path + ": cannot replace the file: " + errnoText());
    m_committed = true;
    removeStaleTemporaries(m_path);
}

// ---- SHA-256 -------------------------------------------------------------------------------
namespace {
constexpr std::array<std::uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

class Sha256 {
public:
    void update(const std::uint8_t* p, std::size_t n)
    {
        m_bits += static_cast<std::uint64_t>(n) * 8;
        while (n > 0) {
            std::size_t take = std::min<std::size_t>(64 - m_fill, n);
            std::memcpy(m_block.data() + m_fill, p, take);
            m_fill += take;
            p += take;
            n -= take;
            if (m_fill == 64) {
                compress();
                m_fill = 0;
            }
        }
    }
    std::string hex()
    {
        std::uint64_t bits = m_bits;
        std::uint8_t pad = 0x80;
        update(&pad, 1);
        std::uint8_t zero = 0;
        while (m_fill != 56) update(&zero, 1);
        std::uint8_t len[8];
        for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
        update(len, 8);
        static const char* digits = "0123456789abcdef";
        std::string out;
        for (std::uint32_t v : m_h)
            for (int i = 7; i >= 0; --i) out.push_back(digits[(v >> (4 * i)) & 0xf]);
        return out;
    }

private:
    void compress()
    {
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = (std::uint32_t(m_block[4 * i]) << 24) | (std::uint32_t(m_block[4 * i + 1]) << 16) |
                   (std::uint32_t(m_block[4 * i + 2]) << 8) | std::uint32_t(m_block[4 * i + 3]);
        for (int i = 16; i < 64; ++i) {
            std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = m_h[0], b = m_h[1], c = m_h[2], d = m_h[3], e = m_h[4], f = m_h[5], g = m_h[6], h = m_h[7];
        for (int i = 0; i < 64; ++i) {
            std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[i] + w[i];
            std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        m_h[0] += a; m_h[1] += b; m_h[2] += c; m_h[3] += d; m_h[4] += e; m_h[5] += f; m_h[6] += g; m_h[7] += h;
    }
    std::array<std::uint32_t, 8> m_h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::array<std::uint8_t, 64> m_block{};
    std::size_t m_fill = 0;
    std::uint64_t m_bits = 0;
};
} // namespace

std::string sha256Hex(std::span<const std::byte> data)
{
    Sha256 s;
    s.update(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    return s.hex();
}

std::string sha256FileHex(const std::string& path)
{
    auto file = MappedFile::open(path);
    return sha256Hex(file->bytes());
}

} // namespace sparsetrace::core
