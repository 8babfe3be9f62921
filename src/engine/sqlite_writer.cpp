#include "engine/sqlite_writer.hpp"

#include "base/log.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace switchboard::engine {

namespace {

// Publications are clustered by (channel, offset): loading a channel's newest rows reads a few
// adjacent pages, and trimming deletes a contiguous range. WITHOUT ROWID stores the row in the
// primary-key b-tree itself instead of in a rowid table plus an index.
// top is kept in the channel row because trimming may delete every publication.
constexpr const char* kSchema = R"sql(
CREATE TABLE channels(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    epoch TEXT NOT NULL,
    top INTEGER NOT NULL,
    history_size INTEGER NOT NULL DEFAULT 0,
    history_ttl_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE publications(
    channel INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    data TEXT NOT NULL,
    info TEXT NOT NULL,
    PRIMARY KEY (channel, offset)
) WITHOUT ROWID;
)sql";

bool time_to_log(std::chrono::steady_clock::time_point& last) {
    auto now = std::chrono::steady_clock::now();
    if (last != std::chrono::steady_clock::time_point{} && now - last < std::chrono::seconds(1))
        return false;
    last = now;
    return true;
}

} // namespace

struct SqliteWriter::Statements {
    explicit Statements(SqliteDb& db)
        : begin(db, "BEGIN IMMEDIATE"), commit(db, "COMMIT"),
          find_channel(db, "SELECT id, epoch, top, history_size, history_ttl_ms FROM channels "
                           "WHERE name = ?1"),
          insert_channel(db, "INSERT INTO channels (name, epoch, top, history_size, "
                             "history_ttl_ms) VALUES (?1, ?2, 0, ?3, ?4)"),
          update_channel(db, "UPDATE channels SET top = ?2, history_size = ?3, "
                             "history_ttl_ms = ?4 WHERE id = ?1"),
          delete_channel(db, "DELETE FROM channels WHERE id = ?1"),
          insert_pub(db, "INSERT INTO publications (channel, offset, time_ms, data, info) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)"),
          delete_pubs_upto(db, "DELETE FROM publications WHERE channel = ?1 AND offset <= ?2"),
          delete_all_pubs(db, "DELETE FROM publications WHERE channel = ?1"),
          oldest_pubs(db, "SELECT offset, time_ms FROM publications WHERE channel = ?1 "
                          "ORDER BY offset"),
          idle_channels(db, "SELECT id, history_ttl_ms FROM channels WHERE id > ?1 "
                            "ORDER BY id LIMIT ?2") {}
    SqliteStmt begin, commit;
    SqliteStmt find_channel, insert_channel, update_channel, delete_channel;
    SqliteStmt insert_pub, delete_pubs_upto, delete_all_pubs, oldest_pubs;
    SqliteStmt idle_channels;
};

