// SqliteStore against real SQLite files in a temporary directory: group commit reporting,
// restart, validation of offsets and epochs, trimming, paging, removal, back-pressure,
// shutdown, concurrent producers, a failed transaction, and kill -9 in the middle of a stream.
#include "engine/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace switchboard::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh directory per test, removed afterwards.
class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "sqlite_store_test.XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string db() const { return (path_ / "data" / "switchboard.db").string(); }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// Records every on_commit call; tests wait on it from their own thread.
class Commits {
  public:
    SqliteStore::CommitCallback callback() {
        return [this](std::span<const std::uint64_t> tickets, bool ok) {
            std::lock_guard lk(m_);
            calls_.push_back({std::vector<std::uint64_t>(tickets.begin(), tickets.end()), ok});
            auto& into = ok ? ok_ : failed_;
            into.insert(into.end(), tickets.begin(), tickets.end());
            cv_.notify_all();
        };
    }
    // Waits until `n` tickets were reported in total (ok or not).
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lk(m_);
        return cv_.wait_for(lk, timeout, [&] { return ok_.size() + failed_.size() >= n; });
    }
    std::vector<std::uint64_t> ok() const {
        std::lock_guard lk(m_);
        return ok_;
    }
    std::vector<std::uint64_t> failed() const {
        std::lock_guard lk(m_);
        return failed_;
    }
    std::vector<std::pair<std::vector<std::uint64_t>, bool>> calls() const {
        std::lock_guard lk(m_);
        return calls_;
    }

  private:
    mutable std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::pair<std::vector<std::uint64_t>, bool>> calls_;
    std::vector<std::uint64_t> ok_, failed_;
};

std::string payload(std::string_view channel, std::uint64_t offset) {
    return "{\"ch\":\"" + std::string(channel) + "\",\"n\":" + std::to_string(offset) + "}";
}

AppendRequest append_req(std::string channel, std::uint64_t offset, std::uint64_t ticket,
                         std::string epoch = "e1", std::int64_t time_ms = 1000) {
    AppendRequest r;
    r.pub.data = payload(channel, offset);
    r.pub.info = offset % 2 ? "{\"user\":\"u1\"}" : "";
    r.pub.offset = offset;
    r.pub.time_ms = time_ms;
    r.channel = std::move(channel);
    r.epoch = std::move(epoch);
    r.ticket = ticket;
    return r;
}

SqliteStoreOptions options(const TempDir& dir, Sync sync = Sync::Normal) {
    SqliteStoreOptions o;
    o.path = dir.db();
    o.sync = sync;
    return o;
}

std::vector<std::uint64_t> offsets_of(const std::vector<StoredPublication>& pubs) {
    std::vector<std::uint64_t> out;
    for (const auto& p : pubs) out.push_back(p.offset);
    return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = first; i <= last; ++i) out.push_back(i);
    return out;
}

// Rows actually on disk (not what reads show after TTL filtering).
std::int64_t rows_on_disk(const std::string& path, std::string_view channel) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT count(*) FROM publications JOIN channels ON channels.id = "
                       "publications.channel WHERE channels.name = ?1",
                       -1, &s, nullptr);
    sqlite3_bind_text(s, 1, channel.data(), static_cast<int>(channel.size()), nullptr);
    std::int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

TEST(SqliteStore, ReportsTicketsInAppendOrder) {
    TempDir dir;
    Commits commits;
    SqliteStore store(options(dir), commits.callback());
    for (std::uint64_t i = 1; i <= 500; ++i) ASSERT_TRUE(store.try_append(append_req("a", i, i)));
    ASSERT_TRUE(commits.wait_for(500));
    EXPECT_EQ(commits.ok(), range(1, 500));
    EXPECT_TRUE(commits.failed().empty());
    // Every commit reported tickets, and nothing is left once they all have been.
    auto s = store.stats();
    EXPECT_EQ(s.rows, 500u);
    EXPECT_EQ(s.commits, commits.calls().size());
    EXPECT_GE(s.max_batch_seen, 1u);
    EXPECT_EQ(s.failed_commits, 0u);
    // A commit callback has run for every append, so a read sees all of them.
    auto h = store.load("a", 3);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->top_offset, 500u);
    EXPECT_EQ(offsets_of(h->recent), range(498, 500));
}

