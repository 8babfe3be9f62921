#include "engine/sqlite_store.hpp"

#include "base/log.hpp"
#include "engine/sqlite_reader.hpp"
#include "engine/sqlite_writer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace switchboard::engine {

namespace {

std::int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One SqliteStore per database file: a second writer would work from a stale cache of channel
// tops and fail its transactions, or interleave two servers' histories. SQLite's own locks
// cannot say "in use" (WAL mode lets many connections in), so the store holds a flock() on a
// file beside the database for its lifetime. flock, not fcntl: closing any descriptor of a
// file drops the process's fcntl locks on it, SQLite's included.
int lock_database(const std::string& path) {
    std::string lock_path = path + "-lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + lock_path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            throw std::runtime_error("database " + path + " is already open in a SqliteStore (" +
                                     lock_path + " is locked by this or another process)");
        throw std::runtime_error("cannot lock " + lock_path + ": " + std::strerror(err));
    }
    return fd;
}

} // namespace

SqliteStore::SqliteStore(SqliteStoreOptions opts, CommitCallback on_commit)
    : opts_(std::move(opts)), on_commit_(std::move(on_commit)) {
    if (opts_.path.empty()) throw std::runtime_error("sqlite store: no database path given");
    if (opts_.max_batch == 0 || opts_.max_queue == 0)
        throw std::runtime_error("sqlite store: max_batch and max_queue must be at least 1");
    if (!opts_.now_ms) opts_.now_ms = system_now_ms;

    std::filesystem::path dir = std::filesystem::path(opts_.path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec)
        throw std::runtime_error("cannot create directory " + dir.string() +
                                 " for database: " + ec.message());

    lock_fd_ = lock_database(opts_.path);
    try {
        writer_ = std::make_unique<SqliteWriter>(opts_);
    } catch (...) {
        ::close(lock_fd_);
        throw;
    }
    pending_.reserve(std::min<std::size_t>(opts_.max_queue, 4096));
    thread_ = std::thread([this] { run_writer(); });
}

