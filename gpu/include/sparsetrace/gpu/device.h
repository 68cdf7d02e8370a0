// Compute devices the engine can run on. Torch-free header: the GUI may include it.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparsetrace::gpu {

struct DeviceInfo {
    std::string id;          // "cpu", "cuda:0"
    std::string description; // "NVIDIA H100 80GB HBM3, 79.1 GiB"
    std::int64_t totalBytes = 0; // 0 for the CPU
    std::int64_t freeBytes = 0;
};

// The CPU first, then every CUDA device libtorch can see.
std::vector<DeviceInfo> availableDevices();
bool cudaAvailable();
// "2.11.0 (CUDA 13.0)", "1.13.1 (CPU)"
std::string libtorchDescription();
// True when this build carries our CUDA kernels (CUDA libtorch + nvcc).
bool builtWithCudaKernels();
// Peak bytes libtorch's CUDA allocator has held on device 0 since the last reset (0 without CUDA).
std::int64_t peakDeviceBytes();
void resetPeakDeviceBytes();

} // namespace sparsetrace::gpu
