// Shared shape of our fuzz targets: each defines fuzzOne(); built with -fsanitize=fuzzer it is
// driven by libFuzzer, otherwise by replay_main.cpp over committed seeds and regression inputs
// (so every crash ever found stays a test of the normal suite).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>

int fuzzOne(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { return fuzzOne(data, size); }