SqliteWriter::SqliteWriter(const SqliteStoreOptions& opts)
    : db_(opts.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE), now_ms_(opts.now_ms) {
    // Another process holding the file (a backup tool) makes us wait rather than fail.
    sqlite3_busy_timeout(db_.get(), opts.busy_timeout_ms);
    std::string mode = db_.query_text("PRAGMA journal_mode = WAL");
    if (mode != "wal")
        throw std::runtime_error("database " + opts.path +
                                 ": cannot use WAL mode (journal_mode is " + mode + ")");
    db_.exec(opts.sync == Sync::Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    db_.exec(("PRAGMA wal_autocheckpoint = " + std::to_string(kAutocheckpointPages)).c_str());
    db_.exec(("PRAGMA journal_size_limit = " + std::to_string(kJournalSizeLimit)).c_str());
    // 32 MiB of page cache: one hot leaf page per active channel stays in memory.
    db_.exec("PRAGMA cache_size = -32768");

    std::int64_t version = db_.query_int("PRAGMA user_version");
    if (version == 0) {
        // A new file (or one this store never finished creating): create everything in one
        // transaction so that a crash leaves either no schema or all of it.
        db_.exec("BEGIN IMMEDIATE");
        try {
            if (db_.query_int("SELECT count(*) FROM sqlite_schema") != 0)
                throw std::runtime_error("database " + opts.path +
                                         " has tables but no switchboard schema version");
            db_.exec(kSchema);
            db_.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
            db_.exec("COMMIT");
        } catch (...) {
            rollback();
            throw;
        }
    } else if (version != kSchemaVersion) {
        throw std::runtime_error("database " + opts.path + " has schema version " +
                                 std::to_string(version) + "; this build reads version " +
                                 std::to_string(kSchemaVersion));
    }
    st_ = std::make_unique<Statements>(db_);
}

SqliteWriter::~SqliteWriter() = default;

SqliteWriter::Outcome SqliteWriter::apply(std::span<SqliteWriteOp> ops,
                                          std::vector<std::uint64_t>& written,
                                          std::vector<std::uint64_t>& refused) {
    written.clear();
    refused.clear();
    Outcome out;
    // A previous failure may have left a transaction open if its ROLLBACK failed too.
    if (!sqlite3_get_autocommit(db_.get())) rollback();
    bool ok = st_->begin.run();
    st_->begin.reset();
    for (std::size_t i = 0; ok && i < ops.size(); ++i) {
        SqliteWriteOp& op = ops[i];
        if (op.remove) {
            ok = remove(op.req.channel);
            continue;
        }
        switch (append(op.req)) {
        case Step::Written:
            written.push_back(op.req.ticket);
            ++out.rows;
            break;
        case Step::Refused:
            refused.push_back(op.req.ticket);
            ++out.rejected;
            break;
        case Step::Failed:
            ok = false;
            break;
        }
    }
    if (ok) ok = finish_channels(now_ms_());
    if (ok) {
        ok = st_->commit.run();
        st_->commit.reset();
    }
    if (ok) {
        out.committed = true;
        if (cache_.size() > kMaxCachedChannels) cache_.clear();
        return out;
    }
    log_failure("transaction failed; its appends are not durable");
    rollback();
    // The cache may hold tops and ids the rollback took back.
    cache_.clear();
    touched_.clear();
    written.clear();
    refused.clear();
    for (const SqliteWriteOp& op : ops)
        if (!op.remove) refused.push_back(op.req.ticket);
    return Outcome{false, 0, 0};
}

SqliteWriter::Channel* SqliteWriter::channel(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return &it->second;
    SqliteStmt& s = st_->find_channel;
    SqliteStmtScope scope(s);
    s.bind_text(1, name);
    Channel c;
    int rc = s.step();
    if (rc == SQLITE_ROW) {
        c.id = s.column_int(0);
        c.epoch = std::string(s.column_text(1));
        c.top = static_cast<std::uint64_t>(s.column_int(2));
        c.history_size = static_cast<std::uint32_t>(s.column_int(3));
        c.history_ttl_ms = s.column_int(4);
    } else if (rc != SQLITE_DONE) {
        return nullptr;
    }
    return &cache_.emplace(name, std::move(c)).first->second;
}

SqliteWriter::Step SqliteWriter::append(const AppendRequest& req) {
    Channel* c = channel(req.channel);
    if (!c) return Step::Failed;
    if (c->id == 0) {
        if (req.pub.offset != 1) {
            refuse(req, *c, "first append of a channel must have offset 1");
            return Step::Refused;
        }
        if (req.epoch.empty()) {
            refuse(req, *c, "first append of a channel must carry its epoch");
            return Step::Refused;
        }
        SqliteStmt& s = st_->insert_channel;
        SqliteStmtScope scope(s);
        s.bind_text(1, req.channel);
        s.bind_text(2, req.epoch);
        s.bind_int(3, req.history_size);
        s.bind_int(4, req.history_ttl_ms);
        if (!s.run()) return Step::Failed;
        c->id = sqlite3_last_insert_rowid(db_.get());
        c->epoch = req.epoch;
    } else if (req.pub.offset != c->top + 1) {
        refuse(req, *c, "offset does not follow the channel's top");
        return Step::Refused;
    } else if (!req.epoch.empty() && req.epoch != c->epoch) {
        refuse(req, *c, "epoch differs from the channel's stored epoch");
        return Step::Refused;
    }
    SqliteStmt& s = st_->insert_pub;
    SqliteStmtScope scope(s);
    s.bind_int(1, c->id);
    s.bind_int(2, static_cast<std::int64_t>(req.pub.offset));
    s.bind_int(3, req.pub.time_ms);
    s.bind_text(4, req.pub.data);
    s.bind_text(5, req.pub.info);
    if (!s.run()) return Step::Failed;
    c->top = req.pub.offset;
    c->history_size = req.history_size;
    c->history_ttl_ms = req.history_ttl_ms;
    if (!c->touched) {
        c->touched = true;
        touched_.push_back(c);
    }
    return Step::Written;
}

bool SqliteWriter::remove(const std::string& name) {
    Channel* c = channel(name);
    if (!c) return false;
    if (c->id != 0) {
        {
            SqliteStmtScope scope(st_->delete_all_pubs);
            st_->delete_all_pubs.bind_int(1, c->id);
            if (!st_->delete_all_pubs.run()) return false;
        }
        SqliteStmtScope scope(st_->delete_channel);
        st_->delete_channel.bind_int(1, c->id);
        if (!st_->delete_channel.run()) return false;
    }
    // Keep the entry (touched_ may point at it) but forget the incarnation: the next append
    // must start over at offset 1 with a new epoch.
    bool touched = c->touched;
    *c = Channel{};
    c->touched = touched;
    return true;
}

bool SqliteWriter::finish_channels(std::int64_t now_ms) {
    bool ok = true;
    for (Channel* c : touched_) {
        c->touched = false;
        if (!ok || c->id == 0) continue;
        {
            SqliteStmt& s = st_->update_channel;
            SqliteStmtScope scope(s);
            s.bind_int(1, c->id);
            s.bind_int(2, static_cast<std::int64_t>(c->top));
            s.bind_int(3, c->history_size);
            s.bind_int(4, c->history_ttl_ms);
            ok = s.run();
        }
        if (ok && c->history_size != 0 && c->top > c->history_size &&
            c->top - c->history_size > c->trimmed_to) {
            std::uint64_t cut = c->top - c->history_size;
            SqliteStmt& s = st_->delete_pubs_upto;
            SqliteStmtScope scope(s);
            s.bind_int(1, c->id);
            s.bind_int(2, static_cast<std::int64_t>(cut));
            ok = s.run();
            c->trimmed_to = cut;
        }
        if (ok && c->history_ttl_ms > 0 && now_ms - c->ttl_swept_ms >= kTtlSweepIntervalMs) {
            ok = sweep_ttl(c->id, now_ms - c->history_ttl_ms);
            c->ttl_swept_ms = now_ms;
        }
    }
    touched_.clear();
    if (ok && now_ms - idle_swept_ms_ >= kTtlSweepIntervalMs) {
        ok = sweep_idle(now_ms);
        idle_swept_ms_ = now_ms;
    }
    return ok;
}

bool SqliteWriter::sweep_ttl(std::int64_t id, std::int64_t cutoff_ms) {
    // Rows are appended in time order (give or take clock steps), so the expired ones are a
    // prefix by offset: walk it from the oldest and stop at the first row still alive, so the
    // cost is the number of rows deleted, not the size of the channel.
    std::int64_t last_expired = 0;
    {
        SqliteStmt& s = st_->oldest_pubs;
        SqliteStmtScope scope(s);
        s.bind_int(1, id);
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) {
            if (s.column_int(1) >= cutoff_ms) break;
            last_expired = s.column_int(0);
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return false;
    }
    if (last_expired == 0) return true;
    SqliteStmt& s = st_->delete_pubs_upto;
    SqliteStmtScope scope(s);
    s.bind_int(1, id);
    s.bind_int(2, last_expired);
    return s.run();
}

bool SqliteWriter::sweep_idle(std::int64_t now_ms) {
    struct Due {
        std::int64_t id, ttl_ms;
    };
    std::vector<Due> due;
    int seen = 0;
    {
        SqliteStmt& s = st_->idle_channels;
        SqliteStmtScope scope(s);
        s.bind_int(1, idle_cursor_);
        s.bind_int(2, kIdleSweepChannels);
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) {
            ++seen;
            idle_cursor_ = s.column_int(0);
            if (std::int64_t ttl = s.column_int(1); ttl > 0) due.push_back({idle_cursor_, ttl});
        }
        if (rc != SQLITE_DONE) return false;
    }
    if (seen < kIdleSweepChannels) idle_cursor_ = 0; // reached the end: start over next time
    for (const Due& d : due)
        if (!sweep_ttl(d.id, now_ms - d.ttl_ms)) return false;
    return true;
}

