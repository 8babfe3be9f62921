#pragma once
// RelayPorts: the UDP ports this server's relay sockets hold right now, one bit per port and
// family, shared by every loop. Two clients relaying through the same server (relay-only ICE on
// both sides) send to each other's relayed address, which is one of the server's own; the
// policy lets that through only while the port is a live relay, so the allowance never opens
// the other services on that address. Each loop marks its own relays; a client on one loop may
// send to a relay held by another, hence atomics. 16 KiB in all.
// Thread-safe.
#include "stun/address.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace switchboard::turn {

class RelayPorts {
  public:
    void add(stun::Family f, std::uint16_t port) noexcept {
        bits_[of(f)][port / 64].fetch_or(bit(port), std::memory_order_relaxed);
    }
    void remove(stun::Family f, std::uint16_t port) noexcept {
        bits_[of(f)][port / 64].fetch_and(~bit(port), std::memory_order_relaxed);
    }
    bool live(stun::Family f, std::uint16_t port) const noexcept {
        return (bits_[of(f)][port / 64].load(std::memory_order_relaxed) & bit(port)) != 0;
    }

  private:
    static std::size_t of(stun::Family f) noexcept { return f == stun::Family::V6 ? 1 : 0; }
    static std::uint64_t bit(std::uint16_t port) noexcept { return std::uint64_t{1} << (port % 64); }
    std::array<std::atomic<std::uint64_t>, 65536 / 64> bits_[2]{}; // by family (V4, V6)
};

} // namespace switchboard::turn
