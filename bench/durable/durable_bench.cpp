// durable_bench: acknowledged appends per second through SqliteStore, the durable history of
// channels, and how long an append waits for its commit.
//
// P producer threads append to C channels and keep at most --inflight appends unacknowledged
// in total, as that many clients each waiting for the reply to a publish would. A channel
// shared by several producers is appended to under its own mutex (offset assignment and
// try_append together), as the hub must do. Latency is from try_append to the on_commit call
// that reports the append. The first fifth of the run (at most 1 s) is warm-up and not counted.
#include "engine/sqlite_store.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace switchboard::engine;
using Clock = std::chrono::steady_clock;

struct Options {
    double seconds = 5;
    std::size_t channels = 1;
    std::size_t payload = 64;
    Sync sync = Sync::Full;
    std::size_t producers = 1;
    std::size_t inflight = 10000;
    std::uint32_t history_size = 0;
    std::string dir; // default: a fresh directory under /tmp, removed afterwards
    bool json = false;
};

void usage(std::FILE* f) {
    std::fputs("usage: durable_bench [options]\n"
               "  --seconds S        run time, warm-up included (default 5)\n"
               "  --channels N       channels appended to round-robin (default 1)\n"
               "  --payload BYTES    size of each publication's JSON data (default 64)\n"
               "  --sync full|normal SQLite synchronous mode (default full)\n"
               "  --producers N      threads calling try_append (default 1)\n"
               "  --inflight N       unacknowledged appends allowed in total (default 10000)\n"
               "  --history-size N   history_size of every append, 0 = keep all (default 0)\n"
               "  --dir PATH         directory for bench.db, deleted afterwards (default: a new\n"
               "                     directory in /tmp)\n"
               "  --json             print the result as one JSON object\n",
               f);
}

std::uint64_t parse_uint(std::string_view name, const char* v, std::uint64_t lo, std::uint64_t hi) {
    char* end = nullptr;
    errno = 0;
    unsigned long long u = std::strtoull(v, &end, 10);
    if (!*v || *v == '-' || *end || errno || u < lo || u > hi)
        throw std::invalid_argument(std::string(name) + ": expected an integer in [" +
                                    std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                                    v + "'");
    return u;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            usage(stdout);
            std::exit(0);
        }
        if (a == "--json") {
            o.json = true;
            continue;
        }
        static constexpr std::string_view kValued[] = {
            "--seconds",   "--channels", "--payload",      "--sync",
            "--producers", "--inflight", "--history-size", "--dir"};
        if (std::find(std::begin(kValued), std::end(kValued), a) == std::end(kValued))
            throw std::invalid_argument("unknown option " + std::string(a));
        if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + ": missing value");
        const char* v = argv[++i];
        if (a == "--seconds") {
            char* end = nullptr;
            o.seconds = std::strtod(v, &end);
            if (*end || !(o.seconds > 0 && o.seconds <= 3600))
                throw std::invalid_argument("--seconds: expected a number in (0, 3600]");
        } else if (a == "--channels") {
            o.channels = parse_uint(a, v, 1, 10'000'000);
        } else if (a == "--payload") {
            o.payload = parse_uint(a, v, 1, 1 << 20);
        } else if (a == "--sync") {
            if (std::string_view(v) == "full")
                o.sync = Sync::Full;
            else if (std::string_view(v) == "normal")
                o.sync = Sync::Normal;
            else
                throw std::invalid_argument("--sync: expected full or normal");
        } else if (a == "--producers") {
            o.producers = parse_uint(a, v, 1, 256);
        } else if (a == "--inflight") {
            o.inflight = parse_uint(a, v, 1, 1 << 20);
        } else if (a == "--history-size") {
            o.history_size = static_cast<std::uint32_t>(parse_uint(a, v, 0, 1u << 31));
        } else {
            o.dir = v; // --dir
        }
    }
    return o;
}

