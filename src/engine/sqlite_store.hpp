#pragma once
// SqliteStore: the durable history of channels for the embedded engine. The hub keeps each
// channel's recent history in memory; this store is its write-behind durable copy and the
// source of state after a restart. A publish is acknowledged to its client only once its row
// is committed, so throughput comes from group commit: producers only queue appends (a mutex
// and a move), and one writer thread takes everything queued since its last commit and writes
// it in one transaction (WAL mode). Each commit is reported through `on_commit` with the tickets
// of its appends.
//
// Durability: on_commit(ok = true) runs only after SQLite's COMMIT returned, i.e. the rows are
// in the WAL file (Sync::Normal: in the page cache, which a killed process cannot lose;
// Sync::Full: also fsynced, which survives power loss).
#include "base/result.hpp"
#include "engine/engine.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace switchboard::engine {

/// PRAGMA synchronous for WAL. Full fsyncs the WAL on every commit (power-loss safe); Normal
/// survives a process crash (kill -9) but not power loss or an OS crash.
enum class Sync : std::uint8_t { Full, Normal };

struct SqliteStoreOptions {
    std::string path; // database file; its directory is created if missing
    Sync sync = Sync::Full;
    std::size_t max_queue = 1 << 20; // appends waiting for the writer; try_append fails beyond
    std::size_t max_batch = 65536;   // operations per transaction at most
    /// How long a statement waits for a lock held by another connection (a backup tool, the
    /// sqlite3 shell) before it fails; a failed append transaction is reported ok = false.
    int busy_timeout_ms = 5000;
    /// Unix time in ms, for TTL trimming and for hiding expired rows from reads. Called on the
    /// writer thread and on reading threads, so it must be thread-safe. Default: system clock.
    std::function<std::int64_t()> now_ms;
};


/// One queued write: an append, or (remove == true) the removal of `req.channel`. Internal to
/// the store and its writer.
struct SqliteWriteOp {
    AppendRequest req;
    bool remove = false;
};

class SqliteWriter;
class SqliteReader;

/// One writer thread with group commit; read methods may be called from any thread (each
/// calling thread gets its own read connection, kept until the store is destroyed; WAL lets
/// reads run beside the writer).
///
/// Appends are validated against the stored channel: the first append of a channel must have
/// offset 1 and a non-empty epoch; later ones must have offset top + 1 and an epoch that is
/// empty or equal to the stored one. An append that breaks this is a bug in the caller: it is
/// logged (rate-limited), not written, and reported with ok = false in its own on_commit call,
/// while the rest of its transaction commits. Failing the whole transaction instead would make
/// every other channel in it diverge from the hub's memory and then reject their following
/// appends too. A rejected offset is never filled in later, so after any ok = false the caller
/// must re-read the channel (load() gives the durable top) before appending to it again.
///
/// Trimming happens in the transaction that appends: per channel and per transaction, one
/// DELETE of the rows beyond history_size, and at most once a second a sweep of the rows older
/// than history_ttl_ms. Once a second a transaction also sweeps the next few hundred channels
/// in id order, so channels nobody writes to any more lose their expired rows too (while
/// anything at all is being written). Reads never return rows past their channel's TTL.
///
/// Cost: rows are clustered by channel, so a commit rewrites at least one 4 KiB page per
/// channel it touches. Many channels with few rows each per commit cost far more per append
/// than one busy channel (bench/durable measures both).
///
/// The WAL is checkpointed by the writer after a commit once it holds a few thousand pages
/// and is truncated back to a size limit, so it does not grow without bound.
class SqliteStore final : public Engine {
  public:
    using CommitCallback = std::function<void(std::span<const std::uint64_t> tickets, bool ok)>;

