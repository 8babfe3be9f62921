// The run driver: starts the workers, moves them through the phases (connect, warm-up, measure,
// drain, close), samples the server at the window's edges and hands the result to the report.
#include "run.hpp"

#include "control.hpp"
#include "interrupt.hpp"
#include "limits.hpp"
#include "mono_clock.hpp"
#include "proc_sample.hpp"
#include "report.hpp"
#include "worker.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace wsload {

int run(const Config& cfg) {
    // Each connection is one fd; make sure the soft limit allows what the hard limit does.
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    const uint32_t total = total_connections(cfg);
    if (rl.rlim_cur < total + 64) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, total + 256);
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < total + 64) {
            std::fprintf(stderr, "wsload: fd limit %llu is too low for %u connections\n",
                         static_cast<unsigned long long>(rl.rlim_cur), total);
            return 64;
        }
    }
    if (cfg.mode == Mode::Idle && cfg.server_pid == 0 && !cfg.json)
        std::fprintf(stderr, "wsload: idle without --server-pid reports no memory figures\n");

    Control ctl;
    if (cfg.mode == Mode::Hub) {
        ctl.final_offsets = std::make_unique<std::atomic<uint64_t>[]>(cfg.channels);
        for (uint32_t ch = 0; ch < cfg.channels; ++ch) ctl.final_offsets[ch].store(0);
    }
    const ServerSample before_connect = sample_server(cfg.server_pid);
    const uint32_t threads = std::min(cfg.threads, total);
    std::vector<std::unique_ptr<Worker>> workers;
    for (uint32_t t = 0; t < threads; ++t) {
        // Connection i goes to thread i % T; the broadcast sender and the hub publisher are
        // connection 0 on thread 0.
        const uint32_t count = total / threads + (t < total % threads ? 1 : 0);
        const bool sender = (cfg.mode == Mode::Broadcast || cfg.mode == Mode::Hub) && t == 0;
        workers.push_back(std::make_unique<Worker>(cfg, ctl, t, count, sender));
    }
    std::vector<std::thread> pool;
    const uint64_t t_start = mono_ns();
    for (auto& w : workers) pool.emplace_back([&w] { w->run(); });

    auto stop = [&] {
        // Nothing left to measure once the server has dropped every connection.
        const uint32_t opened = ctl.opened.load();
        if (opened > 0 && ctl.lost.load() >= opened && ctl.phase.load() < Phase::Drain &&
            !ctl.abort.load())
            ctl.fail_run("the server dropped or closed every connection");
        return ctl.abort.load() || g_interrupted;
    };
    auto set_phase = [&](Phase p) { ctl.phase.store(p, std::memory_order_release); };

    // Connect: every connection open or failed, bounded by --connect-timeout. In the hub modes
    // "open" means connected and subscribed, so that no publish precedes a subscription.
    sleep_until(t_start + static_cast<uint64_t>(cfg.connect_timeout * 1e9),
                [&] { return stop() || ctl.opened.load() + ctl.failed.load() >= total; });
    const uint64_t t_connected = mono_ns();
    const uint32_t opened_at_start = ctl.opened.load();
    if (opened_at_start == 0 && !ctl.abort.load()) ctl.fail_run("no connection could be opened");
    // Without the sender there is nothing to measure.
    if (cfg.mode == Mode::Broadcast && !stop() && !ctl.sender_open.load())
        ctl.fail_run("broadcast sender did not connect");
    if (cfg.mode == Mode::Hub && !stop() && !ctl.sender_open.load())
        ctl.fail_run("hub publisher did not connect");

    ServerSample s0, s1;
    double cpu0 = 0, cpu1 = 0;
    uint64_t t0 = 0, t1 = 0;
    bool measured = false;
    if (!stop()) {
        set_phase(Phase::Warmup);
        sleep_until(mono_ns() + static_cast<uint64_t>(cfg.warmup * 1e9), stop);
    }
    if (!stop()) {
        s0 = sample_server(cfg.server_pid);
        cpu0 = self_cpu_s();
        t0 = mono_ns();
        set_phase(Phase::Measure);
        sleep_until(t0 + static_cast<uint64_t>(cfg.duration * 1e9), stop);
        t1 = mono_ns();
        set_phase(Phase::Drain);
        cpu1 = self_cpu_s();
        s1 = sample_server(cfg.server_pid);
        measured = true;
    }
    set_phase(Phase::Drain);
    sleep_until(mono_ns() + static_cast<uint64_t>(kDrainTimeoutSec * 1e9), [&] {
        if (ctl.abort.load()) return true;
        for (auto& w : workers)
            if (!w->drained.load()) return false;
        return true;
    });
    bool drain_timed_out = false;
    if (!ctl.abort.load())
        for (auto& w : workers) drain_timed_out |= !w->drained.load();
    set_phase(Phase::Closing);
    sleep_until(mono_ns() + static_cast<uint64_t>(kCloseTimeoutSec * 1e9), [&] {
        for (auto& w : workers)
            if (!w->closed.load()) return false;
        return true;
    });
    set_phase(Phase::Done);
    for (auto& th : pool) th.join();
    const ServerSample after_close = sample_server(cfg.server_pid);

    RunResult r;
    r.total = total;
    r.threads = threads;
    r.opened_at_start = opened_at_start;
    r.connect_s = static_cast<double>(t_connected - t_start) / 1e9;
    r.measured = measured;
    r.window = measured ? static_cast<double>(t1 - t0) / 1e9 : 0.0;
    r.loadgen_cpu = cpu1 - cpu0;
    r.before_connect = before_connect;
    r.s0 = s0;
    r.s1 = s1;
    r.after_close = after_close;
    for (auto& w : workers) r.all.merge(w->stats);
    // Every publish of the run was acknowledged with an offset; per channel they must be
    // consecutive (assuming nobody else publishes to these channels meanwhile).
    for (size_t ch = 0; ch < r.all.ack_ranges.size(); ++ch) {
        const AckRange& a = r.all.ack_ranges[ch];
        if (a.count == 0) continue;
        const uint64_t span = a.hi - a.lo + 1;
        // lo + ... + hi; one of the two factors is even (unsigned wrap-around is intended).
        const uint64_t want_sum =
            span % 2 == 0 ? span / 2 * (a.lo + a.hi) : (a.lo + a.hi) / 2 * span;
        if (span == a.count && a.sum == want_sum) continue;
        r.all.ack_offset_errors += span > a.count   ? span - a.count
                                   : a.count > span ? a.count - span
                                                    : 1;
        if (r.first_ack_offsets.empty())
            r.first_ack_offsets = cfg.ns + ":" + std::to_string(ch) + ": " +
                                  std::to_string(a.count) +
                                  " publishes acknowledged with offsets " + std::to_string(a.lo) +
                                  ".." + std::to_string(a.hi);
    }
    r.drain_timed_out = drain_timed_out;
    r.finals_checked = ctl.finals_ready.load();
    r.aborted = ctl.abort.load();
    {
        std::lock_guard lock(ctl.error_mu);
        r.first_error = ctl.first_error;
        r.first_failure = ctl.first_failure;
        r.first_violation = ctl.first_violation;
    }

    print_report(cfg, r);
    std::fflush(stdout);
    if (r.aborted) return 2;
    return r.all.errors() ? 1 : 0;
}

} // namespace wsload
