# The actions engine: routes, modes with circuit-breaker recovery, incidents,
# maintenance windows, rollback (actions/engine.h).
add_library(vitals_actions
  ${CMAKE_CURRENT_LIST_DIR}/actions_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/actions_metrics.cc
  ${CMAKE_CURRENT_LIST_DIR}/breaker.cc
  ${CMAKE_CURRENT_LIST_DIR}/engine.cc
  ${CMAKE_CURRENT_LIST_DIR}/engine_rollback.cc
  ${CMAKE_CURRENT_LIST_DIR}/engine_state.cc
  ${CMAKE_CURRENT_LIST_DIR}/engine_util.cc
  ${CMAKE_CURRENT_LIST_DIR}/mode.cc
)
target_link_libraries(vitals_actions PUBLIC
  vitals_audit vitals_maintenance vitals_webhook vitals_command_runner
  vitals_rules vitals_promql vitals_storage vitals_common
  prometheus-cpp::core nlohmann_json::nlohmann_json yaml-cpp)
