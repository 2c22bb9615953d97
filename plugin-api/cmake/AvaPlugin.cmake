# ava_add_plugin(<name> SOURCES <file>... [LIBRARIES <lib>...] [OUTPUT_DIRECTORY <dir>])
#
# Builds one analyzer plugin, lib<name>.so, as a MODULE library linked to ava::plugin, with what the host
# needs of it (docs/plugin-guide.md, "Building"):
#   - hidden visibility and a version script: ava_plugin_entry is the only exported symbol;
#   - -fno-gnu-unique (GCC, C++): a GNU-unique symbol pins the .so in memory (dlclose cannot unload it, so
#     hot reload would leak every old version) and binds across plugins;
#   - --no-undefined: a plugin that would fail to load is refused at link time, not on the device;
#   - the C++ runtime linked dynamically, as the host itself does (the symbols stay private by the script).
# Used by this project's own plugins (plugins/) and, installed, by find_package(ava-extension-host).
# Within the project's build, AVA_PLUGIN_OUTPUT_DIR, AVA_PLUGIN_INSTALL_DIR and AVA_WARNINGS add its output
# folder, install rule and warnings; for an SDK user they are unset.
include_guard(GLOBAL)

set(AVA_PLUGIN_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/ava_plugin.map" CACHE INTERNAL
    "version script exporting only ava_plugin_entry")

function(ava_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "ava_add_plugin(${name}): no SOURCES given")
  endif()
  if(NOT ARG_OUTPUT_DIRECTORY AND AVA_PLUGIN_OUTPUT_DIR)
    set(ARG_OUTPUT_DIRECTORY ${AVA_PLUGIN_OUTPUT_DIR})
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ava::plugin ${ARG_LIBRARIES})
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-fno-gnu-unique>)
  if(AVA_WARNINGS)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${AVA_WARNINGS}>)
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${AVA_PLUGIN_VERSION_SCRIPT})
  target_link_options(${name} PRIVATE "LINKER:--version-script=${AVA_PLUGIN_VERSION_SCRIPT}")
  # Except in clang sanitizer builds, where a shared object leaves the sanitizer runtime's symbols to the
  # executable (gcc links the runtime into it).
  if(NOT (AVA_SANITIZE AND CMAKE_CXX_COMPILER_ID MATCHES "Clang"))
    target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  if(AVA_PLUGIN_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION ${AVA_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