TEST(SqliteStore, LoadAfterReopenKeepsEpochTopAndRows) {
    TempDir dir;
    {
        Commits commits;
        SqliteStore store(options(dir, Sync::Full), commits.callback());
        for (std::uint64_t i = 1; i <= 50; ++i) {
            ASSERT_TRUE(store.try_append(append_req("news", i, i, "epoch-news", 1000 + i)));
            ASSERT_TRUE(store.try_append(append_req("chat:1", i, 100 + i, "epoch-chat")));
        }
        ASSERT_TRUE(commits.wait_for(100));
    }
    Commits commits;
    SqliteStore store(options(dir, Sync::Full), commits.callback());
    auto h = store.load("news", 10);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->epoch, "epoch-news");
    EXPECT_EQ(h->top_offset, 50u);
    ASSERT_EQ(offsets_of(h->recent), range(41, 50));
    EXPECT_EQ(h->recent.back().data, payload("news", 50));
    EXPECT_EQ(h->recent.back().time_ms, 1050);
    EXPECT_EQ(h->recent.back().info, "");
    EXPECT_EQ(h->recent.front().info, "{\"user\":\"u1\"}");

    auto top_only = store.load("chat:1", 0);
    ASSERT_TRUE(top_only);
    EXPECT_EQ(top_only->epoch, "epoch-chat");
    EXPECT_EQ(top_only->top_offset, 50u);
    EXPECT_TRUE(top_only->recent.empty());
    EXPECT_FALSE(store.load("never", 10));

    // The reopened store continues where the old one stopped.
    ASSERT_TRUE(store.try_append(append_req("news", 51, 1, "")));
    ASSERT_TRUE(commits.wait_for(1));
    EXPECT_EQ(commits.ok(), std::vector<std::uint64_t>{1});
    EXPECT_EQ(store.load("news", 1)->top_offset, 51u);
}

TEST(SqliteStore, RefusesOffsetGapsAndForeignEpochs) {
    TempDir dir;
    Commits commits;
    SqliteStore store(options(dir), commits.callback());
    ASSERT_TRUE(store.try_append(append_req("c", 1, 1, "E1")));
    ASSERT_TRUE(store.try_append(append_req("c", 2, 2, "")));     // "" = keep the stored epoch
    ASSERT_TRUE(store.try_append(append_req("c", 3, 3, "E2")));   // another incarnation
    ASSERT_TRUE(store.try_append(append_req("c", 5, 4, "E1")));   // gap
    ASSERT_TRUE(store.try_append(append_req("c", 2, 5, "E1")));   // duplicate
    ASSERT_TRUE(store.try_append(append_req("new", 2, 6, "E9"))); // new channel not at 1
    ASSERT_TRUE(store.try_append(append_req("new2", 1, 7, "")));  // new channel without epoch
    ASSERT_TRUE(store.try_append(append_req("c", 3, 8, "E1")));   // the right next one
    ASSERT_TRUE(commits.wait_for(8));
    EXPECT_EQ(commits.ok(), (std::vector<std::uint64_t>{1, 2, 8}));
    EXPECT_EQ(commits.failed(), (std::vector<std::uint64_t>{3, 4, 5, 6, 7}));
    // Refused appends come in their own ok = false call after the committed ones.
    for (const auto& [tickets, ok] : commits.calls())
        for (auto t : tickets) EXPECT_EQ(ok, t == 1 || t == 2 || t == 8) << t;
    EXPECT_EQ(store.stats().rejected_appends, 5u);
    EXPECT_EQ(store.stats().failed_commits, 0u);
    auto h = store.load("c", 10);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->epoch, "E1");
    EXPECT_EQ(h->top_offset, 3u);
    EXPECT_EQ(offsets_of(h->recent), range(1, 3));
    EXPECT_FALSE(store.load("new", 10));
    EXPECT_FALSE(store.load("new2", 10));
}

