#include "stats.hpp"

namespace wsload {

void Stats::merge(const Stats& s) {
    msgs_rx += s.msgs_rx;
    payload_rx += s.payload_rx;
    msgs_tx += s.msgs_tx;
    wire_rx += s.wire_rx;
    wire_tx += s.wire_tx;
    self_rx += s.self_rx;
    mismatches += s.mismatches;
    seq_errors += s.seq_errors;
    gaps += s.gaps;
    duplicates += s.duplicates;
    unexpected += s.unexpected;
    server_closes += s.server_closes;
    dropped += s.dropped;
    eof_without_close += s.eof_without_close;
    close_timeouts += s.close_timeouts;
    connect_failed += s.connect_failed;
    handshake_failed += s.handshake_failed;
    pings += s.pings;
    out_growths += s.out_growths;
    if (s.last_close_code) last_close_code = s.last_close_code;
    lat.merge(s.lat);
    self_lat.merge(s.self_lat);
}

uint64_t Stats::errors() const {
    return mismatches + seq_errors + gaps + duplicates + unexpected + server_closes + dropped +
           connect_failed + handshake_failed;
}

} // namespace wsload
