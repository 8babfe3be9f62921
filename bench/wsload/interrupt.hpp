#pragma once
// SIGINT/SIGTERM end the run early but still print a report, so a long run that is cut short is
// not wasted. The handler only sets a flag; the main thread polls it.
#include <csignal>

namespace wsload {

extern volatile sig_atomic_t g_interrupted;
extern "C" void on_signal(int);

} // namespace wsload
