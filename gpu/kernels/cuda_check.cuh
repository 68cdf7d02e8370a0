// Every CUDA call and launch is checked and THROWS BackendError (never exits): a GUI must
// survive a failed kernel.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/error.h"

#include <cuda_runtime.h>

#include <string>

namespace sparsetrace::gpu {

inline void checkCuda(cudaError_t status, const char* what)
{
    if (status != cudaSuccess) {
        if (status == cudaErrorMemoryAllocation)
            throw BackendError(std::string("CUDA out of memory during ") + what);
        throw BackendError(std::string("CUDA error during ") + what + ": " + cudaGetErrorString(status));
    }
}

// After a kernel launch: reports launch-configuration errors at once.
inline void checkLaunch(const char* kernel) { checkCuda(cudaGetLastError(), kernel); }

} // namespace sparsetrace::gpu
