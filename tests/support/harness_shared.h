// Harness form of the ../shared and GPU rules for Qt-free tests.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "harness.h"
#include "shared_assets.h"

#include <ftw.h>

#include <cstdio>

namespace sparsetrace::test {
inline std::filesystem::path requireShared()
{
    auto dir = sharedDir();
    if (!dir) {
        bool mustFail = false;
        std::string msg = missingSharedMessage(mustFail);
        if (mustFail) fail(msg, __FILE__, __LINE__);
        skip(msg);
    }
    return *dir;
}
// Call when no CUDA device is present: skips, or fails under REQUIRE_GPU=1.
[[noreturn]] inline void noGpu(const std::string& what)
{
    if (envTrue("REQUIRE_GPU")) fail("REQUIRE_GPU=1 but " + what, __FILE__, __LINE__);
    skip(what + "; skipped (set REQUIRE_GPU=1 to make this a failure)");
}
// Deletes a folder tree (missing is fine). Not std::filesystem::remove_all: the PyTorch wheel's
// libtorch.so carries its own copy of remove_all(path, error_code&), which the dynamic linker
// binds before libstdc++'s, and that copy jumps through a null pointer (issue #19: the GPU tests'
// crash at exit, found under gdb on the GPU machine). POSIX nftw + remove has no such twin.
inline void removeTree(const std::filesystem::path& dir)
{
    const auto removeOne = [](const char* path, const struct stat*, int, struct FTW*) {
        std::remove(path); // best effort: a scratch folder
        return 0;
    };
    ::nftw(dir.c_str(), removeOne, 16, FTW_DEPTH | FTW_PHYS);
}
} // namespace sparsetrace::test
