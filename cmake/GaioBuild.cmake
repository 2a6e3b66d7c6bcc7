# Helpers for gaio's CMake files (included by the top-level CMakeLists.txt).
#
# gaio_public_library(NAME SOURCES ... HEADERS ... DEPS ... [INTERNAL ...])
#   The library gaio::NAME (file libgaio_NAME), installed with HEADERS under
#   include/gaio/NAME/ and exported for find_package(gaio) and gaio.pc.
#   DEPS: public dependencies (absl::*, Threads::Threads, gaio::*).
#   INTERNAL: OBJECT libraries of the project folded into this library.
#   HEADER_DIR: the directory the headers are installed under (include/gaio/
#   HEADER_DIR/), when it is not NAME (gaio::coro_tls's headers are coro/).
# gaio_cc_test(NAME SIZE small|medium SOURCES ... DEPS ... [ARGS ...] [DEFINES ...])
#   (a GoogleTest test reuses test_util's precompiled header: gaio_test_pch)
# gaio_sh_test(NAME SIZE small|medium SCRIPT file [ARGS ...])
#   A test named after its Bazel label (//package:NAME), so that
#   tools/check_test_lists.sh can compare the two builds, run from the source
#   root as Bazel runs it from the runfiles root, with a timeout by size.
# gaio_read_bzl_list(OUT FILE LIST)
#   The string list LIST = [...] of a .bzl file (tests/tests.bzl); fails on
#   anything but plain string literals and comments in it.

# Timeouts in seconds by Bazel test size. Bazel allows 60 and 300; the
# slowest suite takes ~11 s here, so medium is tighter.
set(GAIO_TIMEOUT_small 60)
set(GAIO_TIMEOUT_medium 120)

# The public packages in the order declared; GaioInstall.cmake reads them.
set_property(GLOBAL PROPERTY GAIO_PUBLIC_PACKAGES "")

function(gaio_public_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "HEADER_DIR" "SOURCES;HEADERS;DEPS;INTERNAL")
  if(NOT arg_HEADER_DIR)
    set(arg_HEADER_DIR ${name})
  endif()
  set(target gaio_${name})
  add_library(${target} ${arg_SOURCES})
  add_library(gaio::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${name}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_compile_features(${target} PUBLIC cxx_std_20)
  # Headers are included as "NAME/x.h": from the source root in the build,
  # from include/gaio/ once installed.
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/gaio>)
  target_link_libraries(${target} PUBLIC ${arg_DEPS})
  foreach(lib IN LISTS arg_INTERNAL)
    target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:${lib}>)
  endforeach()
  install(TARGETS ${target} EXPORT gaioTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # Each header keeps its subdirectory (coro/internal/x.h stays there).
  foreach(header IN LISTS arg_HEADERS)
    get_filename_component(subdir "${header}" DIRECTORY)
    install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gaio/${arg_HEADER_DIR}/${subdir})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY GAIO_PUBLIC_PACKAGES ${name})
  set_property(GLOBAL APPEND PROPERTY GAIO_PUBLIC_DEPS ${arg_DEPS})
endfunction()

# OBJECT libraries folded into a shared gaio library need -fPIC.
function(gaio_internal_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;DEPS")
  add_library(${name} OBJECT ${arg_SOURCES})
  if(BUILD_SHARED_LIBS)
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
  target_link_libraries(${name} PUBLIC ${arg_DEPS})
endfunction()

function(_gaio_add_test name size)
  if(NOT DEFINED GAIO_TIMEOUT_${size})
    message(FATAL_ERROR "${name}: SIZE must be small or medium, not '${size}'")
  endif()
  file(RELATIVE_PATH package "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  add_test(NAME //${package}:${name} COMMAND ${ARGN} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(//${package}:${name} PROPERTIES TIMEOUT ${GAIO_TIMEOUT_${size}})
endfunction()

# GAIO_TEST_PCH: every test reuses one precompiled header of the standard,
# Abseil and GoogleTest headers most of them include, compiled once with
# test_util (tests/CMakeLists.txt): about a third of a test's compile time
# is parsing them (docs/RELIABILITY.md, CI time). Each test still includes
# what it uses (the Bazel build, which has no precompiled headers, checks).
function(gaio_test_pch target)
  if(GAIO_TEST_PCH)
    target_precompile_headers(${target} PRIVATE
      <algorithm> <atomic> <cerrno> <chrono> <coroutine> <cstdint> <cstdio> <cstring>
      <functional> <memory> <optional> <string> <thread> <utility> <vector>
      <absl/status/status.h> <absl/status/statusor.h> <absl/strings/match.h>
      <absl/strings/str_cat.h> <absl/strings/string_view.h> <absl/synchronization/mutex.h>
      <absl/time/clock.h> <absl/time/time.h> <absl/types/span.h> <gtest/gtest.h>)
  endif()
endfunction()

function(gaio_cc_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SIZE" "SOURCES;DEPS;ARGS;DEFINES")
  add_executable(${name} ${arg_SOURCES})
  if(GAIO_TEST_PCH AND arg_DEPS MATCHES "GTest::")  # the header's flags: GoogleTest's
    target_precompile_headers(${name} REUSE_FROM test_util)
  endif()
  target_link_libraries(${name} PRIVATE ${arg_DEPS})
  target_compile_definitions(${name} PRIVATE ${arg_DEFINES})
  _gaio_add_test(${name} ${arg_SIZE} ${name} ${arg_ARGS})
endfunction()

function(gaio_sh_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SIZE;SCRIPT" "ARGS")
  _gaio_add_test(${name} ${arg_SIZE} bash ${CMAKE_CURRENT_SOURCE_DIR}/${arg_SCRIPT} ${arg_ARGS})
endfunction()

# A Python 3 test script (Bazel runs it as an sh_test through its shebang).
function(gaio_py_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SIZE;SCRIPT" "ARGS")
  _gaio_add_test(${name} ${arg_SIZE} python3 ${CMAKE_CURRENT_SOURCE_DIR}/${arg_SCRIPT} ${arg_ARGS})
endfunction()

function(gaio_read_bzl_list out file list)
  file(READ ${file} text)
  # One list item per line: no ';' left, and no brackets (a CMake list does
  # not split inside them); '[' and ']' become '<' and '>'.
  string(REPLACE ";" "," text "${text}")
  string(REPLACE "[" "<" text "${text}")
  string(REPLACE "]" ">" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(state before)
  set(items "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^([^#]*)#")  # drop a comment
      set(line "${CMAKE_MATCH_1}")
    endif()
    string(STRIP "${line}" line)
    if(state STREQUAL before)
      if(line STREQUAL "${list} = <")
        set(state inside)
      elseif(line MATCHES "^${list}[ =]")
        message(FATAL_ERROR "${file}: write ${list} as '${list} = [' and one name a line")
      endif()
    elseif(line STREQUAL ">")
      set(state after)
      break()
    elseif(line MATCHES "^\"([A-Za-z0-9_]+)\",$")
      list(APPEND items ${CMAKE_MATCH_1})
    elseif(NOT line STREQUAL "")
      message(FATAL_ERROR "${file}: ${list}: not a plain name: '${line}'")
    endif()
  endforeach()
  if(NOT state STREQUAL after OR NOT items)
    message(FATAL_ERROR "${file}: no non-empty list '${list} = [' ... ']'")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  set(${out} ${items} PARENT_SCOPE)
endfunction()
