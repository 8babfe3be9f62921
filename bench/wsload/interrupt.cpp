#include "interrupt.hpp"

namespace wsload {

volatile sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }

} // namespace wsload
