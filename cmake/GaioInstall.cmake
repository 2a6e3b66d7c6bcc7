# Installs what gaio_public_library() registered: the targets as
# gaioTargets.cmake (namespace gaio::), gaioConfig.cmake and its version file
# for find_package(gaio), and gaio.pc for pkg-config. Included last by the
# top-level CMakeLists.txt.
include(CMakePackageConfigHelpers)

set(GAIO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gaio)
get_property(GAIO_PACKAGES GLOBAL PROPERTY GAIO_PUBLIC_PACKAGES)
get_property(deps GLOBAL PROPERTY GAIO_PUBLIC_DEPS)

install(EXPORT gaioTargets NAMESPACE gaio:: DESTINATION ${GAIO_CMAKE_DIR})
configure_package_config_file(cmake/gaioConfig.cmake.in gaioConfig.cmake
                              INSTALL_DESTINATION ${GAIO_CMAKE_DIR})
# 0.x: a new minor version may break the API.
write_basic_package_version_file(gaioConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gaioConfig.cmake
              ${PROJECT_BINARY_DIR}/gaioConfigVersion.cmake
        DESTINATION ${GAIO_CMAKE_DIR})

# gaio.pc: every public library, later packages (which use earlier ones)
# first; absl::NAME becomes the Debian/Abseil module absl_NAME.
set(GAIO_PC_LIBS "")
foreach(name IN LISTS GAIO_PACKAGES)
  set(GAIO_PC_LIBS "-lgaio_${name} ${GAIO_PC_LIBS}")
endforeach()
set(GAIO_PC_REQUIRES "")
list(REMOVE_DUPLICATES deps)
foreach(dep IN LISTS deps)
  if(dep MATCHES "^absl::(.+)$")
    list(APPEND GAIO_PC_REQUIRES absl_${CMAKE_MATCH_1})
  elseif(dep STREQUAL "OpenSSL::SSL")
    list(APPEND GAIO_PC_REQUIRES libssl)
  elseif(dep STREQUAL "PkgConfig::cares")
    list(APPEND GAIO_PC_REQUIRES libcares)
  elseif(dep STREQUAL "OpenSSL::Crypto")
    list(APPEND GAIO_PC_REQUIRES libcrypto)
  elseif(dep STREQUAL "ZLIB::ZLIB")
    list(APPEND GAIO_PC_REQUIRES zlib)
  elseif(dep STREQUAL "Threads::Threads")
    string(APPEND GAIO_PC_LIBS "-pthread")
  elseif(IS_ABSOLUTE "${dep}")
    string(APPEND GAIO_PC_LIBS " ${dep}")
  elseif(NOT dep MATCHES "^gaio::")
    message(FATAL_ERROR "gaio.pc: no pkg-config module known for dependency '${dep}'")
  endif()
endforeach()
list(JOIN GAIO_PC_REQUIRES ", " GAIO_PC_REQUIRES)
# Relocatable: the prefix is found from where gaio.pc lies, unless the
# install directories are absolute.
file(RELATIVE_PATH up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" up "${up}")
set(GAIO_PC_PREFIX "\${pcfiledir}/${up}")
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(GAIO_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(GAIO_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
configure_file(cmake/gaio.pc.in gaio.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gaio.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
