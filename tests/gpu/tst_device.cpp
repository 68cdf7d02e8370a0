// Device enumeration: the CPU is always listed; on the GPU machine (REQUIRE_GPU=1) a CUDA
// device must be found and our kernels must be in the build.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/gpu/device.h"

#include "harness_shared.h"

using namespace sparsetrace;

ST_TEST(cpuIsAlwaysListed)
{
    auto devices = gpu::availableDevices();
    ST_CHECK(!devices.empty());
    ST_CHECK_EQ(devices.front().id, std::string("cpu"));
    ST_CHECK(!gpu::libtorchDescription().empty());
}

ST_TEST(cudaDeviceWhenPresent)
{
    if (!gpu::cudaAvailable()) test::noGpu("no CUDA device visible to libtorch");
    ST_CHECK_MSG(gpu::builtWithCudaKernels(), "CUDA device present but the build has no CUDA kernels");
    auto devices = gpu::availableDevices();
    ST_CHECK(devices.size() >= 2);
    ST_CHECK_EQ(devices[1].id, std::string("cuda:0"));
    ST_CHECK(devices[1].totalBytes > 0);
    ST_CHECK(devices[1].freeBytes > 0 && devices[1].freeBytes <= devices[1].totalBytes);
    std::cout << "device: " << devices[1].description << "\n";
}

ST_MAIN()
