# The load generator's core (synthetic fleet + ZeroMQ driver), shared by
# bench/ingest_load.cc and tests/integration/crash_test.cc; included from
# both directories, so it builds whether benchmarks are on or not.
include_guard(GLOBAL)
add_library(vitals_ingest_load_core STATIC
  ${CMAKE_SOURCE_DIR}/bench/synthetic_fleet.cc
  ${CMAKE_SOURCE_DIR}/bench/load_generator.cc)
target_link_libraries(vitals_ingest_load_core PUBLIC vitals_common)
