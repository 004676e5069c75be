# The actions layer's persistent store (ActionsDb) and its hash-chained audit
# log (AuditLog). RocksDB stays private: no public header includes it.
if(NOT TARGET PkgConfig::SODIUM)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET GLOBAL libsodium)
endif()
add_library(vitals_audit
  ${CMAKE_CURRENT_LIST_DIR}/actions_db.cc
  ${CMAKE_CURRENT_LIST_DIR}/audit_log.cc)
target_link_libraries(vitals_audit
  PUBLIC vitals_common nlohmann_json::nlohmann_json
  PRIVATE RocksDB::rocksdb-shared PkgConfig::SODIUM)
