// Human-readable quantities.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/format.h"

#include <cstdio>

namespace sparsetrace::core {

std::string formatBytes(double b)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (b >= 1024.0 && u < 6) {
        b /= 1024.0;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
    return buf;
}

} // namespace sparsetrace::core
