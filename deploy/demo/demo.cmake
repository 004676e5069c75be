# The demo's two programs: the shop (orders in PostgreSQL, obeys its Vitals
# mode file) and the payment-gateway stub it charges (README.md here).
pkg_check_modules(DEMO_LIBPQ REQUIRED IMPORTED_TARGET libpq)

add_library(vitals_demo_common STATIC
  ${CMAKE_CURRENT_LIST_DIR}/demo_server.cc
  ${CMAKE_CURRENT_LIST_DIR}/mode_file.cc)
target_link_libraries(vitals_demo_common PUBLIC
  vitals_common PkgConfig::HTTPLIB nlohmann_json::nlohmann_json)

add_executable(vitals-demo-payment-gateway ${CMAKE_CURRENT_LIST_DIR}/payment_gateway.cc)
target_link_libraries(vitals-demo-payment-gateway PRIVATE vitals_demo_common CLI11::CLI11)

add_executable(vitals-demo-shop ${CMAKE_CURRENT_LIST_DIR}/shop.cc)
target_link_libraries(vitals-demo-shop PRIVATE
  vitals_demo_common CLI11::CLI11 prometheus-cpp::core PkgConfig::DEMO_LIBPQ)