void SqliteWriter::refuse(const AppendRequest& req, const Channel& c, const char* why) {
    if (!time_to_log(refuse_logged_)) {
        ++refuse_suppressed_;
        return;
    }
    log::warn("sqlite store: append refused (caller bug)",
              {{"reason", why},
               {"channel", req.channel},
               {"offset", std::to_string(req.pub.offset)},
               {"stored_top", std::to_string(c.top)},
               {"epoch", req.epoch},
               {"stored_epoch", c.epoch},
               {"suppressed", std::to_string(refuse_suppressed_)}});
    refuse_suppressed_ = 0;
}

void SqliteWriter::log_failure(const char* what) {
    if (!time_to_log(failure_logged_)) {
        ++failure_suppressed_;
        return;
    }
    log::error("sqlite store: " + std::string(what),
               {{"path", db_.path()},
                {"error", db_.errmsg()},
                {"suppressed", std::to_string(failure_suppressed_)}});
    failure_suppressed_ = 0;
}

void SqliteWriter::rollback() noexcept {
    // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR...); a second
    // ROLLBACK would only report that no transaction is active.
    if (sqlite3_get_autocommit(db_.get())) return;
    if (sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK)
        log::error("sqlite store: rollback failed",
                   {{"path", db_.path()}, {"error", db_.errmsg()}});
}

} // namespace switchboard::engine
