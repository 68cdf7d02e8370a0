// Device enumeration through libtorch (and cudart for free memory when our kernels are built).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/gpu/device.h"

#include <torch/torch.h>

#include <cstdio>

#ifdef SPARSETRACE_WITH_CUDA
#include "cuda_info.h"

#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace sparsetrace::gpu {

bool cudaAvailable() { return torch::cuda::is_available(); }

bool builtWithCudaKernels()
{
#ifdef SPARSETRACE_WITH_CUDA
    return true;
#else
    return false;
#endif
}

std::int64_t peakDeviceBytes()
{
#ifdef SPARSETRACE_WITH_CUDA
    if (!cudaAvailable()) return 0;
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(0);
    return stats.reserved_bytes[0].peak; // index 0: StatType::AGGREGATE
#else
    return 0;
#endif
}

void resetPeakDeviceBytes()
{
#ifdef SPARSETRACE_WITH_CUDA
    if (cudaAvailable()) c10::cuda::CUDACachingAllocator::resetPeakStats(0);
#endif
}

std::string libtorchDescription()
{
    std::string s = TORCH_VERSION;
#ifdef SPARSETRACE_WITH_CUDA
    s += " (CUDA)";
#else
    s += " (CPU)";
#endif
    return s;
}

std::vector<DeviceInfo> availableDevices()
{
    std::vector<DeviceInfo> out;
    out.push_back({"cpu", "CPU", 0, 0});
#ifdef SPARSETRACE_WITH_CUDA
    if (cudaAvailable()) {
        for (int d = 0; d < static_cast<int>(torch::cuda::device_count()); ++d) {
            CudaDeviceInfo ci = queryCudaDevice(d);
            char buf[256];
            std::snprintf(buf, sizeof buf, "%s, %.1f GiB, compute capability %d.%d", ci.name.c_str(),
                          static_cast<double>(ci.totalBytes) / (1024.0 * 1024.0 * 1024.0), ci.major, ci.minor);
            out.push_back({"cuda:" + std::to_string(d), buf, ci.totalBytes, ci.freeBytes});
        }
    }
#endif
    return out;
}

} // namespace sparsetrace::gpu
