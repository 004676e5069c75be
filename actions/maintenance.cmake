# Maintenance windows' schedule arithmetic (actions/maintenance.h): one-off and
# daily/weekly windows in a time zone, over Howard Hinnant's date/tz and the
# system tzdata.
# actions/CMakeLists.txt may include this file more than once.
include_guard(DIRECTORY)

find_package(date REQUIRED)
add_library(vitals_maintenance maintenance.cc)
target_link_libraries(vitals_maintenance
  PUBLIC vitals_common nlohmann_json::nlohmann_json
  PRIVATE date::date-tz)
