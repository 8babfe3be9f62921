// Traffic per role: echo connections keep --pipeline messages in flight, the broadcast sender is
// paced by its window and --rate, receivers check sequence numbers. All sends are memcpys of a
// pre-masked template with the fields stamped in.
#include "worker.hpp"

#include "mono_clock.hpp"

#include <algorithm>
#include <cstring>

namespace wsload {

void Worker::on_open(Conn& c) {
    if (c.role == Role::Sender) ctl_.sender_open.store(true, std::memory_order_release);
    if (c.role == Role::Echo) {
        c.ring.assign(cfg_.pipeline, 0);
        if (sending_allowed())
            for (uint32_t i = 0; i < cfg_.pipeline; ++i) queue_echo(c);
    }
}

void Worker::on_message(Conn& c, uint8_t opcode, uint64_t len) {
    const RxState& rx = c.rx;
    if (c.state != ConnState::Open) return; // after our close: drain silently
    switch (c.role) {
    case Role::Echo: {
        if (c.recv_seq >= c.send_seq) {
            ++stats.unexpected;
            return;
        }
        if (opcode != opcode_ || len != cfg_.size) {
            ++stats.mismatches;
        } else if (has_seq_) {
            uint64_t seq = 0;
            if (!get_field(rx.field.data(), cfg_.text, seq) || seq != c.recv_seq)
                ++stats.seq_errors;
        }
        const uint64_t sent_at = c.ring[c.recv_seq % c.ring.size()];
        ++c.recv_seq;
        if (measuring_) {
            ++stats.msgs_rx;
            stats.payload_rx += len;
            stats.lat.record(now_ > sent_at ? now_ - sent_at : 0);
        }
        if (sending_allowed()) queue_echo(c);
        return;
    }
    case Role::Sender:
    case Role::Receiver: {
        uint64_t ts = 0, seq = 0;
        if (opcode != opcode_ || len != cfg_.size || rx.field_have < 2 * field_width_ ||
            !get_field(rx.field.data(), cfg_.text, ts) ||
            !get_field(rx.field.data() + field_width_, cfg_.text, seq)) {
            ++stats.mismatches;
            return;
        }
        const uint64_t lat = now_ > ts ? now_ - ts : 0;
        if (c.role == Role::Sender) {
            // The sender's own copy is its flow control: in flight = sent - received back.
            if (seq != c.recv_seq) ++stats.seq_errors;
            c.recv_seq = std::max(c.recv_seq, seq + 1);
            if (measuring_) {
                ++stats.self_rx;
                stats.self_lat.record(lat);
            }
            return;
        }
        // Receivers were all open before the first send, so sequence starts at 0.
        if (seq > c.recv_seq)
            stats.gaps += seq - c.recv_seq;
        else if (seq < c.recv_seq)
            ++stats.duplicates;
        c.recv_seq = std::max(c.recv_seq, seq + 1);
        if (measuring_) {
            ++stats.msgs_rx;
            stats.payload_rx += len;
            stats.lat.record(lat);
        }
        return;
    }
    case Role::Idle:
        ++stats.unexpected;
        return;
    }
}

void Worker::queue_echo(Conn& c) {
    uint8_t* dst = out_reserve(c, frame_len_);
    std::memcpy(dst, c.frame_tmpl, frame_len_);
    if (has_seq_) put_field_masked(dst + hdr_len_, c.send_seq, cfg_.text, c.mask64);
    c.out.commit(frame_len_);
    ++c.send_seq;
    if (measuring_) ++stats.msgs_tx;
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::queue_broadcast(Conn& c, uint64_t ts) {
    uint8_t* dst = out_reserve(c, frame_len_);
    std::memcpy(dst, c.frame_tmpl, frame_len_);
    put_field_masked(dst + hdr_len_, ts, cfg_.text, c.mask64);
    put_field_masked(dst + hdr_len_ + field_width_, c.send_seq, cfg_.text, c.mask64);
    c.out.commit(frame_len_);
    ++c.send_seq;
    if (measuring_) ++stats.msgs_tx;
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::queue_control(Conn& c, uint8_t opcode, const uint8_t* payload, size_t len) {
    uint8_t* dst = out_reserve(c, 6 + len);
    const size_t h = write_client_header(dst, opcode, len, c.mask);
    if (len) std::memcpy(dst + h, payload, len);
    mask_payload(dst + h, len, c.mask64);
    c.out.commit(h + len);
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::pump_sender() {
    if (sender_ < 0) return;
    Conn& c = conns_[static_cast<size_t>(sender_)];
    if (c.state != ConnState::Open || (phase_ != Phase::Warmup && phase_ != Phase::Measure)) return;
    const uint64_t in_flight = c.send_seq - c.recv_seq;
    if (in_flight >= cfg_.window) return;
    uint64_t n = cfg_.window - in_flight;
    const uint64_t now = mono_ns();
    if (cfg_.rate > 0) {
        const auto due = static_cast<uint64_t>(static_cast<double>(now - rate_start_) * cfg_.rate /
                                               static_cast<double>(kNsPerSec));
        // Do not bank credit while the window is shut: a backlog would go out as a burst.
        if (due > rate_sent_ + cfg_.window) rate_sent_ = due - cfg_.window;
        n = std::min(n, due - rate_sent_);
        rate_sent_ += n;
    }
    for (uint64_t i = 0; i < n; ++i) queue_broadcast(c, now);
}

} // namespace wsload
