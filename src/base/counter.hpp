#pragma once
// Counter: a statistic one loop writes and /metrics reads from another thread. Single writer,
// so plain relaxed loads and stores suffice (no locked read-modify-write on the hot path).
#include <atomic>
#include <cstdint>

namespace switchboard {

struct Counter {
    std::atomic<std::uint64_t> v{0};
    void add(std::uint64_t n = 1) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(std::uint64_t n = 1) noexcept { v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
    void set(std::uint64_t n) noexcept { v.store(n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

} // namespace switchboard
