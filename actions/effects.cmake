# The effects the actions layer performs besides mode changes: action
# commands (rollback, escalation hooks) and webhooks.
add_library(vitals_command_runner ${CMAKE_CURRENT_LIST_DIR}/command_runner.cc)
target_link_libraries(vitals_command_runner PUBLIC vitals_common)

if(NOT TARGET PkgConfig::SODIUM)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET GLOBAL libsodium)
endif()
pkg_check_modules(EFFECTS_LIBCURL REQUIRED IMPORTED_TARGET libcurl)
add_library(vitals_webhook
  ${CMAKE_CURRENT_LIST_DIR}/webhook.cc
  ${CMAKE_CURRENT_LIST_DIR}/webhook_request.cc)
target_link_libraries(vitals_webhook
  PUBLIC vitals_common prometheus-cpp::core
  PRIVATE PkgConfig::EFFECTS_LIBCURL PkgConfig::SODIUM)
