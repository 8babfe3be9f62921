#include "engine/sqlite_reader.hpp"

#include "base/log.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>

namespace switchboard::engine {

namespace {

std::int64_t sql_limit(std::size_t limit) {
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(std::min(limit, kMax));
}

// Ends the read transaction however the read leaves: an open read transaction pins its
// snapshot, and the WAL cannot be recycled past it.
class ReadTxn {
  public:
    ReadTxn(SqliteDb& db, SqliteStmt& end) noexcept : db_(db), end_(end) {}
    ~ReadTxn() {
        if (!sqlite3_get_autocommit(db_.get())) end_.step();
        end_.reset();
        if (!sqlite3_get_autocommit(db_.get()))
            sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;

  private:
    SqliteDb& db_;
    SqliteStmt& end_;
};

} // namespace

struct SqliteReader::Statements {
    explicit Statements(SqliteDb& db)
        : begin(db, "BEGIN"), end(db, "COMMIT"),
          find_channel(db, "SELECT id, epoch, top, history_ttl_ms FROM channels WHERE name = ?1"),
          newest(db, "SELECT offset, time_ms, data, info FROM publications "
                     "WHERE channel = ?1 AND time_ms >= ?2 ORDER BY offset DESC LIMIT ?3"),
          after(db, "SELECT offset, time_ms, data, info FROM publications "
                    "WHERE channel = ?1 AND offset > ?2 AND time_ms >= ?3 "
                    "ORDER BY offset LIMIT ?4") {}
    SqliteStmt begin, end, find_channel, newest, after;
};

SqliteReader::SqliteReader(const std::string& path, int busy_timeout_ms)
    : db_(path, SQLITE_OPEN_READONLY) {
    // Readers wait out the short moments the writer holds the WAL index exclusively (WAL
    // restart, recovery after a crash) instead of failing.
    sqlite3_busy_timeout(db_.get(), busy_timeout_ms);
    st_ = std::make_unique<Statements>(db_);
}

SqliteReader::~SqliteReader() = default;

Result<std::optional<ChannelHistory>, StoreError>
SqliteReader::load(std::string_view channel, std::size_t limit, std::int64_t now_ms) {
    // One read transaction, so that top and the rows come from the same commit.
    ReadTxn txn(db_, st_->end);
    bool began = st_->begin.run();
    st_->begin.reset();
    if (!began) return Err{fail("cannot begin a read")};
    std::optional<Channel> c;
    if (!find(channel, now_ms, c)) return Err{fail("cannot read channel")};
    if (!c) return std::optional<ChannelHistory>{};
    ChannelHistory h;
    h.epoch = std::move(c->epoch);
    h.top_offset = c->top;
    if (limit > 0) {
        SqliteStmt& s = st_->newest;
        SqliteStmtScope scope(s);
        s.bind_int(1, c->id);
        s.bind_int(2, c->min_time_ms);
        s.bind_int(3, sql_limit(limit));
        if (!collect(s, h.recent)) return Err{fail("cannot read publications")};
        std::reverse(h.recent.begin(), h.recent.end());
    }
    return std::optional<ChannelHistory>{std::move(h)};
}

Result<std::vector<StoredPublication>, StoreError>
SqliteReader::read_after(std::string_view channel, std::uint64_t after_offset, std::size_t limit,
                         std::int64_t now_ms) {
    ReadTxn txn(db_, st_->end);
    bool began = st_->begin.run();
    st_->begin.reset();
    if (!began) return Err{fail("cannot begin a read")};
    std::optional<Channel> c;
    if (!find(channel, now_ms, c)) return Err{fail("cannot read channel")};
    std::vector<StoredPublication> out;
    if (c && limit > 0) {
        SqliteStmt& s = st_->after;
        SqliteStmtScope scope(s);
        s.bind_int(1, c->id);
        // Offsets are stored as signed 64-bit; none is above this.
        s.bind_int(2, static_cast<std::int64_t>(std::min<std::uint64_t>(
                          after_offset, std::numeric_limits<std::int64_t>::max())));
        s.bind_int(3, c->min_time_ms);
        s.bind_int(4, sql_limit(limit));
        if (!collect(s, out)) return Err{fail("cannot read publications")};
    }
    return out;
}

bool SqliteReader::find(std::string_view name, std::int64_t now_ms, std::optional<Channel>& out) {
    SqliteStmt& s = st_->find_channel;
    SqliteStmtScope scope(s);
    s.bind_text(1, name);
    int rc = s.step();
    if (rc == SQLITE_DONE) return true;
    if (rc != SQLITE_ROW) return false;
    Channel c;
    c.id = s.column_int(0);
    c.epoch = std::string(s.column_text(1));
    c.top = static_cast<std::uint64_t>(s.column_int(2));
    std::int64_t ttl = s.column_int(3);
    c.min_time_ms = ttl > 0 ? now_ms - ttl : std::numeric_limits<std::int64_t>::min();
    out = std::move(c);
    return true;
}

bool SqliteReader::collect(SqliteStmt& s, std::vector<StoredPublication>& out) {
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        StoredPublication& p = out.emplace_back();
        p.offset = static_cast<std::uint64_t>(s.column_int(0));
        p.time_ms = s.column_int(1);
        p.data = std::string(s.column_text(2));
        p.info = std::string(s.column_text(3));
    }
    return rc == SQLITE_DONE;
}

StoreError SqliteReader::fail(const char* what) {
    auto now = std::chrono::steady_clock::now();
    if (failure_logged_ == std::chrono::steady_clock::time_point{} ||
        now - failure_logged_ >= std::chrono::seconds(1)) {
        failure_logged_ = now;
        log::error(std::string("sqlite store: ") + what,
                   {{"path", db_.path()}, {"error", db_.errmsg()}});
    }
    return StoreError::ReadFailed;
}

} // namespace switchboard::engine
