# Action commands start real processes and webhooks talk to a port-0
# cpp-httplib server on loopback; both are quick and self-contained.
vitals_add_test(command_runner_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/command_runner_test.cc
  LIBS vitals_command_runner LABEL unit)
vitals_add_test(webhook_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/webhook_test.cc
  LIBS vitals_webhook PkgConfig::HTTPLIB prometheus-cpp::core LABEL unit)