SqliteStore::~SqliteStore() {
    {
        std::lock_guard lk(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    readers_.clear();
    // The last connection to close checkpoints the WAL into the database and deletes it.
    writer_.reset();
    ::close(lock_fd_);
}

bool SqliteStore::try_append(AppendRequest req) {
    bool was_empty;
    {
        std::lock_guard lk(mutex_);
        if (pending_.size() >= opts_.max_queue) {
            ++queue_full_;
            return false;
        }
        was_empty = pending_.empty();
        pending_.push_back(SqliteWriteOp{std::move(req), false});
    }
    // The writer sleeps only on an empty queue, so only the append that ends that needs to
    // wake it: the others skip the futex call.
    if (was_empty) wake_.notify_one();
    return true;
}

void SqliteStore::remove_channel(std::string channel) {
    bool was_empty;
    {
        std::lock_guard lk(mutex_);
        was_empty = pending_.empty();
        SqliteWriteOp op;
        op.req.channel = std::move(channel);
        op.remove = true;
        pending_.push_back(std::move(op));
    }
    if (was_empty) wake_.notify_one();
}

void SqliteStore::run_writer() {
    // Double buffering: the writer swaps the producers' vector for its empty one, so
    // producers only ever wait for a swap, never for SQLite.
    std::vector<SqliteWriteOp> batch;
    std::vector<std::uint64_t> written, refused;
    std::unique_lock lk(mutex_);
    batch.reserve(pending_.capacity());
    for (;;) {
        wake_.wait(lk, [this] { return !pending_.empty() || stopping_; });
        if (pending_.empty()) return; // stopping, and everything queued has been reported
        batch.swap(pending_);
        in_flight_ = batch.size();
        lk.unlock();

        std::span<SqliteWriteOp> all(batch);
        for (std::size_t i = 0; i < all.size(); i += opts_.max_batch) {
            auto chunk = all.subspan(i, std::min(opts_.max_batch, all.size() - i));
            SqliteWriter::Outcome out = writer_->apply(chunk, written, refused);
            if (out.committed) {
                commits_.fetch_add(1, std::memory_order_relaxed);
                rows_.fetch_add(out.rows, std::memory_order_relaxed);
                rejected_appends_.fetch_add(out.rejected, std::memory_order_relaxed);
                if (chunk.size() > max_batch_seen_.load(std::memory_order_relaxed))
                    max_batch_seen_.store(chunk.size(), std::memory_order_relaxed);
            } else {
                failed_commits_.fetch_add(1, std::memory_order_relaxed);
            }
            {
                // Before reporting, like the counters: a callback that reads stats() sees
                // its own commit counted and no longer queued.
                std::lock_guard g(mutex_);
                in_flight_ -= chunk.size();
            }
            if (!written.empty()) report(written, true);
            if (!refused.empty()) report(refused, false);
        }
        // Free the requests' strings before taking the lock, not under it.
        batch.clear();
        lk.lock();
    }
}

void SqliteStore::report(std::span<const std::uint64_t> tickets, bool ok) noexcept {
    if (!on_commit_) return;
    // A throwing callback must not take the writer thread (and every later commit) down.
    try {
        on_commit_(tickets, ok);
    } catch (const std::exception& e) {
        log::error("sqlite store: on_commit threw", {{"error", e.what()}});
    } catch (...) {
        log::error("sqlite store: on_commit threw", {{"error", "unknown exception"}});
    }
}

Result<SqliteReader*, StoreError> SqliteStore::reader() const {
    std::lock_guard lk(readers_mutex_);
    std::unique_ptr<SqliteReader>& slot = readers_[std::this_thread::get_id()];
    if (!slot) {
        try {
            slot = std::make_unique<SqliteReader>(opts_.path, opts_.busy_timeout_ms);
        } catch (const std::exception& e) {
            readers_.erase(std::this_thread::get_id());
            log::error("sqlite store: cannot open a read connection", {{"error", e.what()}});
            return Err{StoreError::OpenFailed};
        }
    }
    // Only this thread uses its reader, so it can be used outside the lock.
    return slot.get();
}

Result<std::optional<ChannelHistory>, StoreError> SqliteStore::try_load(std::string_view channel,
                                                                        std::size_t limit) const {
    auto r = reader();
    if (!r) return Err{r.error()};
    return (*r)->load(channel, limit, opts_.now_ms());
}

Result<std::vector<StoredPublication>, StoreError>
SqliteStore::try_read_after(std::string_view channel, std::uint64_t after_offset,
                            std::size_t limit) const {
    auto r = reader();
    if (!r) return Err{r.error()};
    return (*r)->read_after(channel, after_offset, limit, opts_.now_ms());
}

namespace {
[[noreturn]] void throw_read_error(StoreError e, std::string_view channel) {
    throw std::runtime_error(std::string(e == StoreError::OpenFailed
                                             ? "cannot open a read connection to the database"
                                             : "cannot read the database") +
                             " (channel " + std::string(channel) + ")");
}
} // namespace

std::optional<ChannelHistory> SqliteStore::load(std::string_view channel, std::size_t limit) const {
    auto r = try_load(channel, limit);
    if (!r) throw_read_error(r.error(), channel);
    return std::move(r).value();
}

std::vector<StoredPublication> SqliteStore::read_after(std::string_view channel,
                                                       std::uint64_t after_offset,
                                                       std::size_t limit) const {
    auto r = try_read_after(channel, after_offset, limit);
    if (!r) throw_read_error(r.error(), channel);
    return std::move(r).value();
}

SqliteStore::Stats SqliteStore::stats() const {
    Stats s;
    s.commits = commits_.load(std::memory_order_relaxed);
    s.rows = rows_.load(std::memory_order_relaxed);
    s.max_batch_seen = max_batch_seen_.load(std::memory_order_relaxed);
    s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    s.rejected_appends = rejected_appends_.load(std::memory_order_relaxed);
    std::lock_guard lk(mutex_);
    s.queue_depth = pending_.size() + in_flight_;
    s.queue_full = queue_full_;
    return s;
}

} // namespace switchboard::engine
