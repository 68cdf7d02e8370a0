// Harness form of the ../shared and GPU rules for Qt-free tests.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "harness.h"
#include "shared_assets.h"

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
} // namespace sparsetrace::test
