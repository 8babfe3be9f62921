#include "engine/sqlite_handle.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace switchboard::engine {

SqliteDb::SqliteDb(const std::string& path, int flags) : path_(path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        // sqlite3_open_v2 hands back a handle even on failure, holding the message.
        std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error("cannot open database " + path + ": " + why);
    }
    // Longer error codes (SQLITE_IOERR_FSYNC rather than SQLITE_IOERR) make logs useful.
    sqlite3_extended_result_codes(db_, 1);
}

SqliteDb::~SqliteDb() {
    // Statements are owned by SqliteStmt objects that are gone by now; close_v2 would defer
    // the close if one were not, rather than leak the file.
    sqlite3_close_v2(db_);
}

std::string SqliteDb::errmsg() const { return db_ ? sqlite3_errmsg(db_) : "no connection"; }

void SqliteDb::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string why = err ? err : errmsg();
        sqlite3_free(err);
        throw std::runtime_error("database " + path_ + ": " + why + " (in: " + sql + ")");
    }
}

std::string SqliteDb::query_text(const char* sql) {
    SqliteStmt s(*this, sql);
    int rc = s.step();
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW)
        throw std::runtime_error("database " + path_ + ": " + errmsg() + " (in: " + sql + ")");
    return std::string(s.column_text(0));
}

std::int64_t SqliteDb::query_int(const char* sql) {
    SqliteStmt s(*this, sql);
    int rc = s.step();
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW)
        throw std::runtime_error("database " + path_ + ": " + errmsg() + " (in: " + sql + ")");
    return s.column_int(0);
}

SqliteStmt::SqliteStmt(SqliteDb& db, const char* sql) {
    // PREPARE_PERSISTENT: these statements live as long as the connection; SQLite keeps them
    // out of its lookaside memory meant for short-lived ones.
    if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
        SQLITE_OK)
        throw std::runtime_error("database " + db.path() + ": cannot prepare \"" + sql +
                                 "\": " + db.errmsg());
}

SqliteStmt::~SqliteStmt() { sqlite3_finalize(stmt_); }

void SqliteStmt::bind_int(int index, std::int64_t v) noexcept {
    sqlite3_bind_int64(stmt_, index, v);
}

void SqliteStmt::bind_text(int index, std::string_view v) noexcept {
    // A null destructor is SQLITE_STATIC (the macro is an old-style cast). data() of an empty
    // view may be null, which SQLite would store as NULL rather than "".
    sqlite3_bind_text64(stmt_, index, v.empty() ? "" : v.data(), v.size(), nullptr, SQLITE_UTF8);
}

int SqliteStmt::step() noexcept { return sqlite3_step(stmt_); }

bool SqliteStmt::run() noexcept { return sqlite3_step(stmt_) == SQLITE_DONE; }

void SqliteStmt::reset() noexcept { sqlite3_reset(stmt_); }

std::int64_t SqliteStmt::column_int(int index) const noexcept {
    return sqlite3_column_int64(stmt_, index);
}

std::string_view SqliteStmt::column_text(int index) const noexcept {
    const unsigned char* p = sqlite3_column_text(stmt_, index);
    if (!p) return {};
    // column_bytes after column_text: the documented order that yields the text's length.
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index));
    return {reinterpret_cast<const char*>(p), n};
}

} // namespace switchboard::engine
