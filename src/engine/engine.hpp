#pragma once
// Engine: where the durable state of channels lives, as the hub's channel owners see it. The
// embedded engine is SqliteStore (one process, one database file). The seam is what a Redis
// engine for several nodes plugs into: appends whose commit is reported later, loading a
// channel's position and newest publications, and reading history after an offset.
//
// What a Redis engine changes (docs/architecture.md): offsets would be assigned by Redis (a
// Lua INCR + XADD on the channel's stream) rather than by the owner loop, so its commit
// report would carry the offset; publications from other nodes would arrive through Redis
// pub/sub into the owner loop, which fans them out as it does its own.
#include "base/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::engine {

struct StoredPublication {
    std::uint64_t offset = 0; // per channel, starts at 1, strictly increasing by 1
    std::int64_t time_ms = 0; // unix ms
    std::string data;         // raw JSON text of the payload
    std::string info;         // raw JSON of publisher info, "" if none
};

struct ChannelHistory {
    std::string epoch;                     // identifies this channel's history incarnation
    std::uint64_t top_offset = 0;          // newest offset ever appended (even if trimmed)
    std::vector<StoredPublication> recent; // newest `limit` publications, oldest first
};

struct AppendRequest {
    std::string channel;
    std::string epoch; // required when the channel is new; otherwise "" or the stored epoch
    StoredPublication pub;
    std::uint64_t ticket = 0;        // opaque to the store, handed back on commit
    std::uint32_t history_size = 0;  // keep at most this many newest rows (0 = no limit)
    std::int64_t history_ttl_ms = 0; // rows older than this may be deleted (0 = no TTL)
};


/// Why a read failed (the database could not be read: I/O error, corruption, no file
/// descriptor for a new connection). Details go to the log.
enum class StoreError : std::uint8_t { OpenFailed, ReadFailed };

/// Thread-safe. Commits are reported through a callback given to the implementation's
/// constructor, with the tickets of the appends, in append order per channel.
class Engine {
  public:
    virtual ~Engine() = default;
    /// Queues an append (offset top + 1 of its channel); false when the engine is saturated
    /// (the client gets "server busy"). Never blocks on storage.
    virtual bool try_append(AppendRequest req) = 0;
    /// The channel's epoch, top offset and newest `limit` publications; nullopt for a channel
    /// never stored. Sees every append whose commit was reported.
    virtual Result<std::optional<ChannelHistory>, StoreError> try_load(std::string_view channel,
                                                                       std::size_t limit) const = 0;
    /// Publications after `after_offset`, oldest first, at most `limit`.
    virtual Result<std::vector<StoredPublication>, StoreError>
    try_read_after(std::string_view channel, std::uint64_t after_offset, std::size_t limit) const = 0;
    /// Forgets a channel's history, epoch and top (queued behind its pending appends).
    virtual void remove_channel(std::string channel) = 0;
};

} // namespace switchboard::engine
