# tests/actions/CMakeLists.txt may include this file more than once.
include_guard(DIRECTORY)

vitals_add_test(maintenance_test
  SOURCES maintenance_test.cc
  LIBS vitals_maintenance nlohmann_json::nlohmann_json
  LABEL unit)
