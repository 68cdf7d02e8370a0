# Every external dependency is found here, once.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
# Our nlohmann/json symbols in a namespace of their own (nlohmann::json_abi, not
# json_abi_v3_11_N): a PyTorch build may carry its own copy of the library, and inline
# functions of the same version and namespace would be merged with theirs at load time.
add_compile_definitions(NLOHMANN_JSON_NAMESPACE_NO_VERSION=1)
find_package(CLI11 REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
# Eigen (header only): the CPU backend of Stream-Attn (gpu/src/stream_attn/cpu).
find_package(Eigen3 3.4 REQUIRED NO_MODULE)

# libtorch: Debian's 1.13 (CPU) or a PyTorch installation's (CUDA), via CMAKE_PREFIX_PATH.
find_package(Torch REQUIRED)
# The C++ ABI flag of libtorch (_GLIBCXX_USE_CXX11_ABI) must hold for every target that shares
# std::string with it, so it applies to the whole project.
separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
add_compile_options($<$<COMPILE_LANGUAGE:CXX>:${_torch_flags}>)
set(SPARSETRACE_TORCH_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA OR TARGET torch_cuda)
  set(SPARSETRACE_TORCH_CUDA ON)
endif()

# CUDA kernels: compiled whenever nvcc exists (CI catches kernel compile errors even with a CPU
# libtorch); linked into the engine only when libtorch itself has CUDA.
set(SPARSETRACE_HAVE_CUDA_KERNELS OFF)
if(NOT SPARSETRACE_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    # The shared CUDA runtime, the one libtorch uses: CMake's default (Static) would link a second
    # copy, cudart_static, beside the shared one (CUDA::cudart, libtorch_cuda), and two runtimes
    # in one process each keep their own module registry and tear down at exit on their own.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(CMAKE_CUDA_STANDARD 17) # CMake 3.25 knows no C++20 flag for nvcc; kernels need no more
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(SPARSETRACE_HAVE_CUDA_KERNELS ON)
  elseif(SPARSETRACE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SPARSETRACE_CUDA=ON but no CUDA compiler was found")
  endif()
endif()

if(SPARSETRACE_GUI)
  find_package(Qt6 6.4 REQUIRED COMPONENTS Core Gui Widgets Svg PrintSupport Concurrent Test)
  find_package(QCustomPlotQt6 REQUIRED)
  qt_standard_project_setup()
endif()
