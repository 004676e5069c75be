#pragma once

#include <string>

namespace vitals {

// This machine's host name (gethostname), or "localhost" if it has none.
std::string HostName();

}  // namespace vitals