TEST(SqliteStore, TrimsToHistorySize) {
    TempDir dir;
    Commits commits;
    SqliteStore store(options(dir), commits.callback());
    std::uint64_t ticket = 0;
    for (std::uint64_t i = 1; i <= 100; ++i) {
        auto r = append_req("sized", i, ++ticket);
        r.history_size = 10;
        ASSERT_TRUE(store.try_append(std::move(r)));
        if (i % 30 == 0) {
            ASSERT_TRUE(commits.wait_for(ticket)); // several transactions
        }
    }
    ASSERT_TRUE(commits.wait_for(100));
    auto h = store.load("sized", 1000);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->top_offset, 100u);
    EXPECT_EQ(offsets_of(h->recent), range(91, 100));
    EXPECT_EQ(offsets_of(store.read_after("sized", 0, 1000)), range(91, 100));
    EXPECT_EQ(rows_on_disk(dir.db(), "sized"), 10);
}

TEST(SqliteStore, TrimsByTtlAndHidesExpiredRows) {
    TempDir dir;
    std::atomic<std::int64_t> now{1'000'000};
    auto opts = options(dir);
    opts.now_ms = [&now] { return now.load(); };
    Commits commits;
    SqliteStore store(opts, commits.callback());
    std::uint64_t ticket = 0;
    auto append = [&](std::string ch, std::uint64_t offset, std::int64_t time_ms) {
        auto r = append_req(std::move(ch), offset, ++ticket, "e", time_ms);
        r.history_ttl_ms = 1000;
        ASSERT_TRUE(store.try_append(std::move(r)));
        ASSERT_TRUE(commits.wait_for(ticket));
    };
    for (std::uint64_t i = 1; i <= 5; ++i) append("ttl", i, now);
    append("idle", 1, now);
    EXPECT_EQ(rows_on_disk(dir.db(), "ttl"), 5);

    // Past the TTL, reads hide the rows even before a sweep has deleted them.
    now += 1500;
    auto h = store.load("ttl", 100);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->top_offset, 5u);
    EXPECT_TRUE(h->recent.empty());
    EXPECT_TRUE(store.read_after("ttl", 0, 100).empty());
    EXPECT_EQ(rows_on_disk(dir.db(), "ttl"), 5);

    // The next append sweeps the channel's expired rows in its own transaction, and the idle
    // sweep deletes those of the channel nobody writes to any more.
    append("ttl", 6, now);
    EXPECT_EQ(rows_on_disk(dir.db(), "ttl"), 1);
    EXPECT_EQ(rows_on_disk(dir.db(), "idle"), 0);
    h = store.load("ttl", 100);
    EXPECT_EQ(offsets_of(h->recent), std::vector<std::uint64_t>{6});
    EXPECT_EQ(h->top_offset, 6u);
    EXPECT_EQ(store.load("idle", 10)->top_offset, 1u); // the channel row and its top stay
}

TEST(SqliteStore, ReadAfterPagesOldestFirst) {
    TempDir dir;
    Commits commits;
    SqliteStore store(options(dir), commits.callback());
    for (std::uint64_t i = 1; i <= 250; ++i) ASSERT_TRUE(store.try_append(append_req("p", i, i)));
    ASSERT_TRUE(commits.wait_for(250));
    std::vector<std::uint64_t> seen;
    std::uint64_t after = 0;
    int pages = 0;
    for (;;) {
        auto page = store.read_after("p", after, 100);
        if (page.empty()) break;
        ++pages;
        EXPECT_LE(page.size(), 100u);
        for (const auto& p : page) {
            seen.push_back(p.offset);
            EXPECT_EQ(p.data, payload("p", p.offset));
        }
        after = page.back().offset;
    }
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(seen, range(1, 250));
    EXPECT_EQ(offsets_of(store.read_after("p", 247, 100)), range(248, 250));
    EXPECT_TRUE(store.read_after("p", 250, 100).empty());
    EXPECT_TRUE(store.read_after("p", 0, 0).empty());
    EXPECT_TRUE(store.read_after("unknown", 0, 100).empty());
}

