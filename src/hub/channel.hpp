#pragma once
// OwnedChannel: a channel's state on its owner loop — the position (epoch, top offset), the
// recent history, the presence list and the loops that have subscribers. The owner is the
// only writer, which is what makes the order of publications total.
#include "engine/memory_history.hpp"
#include "hub/namespaces.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::hub {

struct LocalChannel;

/// A loop with subscribers of the channel: the owner sends each publication there once.
struct Target {
    unsigned loop = 0;
    LocalChannel* lc = nullptr; // lives on `loop`; only that loop dereferences it
    std::uint32_t clients = 0;  // subscriptions of that loop the owner has counted
    std::uint32_t binary_clients = 0; // ... of clients taking binary pub pushes
};

/// Not thread-safe; owned by one loop (the channel's owner).
struct OwnedChannel {
    std::string name;
    const NamespaceOptions* ns = nullptr;
    std::string epoch;
    std::uint64_t top = 0; // the newest offset assigned (and committed, for durable channels)
    std::uint64_t assigned = 0; // durable: the newest offset handed to the store
    engine::MemoryHistory history;
    std::vector<Target> targets;
    std::unordered_map<std::string, std::string> presence; // client id -> client info JSON
    std::uint32_t in_flight = 0;     // durable publications waiting for their commit
    bool poisoned = false;           // a durable append failed: no new ones until in_flight is 0
    std::int64_t idle_since_ms = 0;  // when the last target went away

    /// Whether any subscriber takes pub pushes as binary frames (then each is framed both ways).
    bool wants_binary() const noexcept {
        for (const Target& t : targets)
            if (t.binary_clients) return true;
        return false;
    }

    /// The subscribe reply's result object (docs/protocol.md, "subscribe").
    void subscribe_result(std::string& out, bool recover, std::string_view epoch_seen, std::uint64_t offset_seen,
                          std::uint32_t history_n) const;
    /// The history reply's result; false if `since` is given and no longer in history.
    bool history_result(std::string& out, bool since, std::string_view epoch_seen, std::uint64_t offset_seen,
                        std::uint32_t limit, bool reverse) const;
    void presence_result(std::string& out) const;
    /// Opens a result object with the channel's position: {"epoch":"E","offset":TOP
    /// (the caller adds members and the closing brace).
    void append_position(std::string& out) const;
    void presence_stats(std::string& out) const;

    /// Whether every publication after `offset_seen` (in epoch `epoch_seen`) is still known.
    bool recoverable_from(std::string_view epoch_seen, std::uint64_t offset_seen) const noexcept;
    Target* target(unsigned loop) noexcept;
};

} // namespace switchboard::hub
