// Locating ../shared (the assets beside the project) and the committed fixtures from tests.
// A test that needs ../shared skips with a message when it is absent, except under CI=true,
// where a missing ../shared is a failure. GPU tests skip without a device unless REQUIRE_GPU=1.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace sparsetrace::test {

inline bool envTrue(const char* name)
{
    const char* v = std::getenv(name);
    return v && (std::string(v) == "1" || std::string(v) == "true" || std::string(v) == "TRUE");
}

// The folder of committed test fixtures (tests/fixtures).
inline std::filesystem::path fixturesDir() { return SPARSETRACE_FIXTURES_DIR; }

// ../shared next to the source tree, or $SPARSETRACE_SHARED. Empty when absent.
inline std::optional<std::filesystem::path> sharedDir()
{
    if (const char* env = std::getenv("SPARSETRACE_SHARED"); env && *env) {
        if (std::filesystem::is_directory(env)) return std::filesystem::path(env);
        return std::nullopt;
    }
    std::filesystem::path p = std::filesystem::path(SPARSETRACE_SOURCE_DIR) / ".." / "shared";
    if (std::filesystem::is_directory(p / "assets")) return std::filesystem::weakly_canonical(p);
    return std::nullopt;
}

// Message for a missing ../shared; `mustFail` tells whether the caller must fail (CI=true).
inline std::string missingSharedMessage(bool& mustFail)
{
    mustFail = envTrue("CI");
    return mustFail ? "../shared is missing, and CI=true requires it"
                    : "../shared is absent (set SPARSETRACE_SHARED or place it beside the project); skipped";
}

// A scratch folder for unpacked assets (zstd) inside the build tree.
inline std::filesystem::path scratchDir()
{
    std::filesystem::path p = std::filesystem::path(SPARSETRACE_BINARY_DIR) / "test-scratch";
    std::filesystem::create_directories(p);
    return p;
}

} // namespace sparsetrace::test

namespace sparsetrace::test {
// Decompresses `src` (a .zst file) into the scratch folder as `name` once; returns the path,
// or an empty path when the zstd tool fails.
inline std::filesystem::path unpackZstd(const std::filesystem::path& src, const std::string& name)
{
    std::filesystem::path out = scratchDir() / name;
    if (std::filesystem::exists(out)) return out;
    std::filesystem::path tmp = out;
    tmp += ".part";
    std::string cmd = "zstd -d -q -f '" + src.string() + "' -o '" + tmp.string() + "'";
    if (std::system(cmd.c_str()) != 0) return {};
    std::filesystem::rename(tmp, out);
    return out;
}
} // namespace sparsetrace::test
