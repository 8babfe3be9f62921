// The report: one JSON line (--json) or a human summary of the same run. Scripts such as
// bench/run_matrix.sh collect the JSON lines, so its field names and formats must not change.
#include "report.hpp"

#include "interrupt.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace wsload {
namespace {

// Figures derived from the raw result, shared by both formats so that they cannot disagree.
struct Figures {
    double per_s = 0;
    double msgs_per_s = 0;
    double mb_per_s = 0;
    double sent_per_s = 0;
    double acked_per_s = 0; // hub modes
    bool have_server = false;
    double server_cpu = 0;
    double msgs_per_server_cpu = 0;
    uint64_t errors = 0;
    bool have_mem = false;
    double rss_per_conn = 0;
    double anon_per_conn = 0;
};

Figures derive(const Config& cfg, const RunResult& r) {
    const Stats& all = r.all;
    const ServerSample& s0 = r.s0;
    const ServerSample& s1 = r.s1;
    const ServerSample& before_connect = r.before_connect;
    const uint32_t opened_at_start = r.opened_at_start;
    Figures f;
    f.per_s = r.window > 0 ? 1.0 / r.window : 0.0;
    f.msgs_per_s = static_cast<double>(all.msgs_rx) * f.per_s;
    f.mb_per_s = static_cast<double>(all.payload_rx) * f.per_s / 1e6;
    f.sent_per_s = static_cast<double>(all.msgs_tx) * f.per_s;
    f.acked_per_s = static_cast<double>(all.acks) * f.per_s;
    f.have_server = s0.ok && s1.ok;
    f.server_cpu = f.have_server ? s1.cpu_s - s0.cpu_s : 0.0;
    f.msgs_per_server_cpu =
        f.have_server && f.server_cpu > 0 ? static_cast<double>(all.msgs_rx) / f.server_cpu : 0.0;
    f.errors = all.errors();
    // Idle: server memory per connection, measured before any connection and at the end of
    // the hold (s1), so lazily grown per-connection state is included.
    f.have_mem = cfg.mode == Mode::Idle && before_connect.rss_kb >= 0 && s1.rss_kb >= 0 &&
                 opened_at_start > 0;
    f.rss_per_conn = f.have_mem ? static_cast<double>(s1.rss_kb - before_connect.rss_kb) * 1024.0 /
                                      opened_at_start
                                : 0.0;
    f.anon_per_conn = f.have_mem
                          ? static_cast<double>(s1.rss_anon_kb - before_connect.rss_anon_kb) *
                                1024.0 / opened_at_start
                          : 0.0;
    return f;
}

// Hub: the fewest and most subscribers any channel has under the layout (options.hpp), counted
// over every subscription (at most 19,500 * 64).
struct SubRange {
    uint64_t lo = 0;
    uint64_t hi = 0;
};
SubRange subscribers_per_channel(const Config& cfg) {
    std::vector<uint32_t> n(cfg.channels, 0);
    for (uint64_t i = 0; i < cfg.connections; ++i)
        for (uint32_t j = 0; j < cfg.subs_per_conn; ++j) ++n[subscriber_channel(cfg, i, j)];
    const auto [lo, hi] = std::minmax_element(n.begin(), n.end());
    return {*lo, *hi};
}

double us(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

std::string json_escape(const std::string& s) {
    std::string r;
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') {
            r += '\\';
            r += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", ch);
            r += b;
        } else {
            r += ch;
        }
    }
    return r;
}

