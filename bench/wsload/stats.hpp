#pragma once
// Per-worker counters and their merge.
#include "histogram.hpp"

#include <cstdint>
#include <vector>

namespace wsload {

// Hub modes: the offsets acknowledged on one channel during the whole run. When this run is the
// only publisher, they must be exactly lo..hi, each once: count == hi - lo + 1, and their sum
// (mod 2^64) is that of lo..hi, which also catches a repeated offset paired with a missing one.
struct AckRange {
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0;
    uint64_t count = 0;
    uint64_t sum = 0;
};

// Counters are per worker and plain (one writer); the main thread reads them after join().
// "Window" counters only count while the phase is Measure.
struct Stats {
    uint64_t msgs_rx = 0;       // window: echoes (echo), deliveries to receivers (broadcast,
                                // hub) or acknowledged publishes (durable)
    uint64_t payload_rx = 0;    // window
    uint64_t msgs_tx = 0;       // window
    uint64_t wire_rx = 0;       // window: bytes read from sockets
    uint64_t wire_tx = 0;       // window: bytes written to sockets
    uint64_t self_rx = 0;       // window: broadcast sender's receipts of its own messages
    uint64_t mismatches = 0;    // wrong opcode or length
    uint64_t seq_errors = 0;    // echo order or content broken
    uint64_t gaps = 0;          // broadcast: messages a receiver never got
    uint64_t duplicates = 0;    // broadcast: sequence went backwards
    uint64_t unexpected = 0;    // data messages nobody asked for
    uint64_t server_closes = 0; // close frames the server sent before we asked
    uint64_t dropped = 0;       // TCP EOF or reset while open
    uint64_t eof_without_close = 0;
    uint64_t close_timeouts = 0;
    uint64_t connect_failed = 0;
    uint64_t handshake_failed = 0;
    uint64_t pings = 0;
    uint64_t out_growths = 0;
    // Hub modes.
    uint64_t acks = 0;                // window: publishes acknowledged with a result
    uint64_t order_violations = 0;    // a pub whose offset is not the previous one + 1
    uint64_t order_gaps = 0;          //   of which skipped ahead (offsets missing)
    uint64_t order_backwards = 0;     //   of which repeated or went back
    uint64_t publish_errors = 0;      // publishes answered with an error
    uint64_t setup_failed = 0;        // connections lost or refused before connect/subscribe ended
    uint64_t undelivered = 0;         // offsets a subscriber still lacked when the run ended
    uint64_t reordered = 0;           // note: publisher sequence went back within a channel
    uint64_t ack_offset_errors = 0;   // set by run() from ack_ranges after the merge
    std::vector<AckRange> ack_ranges; // per channel, on workers with publishers (else empty)
    uint16_t last_close_code = 0;
    Histogram lat;
    Histogram self_lat;
    Histogram ack_lat; // hub modes: publish sent -> its reply

    // Adds another worker's counters. The last close code is informative only, so any
    // worker's non-zero code will do.
    void merge(const Stats& s);
    // What counts as an error for the exit status (1) and the report's error total. Close
    // timeouts, EOF without a close frame, pings and buffer growths are only notes.
    uint64_t errors() const;
};

} // namespace wsload