TEST(SqliteStore, RemoveChannelStartsANewIncarnation) {
    TempDir dir;
    Commits commits;
    SqliteStore store(options(dir), commits.callback());
    for (std::uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(store.try_append(append_req("r", i, i)));
    ASSERT_TRUE(store.try_append(append_req("keep", 1, 11)));
    ASSERT_TRUE(commits.wait_for(11));
    store.remove_channel("r");
    // Queued behind the removal: the channel starts over at offset 1 under a new epoch.
    ASSERT_TRUE(store.try_append(append_req("r", 1, 12, "e2")));
    ASSERT_TRUE(commits.wait_for(12));
    EXPECT_TRUE(commits.failed().empty());
    auto h = store.load("r", 10);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->epoch, "e2");
    EXPECT_EQ(h->top_offset, 1u);
    EXPECT_EQ(offsets_of(h->recent), std::vector<std::uint64_t>{1});
    EXPECT_TRUE(store.load("keep", 1));

    // Appends, removal and new incarnation all in one transaction (queued before the writer
    // wakes up is likely, not guaranteed; the order is what matters).
    for (std::uint64_t i = 2; i <= 5; ++i)
        ASSERT_TRUE(store.try_append(append_req("r", i, 11 + i, "")));
    store.remove_channel("r");
    store.remove_channel("never-existed");
    ASSERT_TRUE(store.try_append(append_req("r", 1, 17, "e3")));
    ASSERT_TRUE(commits.wait_for(17));
    EXPECT_TRUE(commits.failed().empty());
    h = store.load("r", 10);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->epoch, "e3");
    EXPECT_EQ(offsets_of(h->recent), std::vector<std::uint64_t>{1});

    store.remove_channel("r");
    store.remove_channel("keep");
    ASSERT_TRUE(store.try_append(append_req("x", 1, 18))); // marks when the removals are done
    ASSERT_TRUE(commits.wait_for(18));
    EXPECT_FALSE(store.load("r", 10));
    EXPECT_FALSE(store.load("keep", 10));
    EXPECT_EQ(rows_on_disk(dir.db(), "r"), 0);
}

TEST(SqliteStore, TryAppendFailsWhenQueueIsFull) {
    TempDir dir;
    auto opts = options(dir);
    opts.max_queue = 4;
    std::mutex m;
    std::condition_variable cv;
    bool in_callback = false, release = false;
    Commits commits;
    auto record = commits.callback();
    // The first commit callback holds the writer, so everything after it stays queued.
    SqliteStore store(opts, [&](std::span<const std::uint64_t> t, bool ok) {
        std::unique_lock lk(m);
        in_callback = true;
        cv.notify_all();
        cv.wait(lk, [&] { return release; });
        lk.unlock();
        record(t, ok);
    });
    ASSERT_TRUE(store.try_append(append_req("q", 1, 1)));
    {
        std::unique_lock lk(m);
        ASSERT_TRUE(cv.wait_for(lk, 10s, [&] { return in_callback; }));
    }
    for (std::uint64_t i = 2; i <= 5; ++i) EXPECT_TRUE(store.try_append(append_req("q", i, i)));
    EXPECT_FALSE(store.try_append(append_req("q", 6, 6)));
    auto s = store.stats();
    EXPECT_EQ(s.queue_full, 1u);
    EXPECT_EQ(s.queue_depth, 4u); // the one being reported is committed
    {
        std::lock_guard lk(m);
        release = true;
    }
    cv.notify_all();
    ASSERT_TRUE(commits.wait_for(5));
    EXPECT_EQ(commits.ok(), range(1, 5));
    // Room again once the writer has taken the queue.
    EXPECT_TRUE(store.try_append(append_req("q", 6, 6)));
    ASSERT_TRUE(commits.wait_for(6));
    EXPECT_EQ(store.stats().queue_depth, 0u);
}

