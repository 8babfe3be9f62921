#include "app/stats.hpp"

#include "app/server.hpp"

#include <functional>

namespace switchboard::app {

namespace {
void metric(std::string& out, const char* name, const char* type, const char* help, std::uint64_t value,
            const char* labels = nullptr) {
    if (type) {
        out += "# HELP ";
        out += name;
        out += ' ';
        out += help;
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += type;
        out += '\n';
    }
    out += name;
    if (labels) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}
} // namespace

std::string render_metrics(const std::vector<LoopContext*>& loops) {
    auto sum_net = [&](Counter net::LoopStats::*f) {
        std::uint64_t n = 0;
        for (auto* l : loops) n += (l->loop_.stats().*f).get();
        return n;
    };
    auto sum = [&](Counter AppStats::*f) {
        std::uint64_t n = 0;
        for (auto* l : loops) n += (l->stats.*f).get();
        return n;
    };
    std::string o;
    o.reserve(4096);
    metric(o, "switchboard_connections", "gauge", "Open TCP connections (HTTP and WebSocket).", sum_net(&net::LoopStats::connections_open));
    metric(o, "switchboard_connections_accepted_total", "counter", "Accepted TCP connections.", sum_net(&net::LoopStats::connections_total));
    metric(o, "switchboard_websocket_connections", "gauge", "Open WebSocket connections.", sum(&AppStats::ws_open));
    metric(o, "switchboard_websocket_upgrades_total", "counter", "Completed WebSocket handshakes.", sum(&AppStats::ws_total));
    metric(o, "switchboard_http_requests_total", "counter", "HTTP requests parsed.", sum(&AppStats::http_requests));
    metric(o, "switchboard_messages_in_total", "counter", "WebSocket messages received.", sum(&AppStats::messages_in));
    metric(o, "switchboard_messages_out_total", "counter", "WebSocket messages sent.", sum(&AppStats::messages_out));
    metric(o, "switchboard_message_bytes_in_total", "counter", "WebSocket payload bytes received.", sum(&AppStats::message_bytes_in));
    metric(o, "switchboard_message_bytes_out_total", "counter", "WebSocket payload bytes sent (before compression).", sum(&AppStats::message_bytes_out));
    metric(o, "switchboard_bytes_in_total", "counter", "Bytes read from sockets.", sum_net(&net::LoopStats::bytes_in));
    metric(o, "switchboard_bytes_out_total", "counter", "Bytes written to sockets.", sum_net(&net::LoopStats::bytes_out));
    metric(o, "switchboard_write_calls_total", "counter", "write/writev system calls (coalescing shows as bytes per call).", sum_net(&net::LoopStats::write_calls));
    auto sum_hub = [&](Counter hub::Shard::Stats::*f) {
        std::uint64_t n = 0;
        for (auto* l : loops) n += (l->shard->stats.*f).get();
        return n;
    };
    metric(o, "switchboard_hub_clients", "gauge", "Connections on the messaging hub endpoint.", sum_hub(&hub::Shard::Stats::clients));
    metric(o, "switchboard_hub_channels", "gauge", "Channels with state in memory (owned by some loop).", sum_hub(&hub::Shard::Stats::channels));
    metric(o, "switchboard_hub_publications_total", "counter", "Publications given an offset (durable ones once committed).", sum_hub(&hub::Shard::Stats::publications));
    metric(o, "switchboard_hub_deliveries_total", "counter", "Publications, joins and leaves written to subscribers.", sum_hub(&hub::Shard::Stats::deliveries));
    metric(o, "switchboard_hub_commit_failures_total", "counter", "Durable publications whose commit failed (answered with an error).", sum_hub(&hub::Shard::Stats::commit_failures));
    auto sum_turn = [&](Counter turn::Stats::*f) {
        std::uint64_t n = 0;
        for (auto* l : loops)
            if (l->turn) n += (l->turn->stats().*f).get();
        return n;
    };
    metric(o, "switchboard_turn_allocations", "gauge", "TURN allocations open.", sum_turn(&turn::Stats::allocations));
    metric(o, "switchboard_turn_allocations_total", "counter", "TURN allocations made.", sum_turn(&turn::Stats::allocations_total));
    metric(o, "switchboard_stun_bindings_total", "counter", "STUN Binding requests answered.", sum_turn(&turn::Stats::bindings));
    const char* pname = "switchboard_turn_relayed_packets_total";
    metric(o, pname, "counter", "Packets relayed, by direction.", sum_turn(&turn::Stats::packets_to_peer), "direction=\"to_peer\"");
    metric(o, pname, nullptr, nullptr, sum_turn(&turn::Stats::packets_to_client), "direction=\"to_client\"");
    const char* bname = "switchboard_turn_relayed_bytes_total";
    metric(o, bname, "counter", "Application bytes relayed, by direction.", sum_turn(&turn::Stats::bytes_to_peer), "direction=\"to_peer\"");
    metric(o, bname, nullptr, nullptr, sum_turn(&turn::Stats::bytes_to_client), "direction=\"to_client\"");
    const char* dname = "switchboard_turn_dropped_total";
    metric(o, dname, "counter", "Relayed packets dropped, by reason.", sum_turn(&turn::Stats::dropped_no_permission), "reason=\"no_permission\"");
    metric(o, dname, nullptr, nullptr, sum_turn(&turn::Stats::dropped_bandwidth), "reason=\"bandwidth\"");
    std::uint64_t udp_dropped_in = 0, udp_dropped_out = 0;
    for (auto* l : loops)
        if (l->turn) {
            udp_dropped_in += l->turn->udp_stats().dropped_in.get();
            udp_dropped_out += l->turn->udp_stats().dropped_out.get();
        }
    metric(o, dname, nullptr, nullptr, udp_dropped_in, "reason=\"too_large\"");
    metric(o, dname, nullptr, nullptr, udp_dropped_out, "reason=\"send_failed\"");
    const char* aname = "switchboard_turn_refused_total";
    metric(o, aname, "counter", "STUN/TURN requests refused before authentication, by reason.", sum_turn(&turn::Stats::auth_failures), "reason=\"bad_credentials\"");
    metric(o, aname, nullptr, nullptr, sum_turn(&turn::Stats::stale_nonces), "reason=\"stale_nonce\"");
    metric(o, aname, nullptr, nullptr, sum_turn(&turn::Stats::rate_limited), "reason=\"rate_limited\"");
    metric(o, "switchboard_turn_error_answers_total", "counter", "STUN/TURN error responses sent.", sum_turn(&turn::Stats::errors_sent));
    const char* deny = "switchboard_turn_peer_denied_total";
    for (std::size_t d = 1; d < static_cast<std::size_t>(turn::Denial::Count); ++d) {
        std::uint64_t n = 0;
        for (auto* l : loops)
            if (l->turn) n += l->turn->stats().denied[d].get();
        std::string label = "reason=\"" + std::string(turn::to_string(static_cast<turn::Denial>(d))) + "\"";
        metric(o, deny, d == 1 ? "counter" : nullptr, d == 1 ? "Peers TURN refused to relay to (403), by the rule that denied them." : nullptr, n, label.c_str());
    }
    const char* ename = "switchboard_errors_total";
    metric(o, ename, "counter", "Errors by kind.", sum(&AppStats::http_4xx), "kind=\"http_4xx\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::http_5xx), "kind=\"http_5xx\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::ws_handshake_rejected), "kind=\"ws_handshake_rejected\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::ws_protocol_error), "kind=\"ws_protocol_error\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::ws_invalid_payload), "kind=\"ws_invalid_payload\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::ws_too_big), "kind=\"ws_message_too_big\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::ws_slow_consumer), "kind=\"ws_slow_consumer\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::ws_idle_timeout), "kind=\"ws_idle_timeout\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::ws_close_timeout), "kind=\"ws_close_timeout\"");
    metric(o, ename, nullptr, nullptr, sum(&AppStats::tls_failed), "kind=\"tls_handshake_failed\"");
    o += "# HELP switchboard_loop_lag_seconds How late the loop ran its last timer (work waiting for the loop).\n"
         "# TYPE switchboard_loop_lag_seconds gauge\n";
    for (auto* l : loops) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "switchboard_loop_lag_seconds{loop=\"%u\"} %.6f\n", l->loop_.index(),
                      static_cast<double>(l->loop_.stats().lag_last_us.get()) / 1e6);
        o += buf;
    }
    o += "# HELP switchboard_loop_lag_max_seconds Largest loop lag seen since start.\n"
         "# TYPE switchboard_loop_lag_max_seconds gauge\n";
    for (auto* l : loops) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "switchboard_loop_lag_max_seconds{loop=\"%u\"} %.6f\n", l->loop_.index(),
                      static_cast<double>(l->loop_.stats().lag_max_us.get()) / 1e6);
        o += buf;
    }
    return o;
}

} // namespace switchboard::app