void print_json(const Config& cfg, const RunResult& r, const Figures& f) {
    const Stats& all = r.all;
    std::string j = "{";
    char b[2048];
    auto add = [&](const char* fmt, auto... v) {
        std::snprintf(b, sizeof b, fmt, v...);
        j += b;
    };
    add("\"mode\":\"%s\",\"host\":\"%s\",\"port\":%u,\"path\":\"%s\"", mode_name(cfg.mode),
        cfg.host.c_str(), unsigned{cfg.port}, json_escape(cfg.path).c_str());
    add(",\"connections\":%u,\"opened\":%u,\"connect_s\":%.3f,\"threads\":%u", r.total,
        r.opened_at_start, r.connect_s, r.threads);
    add(",\"size\":%llu,\"opcode\":\"%s\",\"pipeline\":%u,\"window\":%u,\"rate\":%.0f",
        static_cast<unsigned long long>(cfg.size), cfg.text ? "text" : "binary", cfg.pipeline,
        cfg.window, cfg.rate);
    add(",\"warmup_s\":%.3f,\"duration_s\":%.3f", cfg.warmup, r.window);
    add(",\"msgs\":%llu,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"sent_per_s\":%.1f",
        static_cast<unsigned long long>(all.msgs_rx), f.msgs_per_s, f.mb_per_s, f.sent_per_s);
    add(",\"wire_rx_mb_per_s\":%.3f,\"wire_tx_mb_per_s\":%.3f",
        static_cast<double>(all.wire_rx) * f.per_s / 1e6,
        static_cast<double>(all.wire_tx) * f.per_s / 1e6);
    add(",\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,", us(all.lat.percentile(0.50)),
        us(all.lat.percentile(0.90)), us(all.lat.percentile(0.99)));
    if (is_hub_mode(cfg.mode)) add("\"p999\":%.1f,", us(all.lat.percentile(0.999)));
    add("\"max\":%.1f,\"mean\":%.1f,\"n\":%llu}", us(all.lat.max()), all.lat.mean() / 1e3,
        static_cast<unsigned long long>(all.lat.count()));
    if (cfg.mode == Mode::Broadcast)
        add(",\"sender_self\":{\"msgs\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f}",
            static_cast<unsigned long long>(all.self_rx), us(all.self_lat.percentile(0.5)),
            us(all.self_lat.percentile(0.99)));
    if (is_hub_mode(cfg.mode)) {
        add(",\"namespace\":\"%s\",\"channels\":%u,\"publishers\":%u,\"subscribers\":%u",
            json_escape(cfg.ns).c_str(), cfg.channels, publisher_count(cfg),
            cfg.mode == Mode::Hub ? cfg.connections : 0);
        add(",\"acked\":%llu,\"acked_per_s\":%.1f", static_cast<unsigned long long>(all.acks),
            f.acked_per_s);
        if (cfg.mode == Mode::Hub) {
            add(",\"subs_per_conn\":%u,\"subscriptions\":%llu", cfg.subs_per_conn,
                static_cast<unsigned long long>(subscriptions(cfg)));
            const SubRange sr = subscribers_per_channel(cfg);
            add(",\"sub_layout\":\"%s\",\"subscribers_per_channel\":{\"min\":%llu,\"max\":%llu}",
                cfg.packed ? "packed" : "spread", static_cast<unsigned long long>(sr.lo),
                static_cast<unsigned long long>(sr.hi));
            add(",\"pushes\":\"%s\"", cfg.binary_pubs ? "binary" : "json");
            add(",\"deliveries_per_s\":%.1f", f.msgs_per_s);
        }
        add(",\"ack_latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,"
            "\"max\":%.1f,\"n\":%llu}",
            us(all.ack_lat.percentile(0.50)), us(all.ack_lat.percentile(0.90)),
            us(all.ack_lat.percentile(0.99)), us(all.ack_lat.percentile(0.999)),
            us(all.ack_lat.max()), static_cast<unsigned long long>(all.ack_lat.count()));
        add(",\"order_violations\":%llu,\"order_gaps\":%llu,\"order_backwards\":%llu,"
            "\"undelivered\":%llu,\"publish_errors\":%llu,\"setup_failed\":%llu,"
            "\"reordered\":%llu,\"ack_offset_errors\":%llu",
            static_cast<unsigned long long>(all.order_violations),
            static_cast<unsigned long long>(all.order_gaps),
            static_cast<unsigned long long>(all.order_backwards),
            static_cast<unsigned long long>(all.undelivered),
            static_cast<unsigned long long>(all.publish_errors),
            static_cast<unsigned long long>(all.setup_failed),
            static_cast<unsigned long long>(all.reordered),
            static_cast<unsigned long long>(all.ack_offset_errors));
        if (cfg.mode == Mode::Hub)
            add(",\"completeness_checked\":%s", r.finals_checked ? "true" : "false");
        j += ",\"violation\":\"" + json_escape(r.first_violation) + "\"";
        j += ",\"ack_offsets\":\"" + json_escape(r.first_ack_offsets) + "\"";
    }
    add(",\"loadgen_cpu_s\":%.3f", r.loadgen_cpu);
    if (f.have_server) {
        add(",\"server_cpu_s\":%.3f,\"msgs_per_server_cpu_s\":%.1f", f.server_cpu,
            f.msgs_per_server_cpu);
        if (cfg.mode == Mode::Hub)
            add(",\"deliveries_per_server_cpu_s\":%.1f", f.msgs_per_server_cpu);
        else if (cfg.mode == Mode::Durable)
            add(",\"acked_per_server_cpu_s\":%.1f", f.msgs_per_server_cpu);
    }
    if (r.s1.rss_kb >= 0)
        add(",\"server_rss_kb\":%ld,\"server_rss_anon_kb\":%ld,\"server_threads\":%ld", r.s1.rss_kb,
            r.s1.rss_anon_kb, r.s1.threads);
    if (f.have_mem)
        add(",\"server_rss_before_kb\":%ld,\"server_rss_anon_before_kb\":%ld,"
            "\"rss_bytes_per_conn\":%.0f,\"rss_anon_bytes_per_conn\":%.0f",
            r.before_connect.rss_kb, r.before_connect.rss_anon_kb, f.rss_per_conn, f.anon_per_conn);
    if (r.after_close.rss_kb >= 0) add(",\"server_rss_after_close_kb\":%ld", r.after_close.rss_kb);
    add(",\"errors\":%llu,\"mismatches\":%llu,\"seq_errors\":%llu,\"gaps\":%llu,"
        "\"duplicates\":%llu,\"unexpected\":%llu",
        static_cast<unsigned long long>(f.errors), static_cast<unsigned long long>(all.mismatches),
        static_cast<unsigned long long>(all.seq_errors), static_cast<unsigned long long>(all.gaps),
        static_cast<unsigned long long>(all.duplicates),
        static_cast<unsigned long long>(all.unexpected));
    add(",\"server_closes\":%llu,\"dropped\":%llu,\"connect_failed\":%llu,"
        "\"handshake_failed\":%llu,\"close_timeouts\":%llu,\"eof_without_close\":%llu,"
        "\"pings\":%llu,\"drain_timed_out\":%s,\"aborted\":%s,\"interrupted\":%s",
        static_cast<unsigned long long>(all.server_closes),
        static_cast<unsigned long long>(all.dropped),
        static_cast<unsigned long long>(all.connect_failed),
        static_cast<unsigned long long>(all.handshake_failed),
        static_cast<unsigned long long>(all.close_timeouts),
        static_cast<unsigned long long>(all.eof_without_close),
        static_cast<unsigned long long>(all.pings), r.drain_timed_out ? "true" : "false",
        r.aborted ? "true" : "false", g_interrupted ? "true" : "false");
    j += ",\"error\":\"" + json_escape(r.first_error.empty() ? r.first_failure : r.first_error) +
         "\"}";
    std::puts(j.c_str());
}