TEST(SqliteStore, DestructorCommitsWhatIsQueued) {
    TempDir dir;
    Commits commits;
    {
        SqliteStore store(options(dir), commits.callback());
        for (std::uint64_t i = 1; i <= 5000; ++i)
            ASSERT_TRUE(store.try_append(append_req("d", i, i)));
    }
    EXPECT_EQ(commits.ok(), range(1, 5000));
    SqliteStore store(options(dir), nullptr);
    EXPECT_EQ(store.load("d", 1)->top_offset, 5000u);
}

TEST(SqliteStore, SmallMaxBatchSplitsTransactions) {
    TempDir dir;
    auto opts = options(dir);
    opts.max_batch = 7;
    Commits commits;
    {
        SqliteStore store(opts, commits.callback());
        for (std::uint64_t i = 1; i <= 100; ++i)
            ASSERT_TRUE(store.try_append(append_req("b", i, i)));
        ASSERT_TRUE(commits.wait_for(100));
        EXPECT_LE(store.stats().max_batch_seen, 7u);
        EXPECT_GE(store.stats().commits, 15u);
    }
    EXPECT_EQ(commits.ok(), range(1, 100));
}

TEST(SqliteStore, ConcurrentProducersKeepPerChannelOrder) {
    TempDir dir;
    constexpr int kThreads = 4;
    constexpr std::uint64_t kPerThread = 3000;
    Commits commits;
    SqliteStore store(options(dir), commits.callback());
    // A shared channel needs what the hub does: assign the offset and queue under one lock.
    std::mutex shared_mutex;
    std::uint64_t shared_top = 0;
    auto queue = [&](AppendRequest r) {
        while (!store.try_append(r)) std::this_thread::yield();
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::string own = "own:" + std::to_string(t);
            for (std::uint64_t i = 1; i <= kPerThread; ++i) {
                // Ticket: channel index (t, or kThreads for the shared one) and offset.
                queue(append_req(own, i, (std::uint64_t(t) << 32) | i));
                if (i % 3 == 0) {
                    std::lock_guard lk(shared_mutex);
                    ++shared_top;
                    queue(append_req("shared", shared_top,
                                     (std::uint64_t(kThreads) << 32) | shared_top));
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    const std::uint64_t total = kThreads * kPerThread + shared_top;
    ASSERT_TRUE(commits.wait_for(total, 30s));
    EXPECT_TRUE(commits.failed().empty());
    // Acknowledgements of one channel come in offset order.
    std::map<std::uint64_t, std::uint64_t> last;
    for (std::uint64_t t : commits.ok()) {
        std::uint64_t ch = t >> 32, off = t & 0xffffffff;
        EXPECT_EQ(off, last[ch] + 1) << "channel " << ch;
        last[ch] = off;
    }
    for (int t = 0; t < kThreads; ++t) {
        std::string own = "own:" + std::to_string(t);
        auto rows = store.read_after(own, 0, kPerThread + 1);
        EXPECT_EQ(offsets_of(rows), range(1, kPerThread));
        EXPECT_EQ(rows.back().data, payload(own, kPerThread));
    }
    EXPECT_EQ(offsets_of(store.read_after("shared", 0, total)), range(1, shared_top));
}

TEST(SqliteStore, ReadsFromManyThreadsBesideTheWriter) {
    TempDir dir;
    Commits commits;
    SqliteStore store(options(dir), commits.callback());
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&] {
            std::uint64_t seen = 0;
            while (!done) {
                auto h = store.load("rw", 5);
                if (!h) continue;
                // A snapshot: top and the newest row agree, and top never goes back.
                if (h->recent.empty() || h->recent.back().offset != h->top_offset ||
                    h->top_offset < seen)
                    ++bad;
                seen = h->top_offset;
            }
        });
    }
    for (std::uint64_t i = 1; i <= 20000; ++i) {
        auto r = append_req("rw", i, i);
        r.history_size = 100;
        while (!store.try_append(r)) std::this_thread::yield();
    }
    ASSERT_TRUE(commits.wait_for(20000, 30s));
    done = true;
    for (auto& th : readers) th.join();
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(store.load("rw", 1000)->recent.size(), 100u);
}

