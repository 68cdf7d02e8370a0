# Fails when core includes Qt, torch or CUDA headers, gpu or the CLI (app/cli) includes Qt, or
# widgets include torch or CUDA; and when a library includes the public headers of one it may
# not see: core neither gpu's nor widgets', gpu and the CLI not widgets', widgets not gpu's. Qt headers in either spelling (<QString>, <qstring.h>; the
# lowercase one only in angle brackets, so a project header "quantile.h" is not Qt); CUDA
# headers of the runtime and of its libraries (cuda*, cub, thrust, crt, cuBLAS, cuRAND, ...).
# Run as: cmake -DSOURCE_DIR=<root> -P cmake/CheckLayering.cmake
set(_failed FALSE)
function(check_dir dir regex what)
  file(GLOB_RECURSE files "${SOURCE_DIR}/${dir}/*.h" "${SOURCE_DIR}/${dir}/*.hpp" "${SOURCE_DIR}/${dir}/*.cpp"
                          "${SOURCE_DIR}/${dir}/*.cu" "${SOURCE_DIR}/${dir}/*.cuh")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS lines)
      if(line MATCHES "${regex}")
        message(SEND_ERROR "layering: ${f} includes ${what}: ${line}")
        set(_failed TRUE PARENT_SCOPE)
      endif()
    endforeach()
  endforeach()
endfunction()
set(_qt "[<\"](Q[A-Za-z]|qcustomplot)|<q[a-z0-9_]+\\.h")
set(_torch "[<\"](torch/|ATen/|c10/)")
set(_cuda "[<\"](cuda|cub/|thrust/|crt/|cublas|cusparse|curand|cufft|cusolver|nvrtc|nvtx|nvToolsExt|device_launch_parameters)")
set(_gpu_lib "[<\"]sparsetrace/gpu/")
set(_widgets_lib "[<\"]sparsetrace/widgets/")
check_dir(core "${_qt}|${_torch}|${_cuda}|${_gpu_lib}|${_widgets_lib}" "Qt, torch or CUDA headers, or gpu or widgets headers")
check_dir(gpu "${_qt}|${_widgets_lib}" "Qt or widgets headers")
check_dir(app/cli "${_qt}|${_widgets_lib}" "Qt or widgets headers")
check_dir(widgets "${_torch}|${_cuda}|${_gpu_lib}" "torch, CUDA or gpu headers")
if(_failed)
  message(FATAL_ERROR "layering rule broken (see ARCHITECTURE.md)")
endif()
message(STATUS "layering: core, gpu, the CLI and widgets respect their boundaries")
