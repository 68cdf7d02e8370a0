// Device queries through the CUDA runtime.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cuda_check.cuh"
#include "cuda_info.h"

namespace sparsetrace::gpu {

CudaDeviceInfo queryCudaDevice(int device)
{
    cudaDeviceProp prop{};
    checkCuda(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    int previous = 0;
    checkCuda(cudaGetDevice(&previous), "cudaGetDevice");
    checkCuda(cudaSetDevice(device), "cudaSetDevice");
    size_t freeBytes = 0, totalBytes = 0;
    cudaError_t status = cudaMemGetInfo(&freeBytes, &totalBytes);
    cudaSetDevice(previous);
    checkCuda(status, "cudaMemGetInfo");
    CudaDeviceInfo info;
    info.name = prop.name;
    info.major = prop.major;
    info.minor = prop.minor;
    info.totalBytes = static_cast<std::int64_t>(totalBytes);
    info.freeBytes = static_cast<std::int64_t>(freeBytes);
    info.multiprocessors = prop.multiProcessorCount;
    return info;
}

} // namespace sparsetrace::gpu
