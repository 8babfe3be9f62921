#pragma once
// SqliteReader: one read-only connection of SqliteStore with its prepared queries. The store
// keeps one per calling thread; in WAL mode each read transaction sees the database as of its
// start, beside the writer and without blocking it.
#include "base/result.hpp"
#include "engine/sqlite_handle.hpp"
#include "engine/sqlite_store.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::engine {

/// Not thread-safe: used by one thread at a time (the store gives each thread its own).
class SqliteReader {
  public:
    /// Opens `path`, which the writer has already created. Throws std::runtime_error.
    SqliteReader(const std::string& path, int busy_timeout_ms);
    ~SqliteReader();
    SqliteReader(const SqliteReader&) = delete;
    SqliteReader& operator=(const SqliteReader&) = delete;

    /// See SqliteStore::load(). Rows older than the channel's TTL at `now_ms` are left out.
    Result<std::optional<ChannelHistory>, StoreError> load(std::string_view channel,
                                                           std::size_t limit, std::int64_t now_ms);
    /// See SqliteStore::read_after().
    Result<std::vector<StoredPublication>, StoreError> read_after(std::string_view channel,
                                                                  std::uint64_t after_offset,
                                                                  std::size_t limit,
                                                                  std::int64_t now_ms);

  private:
    struct Channel {
        std::int64_t id = 0;
        std::string epoch;
        std::uint64_t top = 0;
        std::int64_t min_time_ms = 0; // rows older than this are expired
    };
    /// Reads the channel row inside the open transaction; false on a database error.
    bool find(std::string_view name, std::int64_t now_ms, std::optional<Channel>& out);
    static bool collect(SqliteStmt& s, std::vector<StoredPublication>& out);
    StoreError fail(const char* what);

    struct Statements;
    SqliteDb db_;
    std::unique_ptr<Statements> st_;
    std::chrono::steady_clock::time_point failure_logged_{};
};

} // namespace switchboard::engine
