vitals_add_test(actions_config_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/actions_config_test.cc
  LIBS vitals_actions LABEL unit)
vitals_add_test(actions_engine_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine_test.cc
  LIBS vitals_actions PkgConfig::HTTPLIB LABEL unit)