TEST(SqliteStore, FailedTransactionReportsEveryAppendAndRecovers) {
    TempDir dir;
    auto opts = options(dir);
    opts.busy_timeout_ms = 50;
    Commits commits;
    SqliteStore store(opts, commits.callback());
    ASSERT_TRUE(store.try_append(append_req("f", 1, 1)));
    ASSERT_TRUE(commits.wait_for(1));

    // Another connection (think: the sqlite3 shell) holds the write lock, so the writer's
    // transaction cannot start: a real failure path without a mock.
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(dir.db().c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_TRUE(store.try_append(append_req("f", 2, 2)));
    ASSERT_TRUE(store.try_append(append_req("g", 1, 3)));
    ASSERT_TRUE(commits.wait_for(3));
    EXPECT_EQ(commits.failed(), (std::vector<std::uint64_t>{2, 3}));
    // The writer may take the second append before the third is queued, so the two appends
    // fail in one transaction or in two; what matters is that each is reported.
    EXPECT_GE(store.stats().failed_commits, 1u);
    EXPECT_LE(store.stats().failed_commits, 2u);
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);

    // Nothing of the failed transaction is stored; the caller re-reads the top and goes on.
    auto h = store.load("f", 10);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->top_offset, 1u);
    EXPECT_FALSE(store.load("g", 10));
    ASSERT_TRUE(store.try_append(append_req("f", 2, 4)));
    ASSERT_TRUE(store.try_append(append_req("g", 1, 5)));
    ASSERT_TRUE(commits.wait_for(5));
    EXPECT_EQ(commits.ok(), (std::vector<std::uint64_t>{1, 4, 5}));
    EXPECT_EQ(store.load("f", 10)->top_offset, 2u);
}

TEST(SqliteStore, StartupFailuresThrowClearly) {
    TempDir dir;
    {
        SqliteStore first(options(dir), nullptr);
        try {
            SqliteStore second(options(dir), nullptr);
            ADD_FAILURE() << "a second store on the same file opened";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("already open"), std::string::npos) << e.what();
        }
    }
    // Lock released with the first store.
    EXPECT_NO_THROW(SqliteStore(options(dir), nullptr));

    std::string junk = (dir.path() / "junk.db").string();
    std::ofstream(junk) << std::string(8192, 'x');
    SqliteStoreOptions o;
    o.path = junk;
    EXPECT_THROW(SqliteStore(o, nullptr), std::runtime_error);

    o.path = "/proc/self/nonexistent/dir/x.db";
    EXPECT_THROW(SqliteStore(o, nullptr), std::runtime_error);
    o.path = "";
    EXPECT_THROW(SqliteStore(o, nullptr), std::runtime_error);
}

// ---- kill -9 ----

// The child: appends to kChannels channels in a loop, continuing from what is stored, and
// writes every acknowledged ticket to `fd` from on_commit, as the hub would send its reply.
constexpr std::uint64_t kCrashChannels = 8;

std::string crash_channel(std::uint64_t c) { return "crash:" + std::to_string(c); }
// Odd channels are trimmed as they go, so a kill also lands in the middle of trimming.
std::uint32_t crash_history_size(std::uint64_t c) { return c % 2 ? 64 : 0; }