void print_text(const Config& cfg, const RunResult& r, const Figures& f) {
    const Stats& all = r.all;
    std::printf("wsload %s ws://%s:%u%s  %s, %u thread%s\n", mode_name(cfg.mode), cfg.host.c_str(),
                unsigned{cfg.port}, cfg.path.c_str(), cfg.text ? "text" : "binary", r.threads,
                r.threads == 1 ? "" : "s");
    const std::string rate_text =
        cfg.rate > 0 ? std::to_string(static_cast<uint64_t>(cfg.rate)) + "/s" : "unlimited";
    if (cfg.mode == Mode::Echo)
        std::printf("  load         %u connections, %llu-byte messages, pipeline %u\n", r.total,
                    static_cast<unsigned long long>(cfg.size), cfg.pipeline);
    else if (cfg.mode == Mode::Broadcast)
        std::printf("  load         1 sender + %u receivers, %llu-byte messages, window %u, "
                    "rate %s\n",
                    cfg.connections, static_cast<unsigned long long>(cfg.size), cfg.window,
                    rate_text.c_str());
    else if (cfg.mode == Mode::Hub) {
        std::printf("  load         1 publisher + %u subscribers, %u channel%s (%s:0..%u), "
                    "%llu-byte data, window %u, rate %s\n",
                    cfg.connections, cfg.channels, cfg.channels == 1 ? "" : "s", cfg.ns.c_str(),
                    cfg.channels - 1, static_cast<unsigned long long>(cfg.size), cfg.window,
                    rate_text.c_str());
        const SubRange sr = subscribers_per_channel(cfg);
        const uint64_t lo = sr.lo, hi = sr.hi;
        std::printf("  fan-out      %llu subscriptions (%u per connection, %s), ",
                    static_cast<unsigned long long>(subscriptions(cfg)), cfg.subs_per_conn,
                    cfg.packed ? "packed" : "spread");
        if (lo == hi)
            std::printf("%llu subscribers on each channel\n", static_cast<unsigned long long>(hi));
        else
            std::printf("%llu to %llu subscribers per channel\n",
                        static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
    }
    else if (cfg.mode == Mode::Durable)
        std::printf("  load         %u publishers, %u channel%s (%s:0..%u), %llu-byte data, "
                    "window %u each, rate %s in all\n",
                    cfg.connections, cfg.channels, cfg.channels == 1 ? "" : "s", cfg.ns.c_str(),
                    cfg.channels - 1, static_cast<unsigned long long>(cfg.size), cfg.window,
                    rate_text.c_str());
    else
        std::printf("  load         %u idle connections\n", r.total);
    std::printf("  connected    %u/%u in %.3f s (%.0f/s)\n", r.opened_at_start, r.total,
                r.connect_s, r.connect_s > 0 ? r.opened_at_start / r.connect_s : 0.0);
    if (r.measured) {
        std::printf("  window       %.2f s after %.2f s warm-up\n", r.window, cfg.warmup);
        if (cfg.mode == Mode::Echo) {
            std::printf("  echoes       %llu (%.0f msg/s), payload %.2f MB/s each way\n",
                        static_cast<unsigned long long>(all.msgs_rx), f.msgs_per_s, f.mb_per_s);
        } else if (cfg.mode == Mode::Broadcast) {
            std::printf("  sent         %llu (%.0f msg/s)\n",
                        static_cast<unsigned long long>(all.msgs_tx), f.sent_per_s);
            std::printf("  delivered    %llu to receivers (%.0f msg/s, %.2f MB/s payload)\n",
                        static_cast<unsigned long long>(all.msgs_rx), f.msgs_per_s, f.mb_per_s);
        } else if (is_hub_mode(cfg.mode)) {
            std::printf("  published    %llu sent, %llu acknowledged (%.0f/s)\n",
                        static_cast<unsigned long long>(all.msgs_tx),
                        static_cast<unsigned long long>(all.acks), f.acked_per_s);
            std::printf("  ack us       p50 %.1f  p90 %.1f  p99 %.1f  p999 %.1f  max %.1f  "
                        "(publish sent -> reply)\n",
                        us(all.ack_lat.percentile(0.50)), us(all.ack_lat.percentile(0.90)),
                        us(all.ack_lat.percentile(0.99)), us(all.ack_lat.percentile(0.999)),
                        us(all.ack_lat.max()));
        }
        if (cfg.mode == Mode::Hub) {
            std::printf("  delivered    %llu to subscribers (%.0f/s, %.2f MB/s of data)\n",
                        static_cast<unsigned long long>(all.msgs_rx), f.msgs_per_s, f.mb_per_s);
            std::printf("  latency us   p50 %.1f  p90 %.1f  p99 %.1f  p999 %.1f  max %.1f  "
                        "(publish sent -> pub received, n=%llu)\n",
                        us(all.lat.percentile(0.50)), us(all.lat.percentile(0.90)),
                        us(all.lat.percentile(0.99)), us(all.lat.percentile(0.999)),
                        us(all.lat.max()), static_cast<unsigned long long>(all.lat.count()));
        }
        if (is_hub_mode(cfg.mode)) {
            std::printf("  wire         rx %.2f MB/s  tx %.2f MB/s\n",
                        static_cast<double>(all.wire_rx) * f.per_s / 1e6,
                        static_cast<double>(all.wire_tx) * f.per_s / 1e6);
        } else if (cfg.mode != Mode::Idle) {
            std::printf("  latency us   p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%llu)\n",
                        us(all.lat.percentile(0.50)), us(all.lat.percentile(0.90)),
                        us(all.lat.percentile(0.99)), us(all.lat.max()),
                        static_cast<unsigned long long>(all.lat.count()));
            if (cfg.mode == Mode::Broadcast)
                std::printf("  sender self  p50 %.1f  p99 %.1f us (its own copy, the flow "
                            "control)\n",
                            us(all.self_lat.percentile(0.5)), us(all.self_lat.percentile(0.99)));
            std::printf("  wire         rx %.2f MB/s  tx %.2f MB/s\n",
                        static_cast<double>(all.wire_rx) * f.per_s / 1e6,
                        static_cast<double>(all.wire_tx) * f.per_s / 1e6);
        }
        std::printf("  wsload CPU   %.2f s (%.0f%% of one core)\n", r.loadgen_cpu,
                    r.window > 0 ? 100.0 * r.loadgen_cpu / r.window : 0.0);
        if (f.have_server) {
            std::printf("  server CPU   %.2f s (%.0f%% of one core)", f.server_cpu,
                        r.window > 0 ? 100.0 * f.server_cpu / r.window : 0.0);
            if (cfg.mode == Mode::Hub)
                std::printf(", %.0f deliveries per server CPU-second", f.msgs_per_server_cpu);
            else if (cfg.mode == Mode::Durable)
                std::printf(", %.0f acknowledged publishes per server CPU-second",
                            f.msgs_per_server_cpu);
            else if (cfg.mode != Mode::Idle)
                std::printf(", %.0f msg per server CPU-second", f.msgs_per_server_cpu);
            std::printf("\n");
        }
    }
    if (f.have_mem) {
        std::printf("  server RSS   before %ld kB, held %ld kB, after close %ld kB\n",
                    r.before_connect.rss_kb, r.s1.rss_kb, r.after_close.rss_kb);
        std::printf("  RssAnon      before %ld kB, held %ld kB, after close %ld kB\n",
                    r.before_connect.rss_anon_kb, r.s1.rss_anon_kb, r.after_close.rss_anon_kb);
        std::printf("  per conn     %.0f bytes RSS, %.0f bytes RssAnon\n", f.rss_per_conn,
                    f.anon_per_conn);
    } else if (r.s1.rss_kb >= 0) {
        std::printf("  server RSS   %ld kB (anon %ld kB), %ld threads\n", r.s1.rss_kb,
                    r.s1.rss_anon_kb, r.s1.threads);
    }
    if (cfg.mode == Mode::Hub && (r.measured || all.order_violations || all.undelivered)) {
        if (all.order_violations == 0 && all.undelivered == 0)
            std::printf("  order        ok: every pub had offset previous + 1 on its channel%s\n",
                        r.finals_checked ? ", and every subscriber got every acknowledged one"
                                         : " (completeness not checked: the publisher never "
                                           "drained)");
        else
            std::printf("  order        FAIL: %llu violations (%llu gaps, %llu backwards), %llu "
                        "offsets never delivered\n",
                        static_cast<unsigned long long>(all.order_violations),
                        static_cast<unsigned long long>(all.order_gaps),
                        static_cast<unsigned long long>(all.order_backwards),
                        static_cast<unsigned long long>(all.undelivered));
        if (!r.first_violation.empty())
            std::printf("  first violation: %s\n", r.first_violation.c_str());
    }
    if (is_hub_mode(cfg.mode) && r.measured && all.ack_offset_errors == 0 &&
        !all.ack_ranges.empty())
        std::printf("  ack offsets  ok: consecutive on every channel\n");
    if (is_hub_mode(cfg.mode) && all.ack_offset_errors)
        std::printf("  ack offsets  FAIL: %llu offsets missing or given twice; first: %s\n",
                    static_cast<unsigned long long>(all.ack_offset_errors),
                    r.first_ack_offsets.c_str());
    if (is_hub_mode(cfg.mode) && (all.publish_errors || all.setup_failed || all.reordered))
        std::printf("  hub          publish errors %llu, set-up failures %llu, publisher order "
                    "reversed %llu\n",
                    static_cast<unsigned long long>(all.publish_errors),
                    static_cast<unsigned long long>(all.setup_failed),
                    static_cast<unsigned long long>(all.reordered));
    std::printf("  errors       %llu", static_cast<unsigned long long>(f.errors));
    if (f.errors)
        std::printf(" (mismatch %llu, seq %llu, gaps %llu, dup %llu, unexpected %llu, "
                    "server closes %llu, dropped %llu, connect %llu, handshake %llu)",
                    static_cast<unsigned long long>(all.mismatches),
                    static_cast<unsigned long long>(all.seq_errors),
                    static_cast<unsigned long long>(all.gaps),
                    static_cast<unsigned long long>(all.duplicates),
                    static_cast<unsigned long long>(all.unexpected),
                    static_cast<unsigned long long>(all.server_closes),
                    static_cast<unsigned long long>(all.dropped),
                    static_cast<unsigned long long>(all.connect_failed),
                    static_cast<unsigned long long>(all.handshake_failed));
    std::printf("\n");
    if (all.close_timeouts || all.eof_without_close || r.drain_timed_out || all.pings ||
        all.out_growths)
        std::printf("  notes        close timeouts %llu, EOF without close frame %llu, "
                    "drain timed out %s, pings %llu, buffer growths %llu\n",
                    static_cast<unsigned long long>(all.close_timeouts),
                    static_cast<unsigned long long>(all.eof_without_close),
                    r.drain_timed_out ? "yes" : "no", static_cast<unsigned long long>(all.pings),
                    static_cast<unsigned long long>(all.out_growths));
    if (!r.first_failure.empty()) std::printf("  first failure: %s\n", r.first_failure.c_str());
    if (g_interrupted) std::printf("  interrupted: the window was cut short\n");
    if (r.aborted) std::printf("  ABORTED: %s\n", r.first_error.c_str());
}

} // namespace

void print_report(const Config& cfg, const RunResult& r) {
    const Figures f = derive(cfg, r);
    if (cfg.json)
        print_json(cfg, r, f);
    else
        print_text(cfg, r, f);
    // The hub benchmark doubles as an ordering test: a violation must not pass unnoticed in a
    // script that only keeps the numbers.
    if (cfg.mode == Mode::Hub && (r.all.order_violations || r.all.undelivered))
        std::fprintf(stderr,
                     "wsload: FAIL: %llu order violations, %llu offsets never delivered%s%s\n",
                     static_cast<unsigned long long>(r.all.order_violations),
                     static_cast<unsigned long long>(r.all.undelivered),
                     r.first_violation.empty() ? "" : "; first: ", r.first_violation.c_str());
}

} // namespace wsload
