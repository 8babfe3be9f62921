#pragma once
// Monotonic time in nanoseconds. Every timestamp wsload compares (latency stamps, phase
// deadlines, rate pacing) must come from this one clock, or the differences mean nothing.
#include <time.h>

#include <algorithm>
#include <cstdint>

namespace wsload {

inline constexpr uint64_t kNsPerSec = 1'000'000'000ULL;

inline uint64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

// Sleeps until `deadline` (monotonic ns) or until `stop()` holds, in short steps.
template <typename Stop> void sleep_until(uint64_t deadline, Stop stop) {
    while (mono_ns() < deadline && !stop()) {
        const uint64_t left = deadline - mono_ns();
        const uint64_t step = std::min<uint64_t>(left, 1'000'000);
        timespec ts{static_cast<time_t>(step / kNsPerSec), static_cast<long>(step % kNsPerSec)};
        nanosleep(&ts, nullptr);
    }
}

} // namespace wsload
