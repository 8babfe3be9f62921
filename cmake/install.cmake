# `cmake --install`: the server binary, and the native client SDK for other projects —
# include/switchboard/*.hpp, one static archive holding the SDK and the layers under it, and a
# package config so a consumer writes find_package(Switchboard) and links Switchboard::client.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS switchboard RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/switchboard DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The layers the SDK stands on, merged into one archive (an ar MRI script), so a consumer links
# one file and never sees the layering.
set(sdk_layers sb_client sb_rtc_peer sb_rtc_ice sb_rtc_dtls sb_rtc_sctp sb_rtc_sdp sb_stun sb_net sb_ws sb_http sb_json sb_base)
set(sdk_archive ${CMAKE_BINARY_DIR}/libswitchboard_client.a)
set(mri "create ${sdk_archive}\n")
foreach(layer IN LISTS sdk_layers)
  string(APPEND mri "addlib $<TARGET_FILE:${layer}>\n")
endforeach()
string(APPEND mri "save\nend\n")
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/switchboard_client.mri CONTENT "${mri}")
add_custom_command(OUTPUT ${sdk_archive}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${sdk_archive}
  COMMAND ${CMAKE_AR} -M < ${CMAKE_BINARY_DIR}/switchboard_client.mri
  DEPENDS ${sdk_layers} ${CMAKE_BINARY_DIR}/switchboard_client.mri
  COMMENT "Merging the client SDK into libswitchboard_client.a")
add_custom_target(switchboard_client_archive ALL DEPENDS ${sdk_archive})
install(FILES ${sdk_archive} DESTINATION ${CMAKE_INSTALL_LIBDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SwitchboardConfig.cmake.in
  ${CMAKE_BINARY_DIR}/SwitchboardConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Switchboard)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/SwitchboardConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/SwitchboardConfig.cmake ${CMAKE_BINARY_DIR}/SwitchboardConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Switchboard)
