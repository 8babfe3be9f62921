#pragma once
// RAII owners for a SQLite connection and a prepared statement: the one adapter through which
// the engine reaches SQLite, so sqlite3.h stays out of every other header. Connections are
// opened with SQLITE_OPEN_NOMUTEX (SQLite's multi-thread mode): each one is used by a single
// thread at a time, so SQLite's per-call connection mutex would be pure overhead.
#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace switchboard::engine {

/// Owns one connection. Not thread-safe: one thread at a time.
class SqliteDb {
  public:
    /// Opens `path` with sqlite3_open_v2 `flags` (NOMUTEX is added). Throws std::runtime_error
    /// naming the file and SQLite's reason (startup).
    SqliteDb(const std::string& path, int flags);
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    sqlite3* get() const noexcept { return db_; }
    const std::string& path() const noexcept { return path_; }
    /// Runs statements that return no rows (pragmas, schema). Throws with SQLite's message.
    void exec(const char* sql);
    /// Runs one statement and returns its first column of the first row as text ("" if none).
    /// Throws on failure. For pragmas that report what they did (journal_mode).
    std::string query_text(const char* sql);
    std::int64_t query_int(const char* sql);
    std::string errmsg() const;

  private:
    std::string path_;
    sqlite3* db_ = nullptr;
};

/// Owns one prepared statement of a SqliteDb, which must outlive it. Text bound with
/// bind_text() is not copied (SQLITE_STATIC): it must stay alive until reset().
class SqliteStmt {
  public:
    SqliteStmt(SqliteDb& db, const char* sql); // throws std::runtime_error (startup)
    ~SqliteStmt();
    SqliteStmt(const SqliteStmt&) = delete;
    SqliteStmt& operator=(const SqliteStmt&) = delete;

    sqlite3_stmt* get() const noexcept { return stmt_; }
    void bind_int(int index, std::int64_t v) noexcept;
    void bind_text(int index, std::string_view v) noexcept;
    /// sqlite3_step's result code (SQLITE_ROW, SQLITE_DONE or an error).
    int step() noexcept;
    /// Steps a statement that returns no rows; true when it ran to completion.
    bool run() noexcept;
    /// Must follow every use: a statement left un-reset keeps its read snapshot open, which
    /// stops checkpoints from ever recycling the WAL.
    void reset() noexcept;
    std::int64_t column_int(int index) const noexcept;
    std::string_view column_text(int index) const noexcept;

  private:
    sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when leaving the scope that used it (see SqliteStmt::reset()).
class SqliteStmtScope {
  public:
    explicit SqliteStmtScope(SqliteStmt& s) noexcept : s_(s) {}
    ~SqliteStmtScope() { s_.reset(); }
    SqliteStmtScope(const SqliteStmtScope&) = delete;
    SqliteStmtScope& operator=(const SqliteStmtScope&) = delete;

  private:
    SqliteStmt& s_;
};

} // namespace switchboard::engine
