# RocksDB is linked directly: the tamper tests edit the audit family behind
# the log's back.
vitals_add_test(actions_db_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/actions_db_test.cc
  LIBS vitals_audit LABEL unit)
vitals_add_test(audit_log_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/audit_log_test.cc
  LIBS vitals_audit RocksDB::rocksdb-shared LABEL unit)
