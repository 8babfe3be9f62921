#pragma once
// 32-bit millisecond timestamps on the steady clock, for per-connection timers: half the size
// of a time_point, and exact when compared by unsigned difference for intervals under 49 days.
#include <chrono>
#include <cstdint>

namespace switchboard {

inline std::uint32_t steady_ms(std::chrono::steady_clock::time_point t) noexcept {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

} // namespace switchboard