[[noreturn]] void crash_child(const std::string& path, Sync sync, int fd) {
    try {
        SqliteStoreOptions o;
        o.path = path;
        o.sync = sync;
        SqliteStore store(o, [fd](std::span<const std::uint64_t> tickets, bool ok) {
            if (!ok) return;
            auto* p = reinterpret_cast<const char*>(tickets.data());
            std::size_t left = tickets.size_bytes();
            while (left > 0) {
                ssize_t n = ::write(fd, p, left);
                if (n <= 0) ::_exit(3);
                p += n;
                left -= static_cast<std::size_t>(n);
            }
        });
        std::vector<std::uint64_t> top(kCrashChannels);
        for (std::uint64_t c = 0; c < kCrashChannels; ++c)
            if (auto h = store.load(crash_channel(c), 0)) top[c] = h->top_offset;
        for (std::uint64_t i = 0;; ++i) {
            std::uint64_t c = i % kCrashChannels;
            auto r = append_req(crash_channel(c), top[c] + 1, (c << 32) | (top[c] + 1));
            r.history_size = crash_history_size(c);
            if (store.try_append(std::move(r)))
                ++top[c];
            else
                std::this_thread::sleep_for(100us);
        }
    } catch (...) {
        ::_exit(2);
    }
}

// Runs one child, kills it with SIGKILL once it has acknowledged at least `kill_after`
// appends, and returns every ticket it acknowledged before dying.
std::vector<std::uint64_t> run_and_kill(const std::string& path, Sync sync,
                                        std::size_t kill_after) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::close(fds[0]);
        crash_child(path, sync, fds[1]);
    }
    ::close(fds[1]);
    std::string bytes;
    bool killed = false;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    char buf[65536];
    for (;;) {
        if (!killed &&
            (bytes.size() / 8 >= kill_after || std::chrono::steady_clock::now() > deadline)) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break; // EOF: the child is gone and everything it wrote has been read
        bytes.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    if (!killed) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child did not run until killed (status " << status << ")";
    // A ticket cut in half by the kill was never completely acknowledged.
    std::vector<std::uint64_t> acked(bytes.size() / 8);
    std::memcpy(acked.data(), bytes.data(), acked.size() * 8);
    return acked;
}

void crash_test(Sync sync) {
    TempDir dir;
    std::mt19937 rng(std::random_device{}());
    std::vector<std::uint64_t> acked_top(kCrashChannels);
    for (int round = 0; round < 4; ++round) {
        std::size_t kill_after = std::uniform_int_distribution<std::size_t>(2000, 60000)(rng);
        auto acked = run_and_kill(dir.db(), sync, kill_after);
        ASSERT_GE(acked.size(), kill_after) << "round " << round;
        for (std::uint64_t t : acked) {
            std::uint64_t c = t >> 32, off = t & 0xffffffff;
            ASSERT_LT(c, kCrashChannels);
            acked_top[c] = std::max(acked_top[c], off);
        }
        // Reopen as a restarted server would: every acknowledged append is there, and each
        // channel's offsets are 1..top without a gap (the newest 64 of them when trimmed).
        SqliteStoreOptions o;
        o.path = dir.db();
        o.sync = sync;
        SqliteStore store(o, nullptr);
        for (std::uint64_t c = 0; c < kCrashChannels; ++c) {
            auto h = store.load(crash_channel(c), 0);
            ASSERT_TRUE(h) << "round " << round << " channel " << c;
            ASSERT_GE(h->top_offset, acked_top[c]) << "round " << round << " channel " << c;
            auto rows = store.read_after(crash_channel(c), 0, h->top_offset + 10);
            std::uint64_t keep = crash_history_size(c);
            std::uint64_t first = keep && h->top_offset > keep ? h->top_offset - keep + 1 : 1;
            ASSERT_EQ(rows.size(), h->top_offset - first + 1)
                << "round " << round << " channel " << c;
            for (std::size_t i = 0; i < rows.size(); ++i) {
                ASSERT_EQ(rows[i].offset, first + i);
                ASSERT_EQ(rows[i].data, payload(crash_channel(c), first + i));
            }
        }
    }
}

TEST(SqliteStoreCrash, KillNineLosesNoAcknowledgedAppendSyncNormal) { crash_test(Sync::Normal); }
TEST(SqliteStoreCrash, KillNineLosesNoAcknowledgedAppendSyncFull) { crash_test(Sync::Full); }

} // namespace
} // namespace switchboard::engine
