# Debian packages of ava-extension-host (included by the top-level CMakeLists.txt; built by build-deb.sh):
#   ava-extension-host: the host, the bundled plugins, the model, the configuration (a conffile), the systemd
#     unit, maintainer scripts (system user, enable + restart), copyright and changelog (install component
#     "Unspecified": every install() without a COMPONENT);
#   ava-extension-host-dev: the plugin SDK (install component "sdk": headers, CMake package, ava-plugin.pc,
#     ava-plugin-check, templates).
set(ava_deb_dir ${CMAKE_CURRENT_LIST_DIR})
set(ava_deb_docdir ${CMAKE_INSTALL_DATAROOTDIR}/doc/ava-extension-host)

install(FILES ${ava_deb_dir}/copyright DESTINATION ${ava_deb_docdir})
install(FILES ${ava_deb_dir}/copyright DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/ava-extension-host-dev COMPONENT sdk)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${ava_deb_docdir})
# Debian wants the changelog gzip -9n compressed (no name or time stamp in it: reproducible).
find_program(AVA_GZIP gzip)
if(AVA_GZIP)
  execute_process(COMMAND ${AVA_GZIP} -9nc ${ava_deb_dir}/changelog
                  OUTPUT_FILE ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz DESTINATION ${ava_deb_docdir})
endif()

set(CPACK_PACKAGE_NAME ava-extension-host)
set(CPACK_PACKAGE_VENDOR "ava-extension-host contributors")
set(CPACK_PACKAGE_CONTACT "ava-extension-host maintainers <maintainers@example.com>")
# Each package's description: the synopsis line, then the extended description, lines under 80 characters
# (no CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would prepend it to both packages).
set(CPACK_DEBIAN_UNSPECIFIED_DESCRIPTION "Plugin-hosting extension runtime for live video analytics (AVA HTTP/gRPC)
One hardened host process for live video analytics extensions: video
pipelines (Azure Video Analyzer / Live Video Analytics style) send frames
over the HTTP or gRPC extension protocol; the host decodes them once, routes
each frame to an analyzer plugin and answers with inferences in the AVA
schema. Bundled analyzers: colour intensity, faces (BlazeFace), people,
motion, quality.")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/ava-extension-host/ava-extension-host")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL Unspecified sdk)
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_NAME ava-extension-host)
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_CONTROL_EXTRA
    "${ava_deb_dir}/conffiles;${ava_deb_dir}/postinst;${ava_deb_dir}/prerm;${ava_deb_dir}/postrm")
set(CPACK_DEBIAN_SDK_PACKAGE_NAME ava-extension-host-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_SDK_PACKAGE_RECOMMENDS "build-essential, cmake | pkg-config")
set(CPACK_DEBIAN_SDK_DESCRIPTION "Plugin SDK for ava-extension-host analyzers
Headers of the analyzer plugin C ABI and its C++ helpers, a CMake package
(find_package(ava-extension-host): ava::plugin, ava_add_plugin), the
pkg-config file ava-plugin.pc, the ava-plugin-check conformance checker
and C and C++ analyzer templates.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# The host loads OpenCV's image codecs with dlopen (host/frames/image_codecs.h), so shlibdeps cannot see them.
# Ask dpkg which package owns the library (Debian 12: libopencv-imgcodecs406; other releases name it
# differently); without dpkg, fall back to Debian's naming after the soversion.
get_target_property(imgcodecs_file opencv_imgcodecs LOCATION)
file(REAL_PATH "${imgcodecs_file}" imgcodecs_file)
execute_process(COMMAND dpkg -S "${imgcodecs_file}" OUTPUT_VARIABLE imgcodecs_owner ERROR_QUIET
                OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX MATCH "^[^:]+" imgcodecs_package "${imgcodecs_owner}")
if(NOT imgcodecs_package)
  math(EXPR opencv_soversion "${OpenCV_VERSION_MAJOR} * 100 + ${OpenCV_VERSION_MINOR}")
  set(imgcodecs_package "libopencv-imgcodecs${opencv_soversion}")
endif()
# opencv-data: the Haar cascade (faces model=haar); adduser and init-system-helpers (deb-systemd-helper): postinst.
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.54~), opencv-data, ${imgcodecs_package}")
include(CPack)
