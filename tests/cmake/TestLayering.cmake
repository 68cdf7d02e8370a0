# The layering check catches what it must: each planted include below, alone in a scratch
# tree, must fail cmake/CheckLayering.cmake naming its file; the allowed ones must pass.
# Run as: cmake -DSOURCE_DIR=<root> -DWORK_DIR=<scratch> -P tests/cmake/TestLayering.cmake
set(_bad
  "core|<QString>" "core|<qstring.h>" "core|<qcustomplot.h>" "core|<torch/torch.h>" "core|<ATen/ATen.h>"
  "core|<c10/util/Half.h>" "core|<cuda_runtime.h>" "core|<cublas_v2.h>" "core|<crt/host_defines.h>"
  "core|<thrust/sort.h>" "gpu|<QtCore/QObject>" "gpu|<qglobal.h>" "app/cli|<QCoreApplication>"
  "widgets|<torch/script.h>" "widgets|<c10/core/Device.h>" "widgets|<cuda_bf16.h>"
  "core/src/analysis|<QString>" "core/src/tokenizer|<torch/torch.h>" "core|\"sparsetrace/gpu/trace_engine.h\""
  "core|\"sparsetrace/widgets/figure.h\"" "gpu/src/tracer|\"sparsetrace/widgets/async_jobs.h\""
  "app/cli|\"sparsetrace/widgets/colormap.h\"" "widgets/src|\"sparsetrace/gpu/device.h\"")
set(_good "core|<vector>" "core|\"sparsetrace/core/trace.h\"" "gpu|<torch/torch.h>" "gpu|<cuda_runtime.h>"
  "widgets|<QWidget>" "widgets|<qcustomplot.h>" "app/cli|<CLI/CLI.hpp>"
  "core|\"quantile.h\"" "gpu|\"query_blocks.h\"" "core/src/analysis|\"format/json_checked.h\""
  "widgets|\"sparsetrace/core/head_stats.h\"" "gpu|\"sparsetrace/core/trace_engine_interface.h\""
  "app/explorer|\"sparsetrace/gpu/trace_engine.h\"")
set(_errors 0)
function(run_case spec expect_fail)
  string(REPLACE "|" ";" parts "${spec}")
  list(GET parts 0 dir)
  list(GET parts 1 header)
  set(root "${WORK_DIR}/case")
  file(REMOVE_RECURSE "${root}")
  file(WRITE "${root}/${dir}/planted.cpp" "#include ${header}\n")
  execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${root} -P ${SOURCE_DIR}/cmake/CheckLayering.cmake
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(expect_fail AND (rc EQUAL 0 OR NOT err MATCHES "planted.cpp"))
    message(SEND_ERROR "not caught: ${dir} including ${header}")
    math(EXPR n "${_errors} + 1")
    set(_errors ${n} PARENT_SCOPE)
  elseif(NOT expect_fail AND NOT rc EQUAL 0)
    message(SEND_ERROR "refused although allowed: ${dir} including ${header}\n${err}")
    math(EXPR n "${_errors} + 1")
    set(_errors ${n} PARENT_SCOPE)
  endif()
endfunction()
foreach(c IN LISTS _bad)
  run_case("${c}" TRUE)
endforeach()
foreach(c IN LISTS _good)
  run_case("${c}" FALSE)
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}/case")
list(LENGTH _bad nb)
list(LENGTH _good ng)
if(_errors GREATER 0)
  message(FATAL_ERROR "layering check: ${_errors} case(s) wrong")
endif()
message(STATUS "layering check: ${nb} planted violations caught, ${ng} allowed includes passed")
