# Warnings, -Werror for CI, sanitizers. Applied through the interface target sparsetrace_warnings
# so that third-party headers (torch, Qt) are not held to our warning level.
add_library(sparsetrace_warnings INTERFACE)
target_compile_options(sparsetrace_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
# GCC 12 reports -Wrestrict inside libstdc++'s std::string when inlining string concatenation
# (GCC bug 105329, a false positive); it would make -Werror fail on correct code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(sparsetrace_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()
if(SPARSETRACE_WERROR)
  target_compile_options(sparsetrace_warnings INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()

if(SPARSETRACE_SANITIZE)
  string(REPLACE "," ";" _san_list "${SPARSETRACE_SANITIZE}")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${SPARSETRACE_SANITIZE}>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=all>)
  add_link_options(-fsanitize=${SPARSETRACE_SANITIZE})
endif()

if(SPARSETRACE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SPARSETRACE_FUZZ needs clang (CXX=clang++)")
  endif()
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link,address,undefined>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>)
  add_link_options(-fsanitize=address,undefined)
endif()

# ccache when present: several build trees of one checkout (presets, sanitizers) share objects.
# CCACHE_BASEDIR makes the cache key independent of the build tree's absolute path.
find_program(SPARSETRACE_CCACHE ccache)
if(SPARSETRACE_CCACHE AND NOT SPARSETRACE_FUZZ)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=1 ${SPARSETRACE_CCACHE})
endif()
