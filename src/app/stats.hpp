#pragma once
// Application counters, one set per loop (single writer), summed when /metrics is scraped.
#include "net/loop.hpp"

#include <string>
#include <vector>

namespace switchboard::app {

using net::Counter;

struct AppStats {
    Counter http_requests;
    Counter ws_open;        // gauge
    Counter ws_total;
    Counter messages_in, messages_out;
    Counter message_bytes_in, message_bytes_out;
    // Errors by kind.
    Counter http_4xx, http_5xx;
    Counter ws_handshake_rejected;
    Counter ws_protocol_error, ws_invalid_payload, ws_too_big;
    Counter ws_slow_consumer, ws_idle_timeout, ws_close_timeout;
    Counter tls_failed;
};

struct LoopContext;
/// Renders Prometheus text exposition (version 0.0.4) over all loops.
std::string render_metrics(const std::vector<LoopContext*>& loops);

} // namespace switchboard::app