// JSON text of exactly `size` bytes where possible: {"p":"xxx..."}.
std::string make_payload(std::size_t size) {
    constexpr std::string_view head = "{\"p\":\"", tail = "\"}";
    if (size <= head.size() + tail.size()) {
        std::string number(size, ' '); // a JSON number padded with spaces
        if (size) number[0] = '0';
        return number;
    }
    std::string out(head); // appended piecewise: g++ 12 -O3 misreads operator+ (-Wrestrict)
    out.append(size - head.size() - tail.size(), 'x');
    out.append(tail);
    return out;
}

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Per-producer state shared with the writer thread's commit callback. Ticket = producer
// index << 40 | sequence number; the send time of a sequence number lives in a ring that
// cannot wrap while its append is unacknowledged (the ring is larger than the window).
struct alignas(64) Producer {
    std::atomic<std::uint64_t> unacked{0};
    std::vector<Clock::time_point> sent;
    std::uint64_t mask = 0;
};

struct Channel {
    std::mutex m;
    std::uint64_t top = 0;
    std::string name;
};

template <class T> T percentile(std::vector<T>& v, double p) {
    if (v.empty()) return T{};
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

int run(const Options& o) {
    namespace fs = std::filesystem;
    std::string dir = o.dir;
    bool own_dir = dir.empty();
    if (own_dir) {
        std::string tmpl = "/tmp/durable_bench.XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        dir = tmpl;
    }
    const std::size_t per_producer =
        std::max<std::size_t>(1, (o.inflight + o.producers - 1) / o.producers);
    std::vector<std::unique_ptr<Producer>> producers;
    for (std::size_t p = 0; p < o.producers; ++p) {
        auto pr = std::make_unique<Producer>();
        std::size_t ring = 1;
        while (ring <= per_producer) ring <<= 1;
        pr->sent.resize(ring);
        pr->mask = ring - 1;
        producers.push_back(std::move(pr));
    }
    std::vector<Channel> channels(o.channels);
    for (std::size_t c = 0; c < o.channels; ++c) channels[c].name = "bench:" + std::to_string(c);

    // Written only by the writer thread (the commit callback), read after the store is gone.
    std::atomic<bool> measuring{false};
    std::vector<std::uint32_t> latency_us;
    latency_us.reserve(1 << 22);
    std::vector<std::uint32_t> batches;
    std::uint64_t acked_measured = 0, failed = 0;

    SqliteStoreOptions so;
    so.path = (fs::path(dir) / "bench.db").string();
    so.sync = o.sync;
    if (fs::exists(so.path))
        throw std::runtime_error(so.path + " exists (left by an interrupted run?); remove it");
    auto store =
        std::make_unique<SqliteStore>(so, [&](std::span<const std::uint64_t> tickets, bool ok) {
            auto now = Clock::now();
            if (!ok) failed += tickets.size();
            bool m = measuring.load(std::memory_order_relaxed);
            if (m && ok) {
                batches.push_back(static_cast<std::uint32_t>(tickets.size()));
                acked_measured += tickets.size();
            }
            std::vector<std::uint64_t> done(producers.size());
            for (std::uint64_t t : tickets) {
                Producer& p = *producers[t >> 40];
                ++done[t >> 40];
                if (m && ok) {
                    auto d = now - p.sent[t & p.mask];
                    latency_us.push_back(static_cast<std::uint32_t>(
                        std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
                }
            }
            for (std::size_t i = 0; i < done.size(); ++i) {
                if (done[i] == 0) continue;
                producers[i]->unacked.fetch_sub(done[i]);
                producers[i]->unacked.notify_one();
            }
        });

    const std::string data = make_payload(o.payload);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> busy{0};
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < o.producers; ++p) {
        threads.emplace_back([&, p] {
            Producer& me = *producers[p];
            std::uint64_t seq = 0;
            std::size_t c = p % o.channels;
            while (!stop.load(std::memory_order_relaxed)) {
                std::uint64_t n = me.unacked.load();
                if (n >= per_producer) {
                    me.unacked.wait(n);
                    continue;
                }
                Channel& ch = channels[c];
                c = (c + o.producers) % o.channels;
                AppendRequest r;
                r.channel = ch.name;
                r.epoch = "bench-epoch";
                r.pub.data = data;
                r.pub.time_ms = unix_ms();
                r.history_size = o.history_size;
                r.ticket = (std::uint64_t(p) << 40) | seq;
                std::lock_guard lk(ch.m);
                r.pub.offset = ch.top + 1;
                me.sent[seq & me.mask] = Clock::now();
                me.unacked.fetch_add(1);
                if (store->try_append(std::move(r))) {
                    ++ch.top;
                    ++seq;
                } else {
                    me.unacked.fetch_sub(1);
                    busy.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::yield();
                }
            }
        });
    }

    const auto total = std::chrono::duration<double>(o.seconds);
    const auto warmup = std::min(std::chrono::duration<double>(1.0), total / 5);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(warmup);
    measuring = true;
    const auto m0 = Clock::now();
    const double cpu0 = cpu_seconds();
    const auto stats0 = store->stats();
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(total));
    measuring = false;
    const auto m1 = Clock::now();
    const double cpu1 = cpu_seconds();
    const auto stats1 = store->stats();
    stop = true;
    // A producer asleep on a full window is woken by the commits of its own appends.
    for (auto& t : threads) t.join();
    store.reset(); // drains: every append is reported before this returns
    // Each run starts from an empty database (offsets start at 1), so its files go.
    std::uint64_t db_bytes = 0;
    for (const char* suffix : {"", "-wal", "-shm", "-lock"}) {
        fs::path f = so.path + suffix;
        std::error_code ec;
        if (fs::is_regular_file(f, ec)) db_bytes += fs::file_size(f, ec);
        fs::remove(f, ec);
    }
    if (own_dir) fs::remove_all(dir);

    const double secs = std::chrono::duration<double>(m1 - m0).count();
    const double rate = static_cast<double>(acked_measured) / secs;
    const double commits = static_cast<double>(stats1.commits - stats0.commits);
    const double cpu = (cpu1 - cpu0) / secs;
    auto ms = [](std::uint32_t us) { return us / 1000.0; };
    std::uint32_t p50 = percentile(latency_us, 0.50), p99 = percentile(latency_us, 0.99);
    std::uint32_t pmax =
        latency_us.empty() ? 0 : *std::max_element(latency_us.begin(), latency_us.end());
    double batch_mean =
        batches.empty() ? 0
                        : static_cast<double>(acked_measured) / static_cast<double>(batches.size());
    std::uint32_t b50 = percentile(batches, 0.50), b99 = percentile(batches, 0.99);
    const char* sync = o.sync == Sync::Full ? "full" : "normal";
    if (o.json) {
        std::printf("{\"bench\":\"durable\",\"sync\":\"%s\",\"channels\":%zu,\"producers\":%zu,"
                    "\"payload\":%zu,\"inflight\":%zu,\"history_size\":%u,\"seconds\":%.2f,"
                    "\"appends_per_s\":%.0f,\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,"
                    "\"max\":%.3f},\"commits_per_s\":%.0f,\"batch\":{\"mean\":%.1f,\"p50\":%u,"
                    "\"p99\":%u,\"max\":%llu},\"failed\":%llu,\"queue_full\":%llu,"
                    "\"cpu_cores\":%.2f,\"disk_mb\":%.1f}\n",
                    sync, o.channels, o.producers, o.payload, o.inflight, o.history_size, secs,
                    rate, ms(p50), ms(p99), ms(pmax), commits / secs, batch_mean, b50, b99,
                    static_cast<unsigned long long>(stats1.max_batch_seen),
                    static_cast<unsigned long long>(failed),
                    static_cast<unsigned long long>(busy.load()), cpu, db_bytes / 1e6);
    } else {
        std::printf("durable sync=%s channels=%zu producers=%zu payload=%zu inflight=%zu "
                    "history=%u: %.0f appends/s, commit latency p50 %.2f ms p99 %.2f ms max "
                    "%.2f ms, %.0f commits/s, batch mean %.0f p50 %u p99 %u max %llu, failed "
                    "%llu, cpu %.2f cores, disk %.1f MB\n",
                    sync, o.channels, o.producers, o.payload, o.inflight, o.history_size, rate,
                    ms(p50), ms(p99), ms(pmax), commits / secs, batch_mean, b50, b99,
                    static_cast<unsigned long long>(stats1.max_batch_seen),
                    static_cast<unsigned long long>(failed), cpu, db_bytes / 1e6);
    }
    return failed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "durable_bench: %s\n", e.what());
        usage(stderr);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "durable_bench: %s\n", e.what());
        return 1;
    }
}
