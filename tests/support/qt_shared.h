// Qt Test form of the ../shared rule: QSKIP when absent, QFAIL under CI=true.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "shared_assets.h"

#include <QtTest>

#define ST_QREQUIRE_SHARED(var)                                                                    \
    const auto var##_opt = ::sparsetrace::test::sharedDir();                                       \
    if (!var##_opt) {                                                                              \
        bool st_mustFail = false;                                                                  \
        const std::string st_msg = ::sparsetrace::test::missingSharedMessage(st_mustFail);         \
        if (st_mustFail) QFAIL(st_msg.c_str());                                                    \
        QSKIP(st_msg.c_str());                                                                     \
    }                                                                                              \
    const std::filesystem::path var = *var##_opt
