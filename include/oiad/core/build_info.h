// Where a build and a run come from: the commit, the machine, the time (recorded with every
// experiment, bench/cells).
#pragma once

#include <string>

namespace oiad {

/// The git commit the library was built from: 12 hex digits, with "-dirty" when tracked files
/// differed from it at build time; "unknown" when built outside a git checkout. Refreshed at
/// every build (cmake/build_info.cmake).
const char* build_commit();

/// This machine's CPU model as /proc/cpuinfo names it ("model name"), or "unknown".
std::string cpu_model();

/// The current time, UTC, ISO 8601 to the second ("2026-12-07T15:56:48Z").
std::string utc_now();

}  // namespace oiad
