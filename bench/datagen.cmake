# The synthetic monitoring-data generator, shared by bench/ (chunk_bench) and
# tests; included from both directories, so it builds whether benchmarks are
# on or not.
include_guard(GLOBAL)
add_library(vitals_datagen STATIC ${CMAKE_SOURCE_DIR}/bench/datagen.cc)
target_link_libraries(vitals_datagen PUBLIC vitals_common)
