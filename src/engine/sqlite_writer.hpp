#pragma once
// SqliteWriter: the write side of SqliteStore. It owns the one read-write connection, creates
// the schema, and applies a batch of queued operations as one transaction: appends (checked
// against each channel's stored top and epoch), removals, then per touched channel one UPDATE
// of its row and the trimming of old rows. A cache of channel name -> id/top/epoch saves a
// lookup per append; it is dropped whenever a transaction rolls back, since it may then be
// ahead of the database.
#include "engine/sqlite_handle.hpp"
#include "engine/sqlite_store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard::engine {

/// Not thread-safe: constructed by the store, then used only by its writer thread.
class SqliteWriter {
  public:
    /// Opens or creates the database, switches it to WAL and creates the schema. Throws
    /// std::runtime_error on failure (startup).
    explicit SqliteWriter(const SqliteStoreOptions& opts);
    ~SqliteWriter();
    SqliteWriter(const SqliteWriter&) = delete;
    SqliteWriter& operator=(const SqliteWriter&) = delete;

    struct Outcome {
        bool committed = false;
        std::uint64_t rows = 0;     // publications written
        std::uint64_t rejected = 0; // appends refused as caller bugs
    };
    /// Applies `ops` in one transaction. Afterwards `written` holds the tickets of the appends
    /// committed and `refused` those not written, each in append order; when the transaction
    /// fails (committed == false) every append is in `refused`.
    Outcome apply(std::span<SqliteWriteOp> ops, std::vector<std::uint64_t>& written,
                  std::vector<std::uint64_t>& refused);

    /// Schema version in PRAGMA user_version; a newer file is refused at startup.
    static constexpr std::int64_t kSchemaVersion = 1;
    /// WAL pages after which a commit checkpoints (4 KiB pages: 32 MiB). Each checkpoint
    /// copies the newest version of every page changed since the last one, so a channel's
    /// hot page rewritten by many commits is copied once: with 1000 channels this measured
    /// 20-40% more appends/s than SQLite's default of 1000. A checkpoint on a thread of its
    /// own was tried and measured worse: it cannot recycle the WAL beside a busy writer, and
    /// commit latency p99 grew several times.
    static constexpr int kAutocheckpointPages = 8192;
    /// Size the WAL file is truncated back to after a checkpoint resets it.
    static constexpr std::int64_t kJournalSizeLimit = 64 << 20;
    /// Channels whose id/top/epoch stay cached; beyond this the cache starts over.
    static constexpr std::size_t kMaxCachedChannels = 1 << 17;
    /// TTL sweeps of one channel run at most this often.
    static constexpr std::int64_t kTtlSweepIntervalMs = 1000;
    /// Channels examined per idle sweep (one per kTtlSweepIntervalMs): expired rows of
    /// channels nobody writes to any more are deleted slowly, without stalling commits.
    static constexpr int kIdleSweepChannels = 256;

  private:
    struct Channel {
        std::int64_t id = 0; // 0: no row (never stored, or removed in this transaction)
        std::uint64_t top = 0;
        std::string epoch;
        std::uint32_t history_size = 0;
        std::int64_t history_ttl_ms = 0;
        std::uint64_t trimmed_to = 0;  // rows with offset <= trimmed_to are known deleted
        std::int64_t ttl_swept_ms = 0; // when its expired rows were last deleted
        bool touched = false;          // listed in touched_
    };
    enum class Step { Written, Refused, Failed };

    Channel* channel(const std::string& name);
    Step append(const AppendRequest& req);
    bool remove(const std::string& name);
    bool finish_channels(std::int64_t now_ms);
    bool sweep_ttl(std::int64_t id, std::int64_t cutoff_ms);
    bool sweep_idle(std::int64_t now_ms);
    void refuse(const AppendRequest& req, const Channel& c, const char* why);
    void log_failure(const char* what);
    void rollback() noexcept;

    struct Statements;
    SqliteDb db_;
    std::unique_ptr<Statements> st_; // prepared once the schema exists
    std::function<std::int64_t()> now_ms_;
    std::unordered_map<std::string, Channel> cache_;
    std::vector<Channel*> touched_; // channels appended to in the current transaction
    std::int64_t idle_cursor_ = 0;  // channel id the next idle sweep starts after
    std::int64_t idle_swept_ms_ = 0;
    // Caller bugs and storage failures are logged at most once a second each.
    std::chrono::steady_clock::time_point refuse_logged_{}, failure_logged_{};
    std::uint64_t refuse_suppressed_ = 0, failure_suppressed_ = 0;
};

} // namespace switchboard::engine