    /// Opens/creates the database (WAL mode, schema), starts the writer thread. Throws
    /// std::runtime_error with a clear message on failure (startup), including when another
    /// process has the same database open through a SqliteStore (<path>-lock is held).
    /// `on_commit` runs on the writer thread after each transaction with the tickets of the
    /// appends in it, in append order: first those committed (ok = true), then, in a second
    /// call, those rejected as caller bugs (ok = false). When the transaction itself failed
    /// (disk full, I/O error, a lock held too long by another process) one call reports all of
    /// its tickets with ok = false: those appends are NOT durable and must not be acknowledged
    /// (after a failed fsync they may even turn up later, which is one more reason to re-read
    /// the channel before appending again). Exceptions thrown by on_commit are logged and
    /// swallowed.
    SqliteStore(SqliteStoreOptions opts, CommitCallback on_commit);
    /// Drains the queue (commits what is queued and reports it), then stops the thread. No
    /// other method may run concurrently with the destructor.
    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    /// Queues an append; false when max_queue appends are already waiting (caller reports
    /// "server busy"). Thread-safe and cheap: a mutex and a move, no SQLite work. Appends to
    /// one channel are written in the order of their try_append calls, so the caller must
    /// order the calls of one channel (e.g. assign the offset and call under one lock).
    bool try_append(AppendRequest req) override;

    /// Newest `limit` publications of a channel plus its epoch and top offset; nullopt if the
    /// channel was never stored (or was removed). Sees every append whose commit callback has
    /// run. Throws std::runtime_error if the database cannot be read; try_load() reports that
    /// as a StoreError instead. Thread-safe.
    std::optional<ChannelHistory> load(std::string_view channel, std::size_t limit) const;
    Result<std::optional<ChannelHistory>, StoreError> try_load(std::string_view channel,
                                                               std::size_t limit) const override;

    /// Publications with offset > after_offset, oldest first, at most `limit` (for history
    /// pages beyond memory); empty if the channel is unknown. Throws like load().
    std::vector<StoredPublication> read_after(std::string_view channel, std::uint64_t after_offset,
                                              std::size_t limit) const;
    Result<std::vector<StoredPublication>, StoreError>
    try_read_after(std::string_view channel, std::uint64_t after_offset, std::size_t limit) const override;

    /// Removes a channel's history entirely, its epoch and top included (server API "history
    /// remove"); queued behind pending appends and never refused. Appends queued after it
    /// start a new incarnation (offset 1, new epoch). Thread-safe.
    void remove_channel(std::string channel) override;

    struct Stats {
        std::uint64_t commits = 0;          // transactions committed
        std::uint64_t rows = 0;             // publications committed
        std::uint64_t queue_depth = 0;      // operations queued or being written, not committed
        std::uint64_t max_batch_seen = 0;   // most operations in one transaction
        std::uint64_t failed_commits = 0;   // transactions that failed (their appends not durable)
        std::uint64_t rejected_appends = 0; // appends refused as caller bugs (offset, epoch)
        std::uint64_t queue_full = 0;       // try_append calls refused because the queue was full
    };
    Stats stats() const;

  private:
    void run_writer();
    void report(std::span<const std::uint64_t> tickets, bool ok) noexcept;
    Result<SqliteReader*, StoreError> reader() const;

    SqliteStoreOptions opts_;
    CommitCallback on_commit_;
    int lock_fd_ = -1;
    std::unique_ptr<SqliteWriter> writer_;

    mutable std::mutex mutex_; // guards pending_, stopping_, in_flight_, queue_full_
    std::condition_variable wake_;
    std::vector<SqliteWriteOp> pending_;
    bool stopping_ = false;
    std::size_t in_flight_ = 0; // taken by the writer, not yet committed
    std::uint64_t queue_full_ = 0;

    // Written by the writer thread only, read by stats() from any thread.
    std::atomic<std::uint64_t> commits_{0}, rows_{0}, max_batch_seen_{0}, failed_commits_{0},
        rejected_appends_{0};

    mutable std::mutex readers_mutex_;
    mutable std::unordered_map<std::thread::id, std::unique_ptr<SqliteReader>> readers_;

    std::thread thread_; // last: started once everything above exists
};

} // namespace switchboard::engine
