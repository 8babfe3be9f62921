#include "stats.hpp"

#include <algorithm>

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
    acks += s.acks;
    order_violations += s.order_violations;
    order_gaps += s.order_gaps;
    order_backwards += s.order_backwards;
    publish_errors += s.publish_errors;
    setup_failed += s.setup_failed;
    undelivered += s.undelivered;
    reordered += s.reordered;
    ack_offset_errors += s.ack_offset_errors;
    if (ack_ranges.empty()) {
        ack_ranges = s.ack_ranges;
    } else if (s.ack_ranges.size() == ack_ranges.size()) {
        for (size_t i = 0; i < ack_ranges.size(); ++i) {
            AckRange& a = ack_ranges[i];
            const AckRange& b = s.ack_ranges[i];
            a.lo = std::min(a.lo, b.lo);
            a.hi = std::max(a.hi, b.hi);
            a.count += b.count;
            a.sum += b.sum;
        }
    }
    if (s.last_close_code) last_close_code = s.last_close_code;
    lat.merge(s.lat);
    self_lat.merge(s.self_lat);
    ack_lat.merge(s.ack_lat);
}

uint64_t Stats::errors() const {
    return mismatches + seq_errors + gaps + duplicates + unexpected + server_closes + dropped +
           connect_failed + handshake_failed + order_violations + publish_errors + setup_failed +
           undelivered + ack_offset_errors;
}

} // namespace wsload
