// Plain-C++ view of the CUDA runtime for the engine (no CUDA headers needed to include it).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>

namespace sparsetrace::gpu {

struct CudaDeviceInfo {
    std::string name;
    int major = 0;
    int minor = 0;
    std::int64_t totalBytes = 0;
    std::int64_t freeBytes = 0;
    int multiprocessors = 0;
};

// Throws BackendError when the device cannot be queried.
CudaDeviceInfo queryCudaDevice(int device);

} // namespace sparsetrace::gpu
