#pragma once
// One complete load run for a validated Config.
#include "options.hpp"

namespace wsload {

// Blocks until the run has finished and its report is printed. Returns the exit status:
// 0 ok, 1 validation errors or lost connections, 2 aborted, 64 when the fd limit is too low.
int run(const Config& cfg);

} // namespace wsload
