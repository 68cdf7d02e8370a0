// Human-readable quantities for messages and reports (CLI, estimates).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace sparsetrace::core {

// "512 B", "1.50 KiB", "3.20 GiB" (binary units).
std::string formatBytes(double bytes);

} // namespace sparsetrace::core
