// Traffic per role: echo connections keep --pipeline messages in flight, the broadcast sender is
// paced by its window and --rate, receivers check sequence numbers. All sends are memcpys of a
// pre-masked template with the fields stamped in.
//
// Hub modes speak the client protocol (docs/protocol.md): publishers keep --window publishes
// unanswered, subscribers check that offsets rise by exactly 1 on each of their channels.
// Commands are composed in place in the output buffer and masked there; replies and pushes are
// scanned where they lie in the read buffer (hub_wire.hpp). Nothing is allocated per message.
#include "worker.hpp"

#include "mono_clock.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace wsload {

void Worker::on_open(Conn& c) {
    if (hub_mode_) {
        // docs/protocol.md: connect must be the first command.
        const std::string_view connect =
            cfg_.binary_pubs && c.role == Role::Subscriber ? hub::kConnectBinaryPubs : hub::kConnect;
        queue_text(c, reinterpret_cast<const uint8_t*>(connect.data()), connect.size());
        return;
    }
    if (c.role == Role::Sender) ctl_.sender_open.store(true, std::memory_order_release);
    if (c.role == Role::Echo) {
        c.ring.assign(cfg_.pipeline, 0);
        if (sending_allowed())
            for (uint32_t i = 0; i < cfg_.pipeline; ++i) queue_echo(c);
    }
}

void Worker::on_message(Conn& c, uint8_t opcode, uint64_t len) {
    const RxState& rx = c.rx;
    if (hub_mode_) {
        const hub::Bytes m = direct_.p ? direct_ : hub::Bytes{c.msg.data(), c.msg.size()};
        direct_ = {};
        if (c.state == ConnState::Open) {
            if (m.n != len)
                ++stats.mismatches;
            else if (opcode == kOpText)
                on_hub_message(c, m);
            else if (cfg_.binary_pubs)
                on_hub_pub(c, m, true);
            else
                ++stats.mismatches;
        }
        c.msg.clear(); // keeps its capacity
        return;
    }
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
    case Role::Publisher:
    case Role::Subscriber:
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

namespace wsload {

void Worker::queue_text(Conn& c, const uint8_t* payload, size_t len) {
    const size_t h = client_header_len(len);
    uint8_t* dst = out_reserve(c, h + len);
    write_client_header(dst, kOpText, len, c.mask);
    std::memcpy(dst + h, payload, len);
    mask_payload(dst + h, len, c.mask64);
    c.out.commit(h + len);
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::hub_failure(const char* what, hub::Bytes o) {
    // The first failure of the run is reported; building its text costs an allocation, so
    // each worker builds one at most (a flood of the same failure must not slow the run).
    if (hub_noted_) return;
    hub_noted_ = true;
    std::string s(what);
    s += ": ";
    s.append(reinterpret_cast<const char*>(o.p), std::min<size_t>(o.n, 200));
    if (o.n > 200) s += "...";
    ctl_.note_failure(s);
}

void Worker::on_hub_message(Conn& c, hub::Bytes m) {
    // docs/protocol.md "Frames": one or more JSON objects separated by '\n'.
    const uint8_t* p = m.p;
    const uint8_t* const end = m.p + m.n;
    while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
        const uint8_t* e = nl ? static_cast<const uint8_t*>(nl) : end;
        if (e > p) on_hub_object(c, hub::Bytes{p, static_cast<size_t>(e - p)});
        if (c.state != ConnState::Open) return;
        p = e + 1;
    }
}

void Worker::on_hub_object(Conn& c, hub::Bytes o) {
    switch (hub::classify(o)) {
    case hub::Kind::Pub:
        on_hub_pub(c, o, false);
        return;
    case hub::Kind::Reply: {
        hub::Reply r;
        if (!hub::parse_reply(o, r)) {
            ++stats.mismatches;
            hub_failure("unreadable reply", o);
            return;
        }
        on_hub_reply(c, r, o);
        return;
    }
    case hub::Kind::OtherPush:
        // join/leave are off in the bench namespaces; unsubscribe and disconnect pushes mean
        // the server ended something we are measuring.
        ++stats.unexpected;
        hub_failure("unexpected push", o);
        return;
    case hub::Kind::Garbage:
        ++stats.mismatches;
        hub_failure("neither a reply nor a push", o);
        return;
    }
}

void Worker::on_hub_reply(Conn& c, const hub::Reply& r, hub::Bytes o) {
    HubConn& h = c.hub;
    auto refused = [&](const char* what) {
        // A refused connect or subscribe means the server is not set up for this benchmark
        // (namespace, anonymous access, limits): nothing valid can be measured.
        ++stats.setup_failed;
        ctl_.failed.fetch_add(1, std::memory_order_relaxed);
        std::string why(what);
        why += ": ";
        why.append(reinterpret_cast<const char*>(o.p), std::min<size_t>(o.n, 200));
        ctl_.fail_run(why);
        close_conn(c);
    };
    auto ready = [&] {
        h.stage = HubStage::Ready;
        if (c.role == Role::Publisher) {
            h.slot_sent_at.assign(cfg_.window, 0);
            h.slot_channel.assign(cfg_.window, 0);
            h.free_slots.resize(cfg_.window);
            for (uint32_t i = 0; i < cfg_.window; ++i) h.free_slots[i] = cfg_.window - 1 - i;
            ctl_.sender_open.store(true, std::memory_order_release);
        }
        ctl_.opened.fetch_add(1, std::memory_order_relaxed);
    };
    if (r.id == hub::kConnectId && h.stage == HubStage::WaitConnect) {
        if (!r.ok) return refused("connect refused");
        if (c.role != Role::Subscriber) return ready();
        h.stage = HubStage::WaitSubscribe;
        queue_subscribes(c);
        return;
    }
    if (c.role == Role::Subscriber && h.stage == HubStage::WaitSubscribe &&
        r.id >= hub::kSubscribeId && r.id - hub::kSubscribeId < h.subs.size()) {
        const uint64_t j = r.id - hub::kSubscribeId;
        const uint64_t bit = uint64_t{1} << j;
        if (h.sub_answered & bit) {
            ++stats.unexpected;
            hub_failure("second reply to one subscribe", o);
            return;
        }
        if (!r.ok || !r.has_offset) return refused("subscribe refused");
        // docs/protocol.md "Ordering": the next pub on this channel has offset `offset` + 1.
        h.subs[j].last_offset = r.offset;
        h.sub_answered |= bit;
        const size_t k = h.subs.size();
        const uint64_t all = k >= 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1;
        if (h.sub_answered == all) ready();
        return;
    }
    const uint64_t slot = r.id - hub::kPublishIdBase;
    if (c.role == Role::Publisher && r.id >= hub::kPublishIdBase && slot < h.slot_sent_at.size() &&
        h.slot_sent_at[slot] != 0) {
        const uint64_t lat = now_ > h.slot_sent_at[slot] ? now_ - h.slot_sent_at[slot] : 0;
        const uint32_t ch = h.slot_channel[slot];
        h.slot_sent_at[slot] = 0;
        h.free_slots.push_back(static_cast<uint32_t>(slot));
        --h.in_flight;
        if (!r.ok) {
            ++stats.publish_errors;
            hub_failure("publish answered with an error", o);
            return;
        }
        if (!r.has_offset) {
            ++stats.mismatches;
            hub_failure("publish result without an offset", o);
            return;
        }
        AckRange& a = stats.ack_ranges[ch];
        a.lo = std::min(a.lo, r.offset);
        a.hi = std::max(a.hi, r.offset);
        ++a.count;
        a.sum += r.offset;
        if (measuring_) {
            ++stats.acks;
            stats.ack_lat.record(lat);
            if (cfg_.mode == Mode::Durable) {
                ++stats.msgs_rx;
                stats.payload_rx += cfg_.size;
                stats.lat.record(lat);
            }
        }
        return;
    }
    ++stats.unexpected;
    hub_failure("reply to no command in flight", o);
}

void Worker::queue_subscribes(Conn& c) {
    // All K subscribes in one frame ('\n'-separated, docs/protocol.md "Frames"), ids
    // kSubscribeId + j; composed and masked in place in the output buffer.
    const HubConn& h = c.hub;
    size_t len = h.subs.size() - 1; // the separators
    for (size_t j = 0; j < h.subs.size(); ++j)
        len += hub::subscribe_len(hub::kSubscribeId + j, cfg_.ns, h.subs[j].channel);
    const size_t hl = client_header_len(len);
    uint8_t* dst = out_reserve(c, hl + len);
    write_client_header(dst, kOpText, len, c.mask);
    size_t n = 0;
    for (size_t j = 0; j < h.subs.size(); ++j) {
        if (j) dst[hl + n++] = '\n';
        n += hub::write_subscribe(dst + hl + n, hub::kSubscribeId + j, cfg_.ns, h.subs[j].channel);
    }
    mask_payload(dst + hl, len, c.mask64);
    c.out.commit(hl + len);
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::on_hub_pub(Conn& c, hub::Bytes o, bool binary) {
    HubConn& h = c.hub;
    if (c.role != Role::Subscriber || h.stage == HubStage::WaitConnect) {
        ++stats.unexpected;
        hub_failure("pub push on a connection not subscribed yet", o);
        return;
    }
    hub::Pub pub;
    if (!(binary ? hub::parse_binary_pub(o, pub) : hub::parse_pub(o, pub))) {
        ++stats.mismatches;
        hub_failure(binary ? "unreadable binary pub push" : "unreadable pub push", o);
        return;
    }
    // Subscription j is channel (base + j * stride) % C with K * stride <= C (options.hpp), so
    // the channel gives j directly.
    uint64_t ch = 0;
    if (!hub::channel_index(pub.channel, cfg_.ns, ch) || ch >= cfg_.channels) {
        ++stats.mismatches;
        hub_failure("pub push for a channel this connection did not subscribe to", o);
        return;
    }
    const uint64_t d = (ch + cfg_.channels - h.base) % cfg_.channels;
    const uint64_t j = d / sub_stride_;
    if (d % sub_stride_ != 0 || j >= h.subs.size()) {
        ++stats.mismatches;
        hub_failure("pub push for a channel this connection did not subscribe to", o);
        return;
    }
    // Only once the whole connection is subscribed does the publisher start, unless the connect
    // timeout expired first; even then, no pub may precede its own subscribe reply.
    if (h.stage != HubStage::Ready && !(h.sub_answered & (uint64_t{1} << j))) {
        ++stats.order_violations;
        ++stats.order_backwards;
        if (!order_noted_) {
            order_noted_ = true;
            std::string s = "pub push before the reply to its subscribe: ";
            s.append(reinterpret_cast<const char*>(o.p), std::min<size_t>(o.n, 200));
            ctl_.note_violation(s);
        }
        return;
    }
    HubSub& sub = h.subs[j];
    // docs/protocol.md "Ordering and delivery": per channel, offsets increase by exactly 1, no
    // duplicates and no gaps. Every violation counts; the position moves on to the highest
    // offset seen, so one missing offset counts once, not at every later push.
    const uint64_t expected = sub.last_offset + 1;
    if (pub.offset != expected) {
        ++stats.order_violations;
        if (pub.offset > expected)
            ++stats.order_gaps;
        else
            ++stats.order_backwards;
        if (!order_noted_) {
            order_noted_ = true;
            char buf[160];
            std::snprintf(buf, sizeof buf,
                          "%s:%u expected offset %llu, got %llu: ", cfg_.ns.c_str(), sub.channel,
                          static_cast<unsigned long long>(expected),
                          static_cast<unsigned long long>(pub.offset));
            std::string s(buf);
            s.append(reinterpret_cast<const char*>(o.p), std::min<size_t>(o.n, 200));
            ctl_.note_violation(s);
        }
    }
    sub.last_offset = std::max(sub.last_offset, pub.offset);
    uint64_t ts = 0, seq = 0;
    if (pub.data_len != cfg_.size || !pub.data || !hub::get_hex16(pub.data, ts) ||
        !hub::get_hex16(pub.data + 16, seq)) {
        ++stats.mismatches;
        hub_failure("pub push whose data is not ours", o);
        return;
    }
    // One publisher sends publish k to channel k % C with k in the data: anything else here was
    // routed to the wrong channel.
    if (seq % cfg_.channels != sub.channel) {
        ++stats.mismatches;
        hub_failure("pub push carrying another channel's publication", o);
    }
    if (sub.have_seq && seq <= sub.last_seq) ++stats.reordered;
    sub.last_seq = std::max(sub.last_seq, seq);
    sub.have_seq = true;
    if (measuring_) {
        ++stats.msgs_rx;
        stats.payload_rx += pub.data_len;
        stats.lat.record(now_ > ts ? now_ - ts : 0);
    }
}

void Worker::queue_publish(Conn& c, uint64_t now) {
    HubConn& h = c.hub;
    const uint32_t slot = h.free_slots.back();
    h.free_slots.pop_back();
    const uint64_t k = h.next_k++;
    const auto ch = static_cast<uint32_t>((k + h.k_offset) % cfg_.channels);
    const size_t len = hub::publish_len(cfg_.ns, ch, cfg_.size);
    const size_t hl = client_header_len(len);
    uint8_t* dst = out_reserve(c, hl + len);
    write_client_header(dst, kOpText, len, c.mask);
    hub::write_publish(dst + hl, hub::kPublishIdBase + slot, cfg_.ns, ch, now, k, padding_);
    mask_payload(dst + hl, len, c.mask64);
    c.out.commit(hl + len);
    h.slot_sent_at[slot] = now;
    h.slot_channel[slot] = ch;
    ++h.in_flight;
    if (measuring_) ++stats.msgs_tx;
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::pump_publishers() {
    if (publishers_.empty() || (phase_ != Phase::Warmup && phase_ != Phase::Measure)) return;
    const uint64_t now = mono_ns();
    for (const uint32_t id : publishers_) {
        Conn& c = conns_[id];
        HubConn& h = c.hub;
        if (c.state != ConnState::Open || h.stage != HubStage::Ready) continue;
        uint64_t n = cfg_.window - h.in_flight;
        if (n == 0) continue;
        if (rate_per_publisher_ > 0) {
            const auto due =
                static_cast<uint64_t>(static_cast<double>(now - rate_start_) * rate_per_publisher_ /
                                      static_cast<double>(kNsPerSec));
            // As in pump_sender: no credit is banked while the window is shut.
            if (due > h.rate_sent + cfg_.window) h.rate_sent = due - cfg_.window;
            n = std::min(n, due - h.rate_sent);
            h.rate_sent += n;
        }
        for (uint64_t i = 0; i < n; ++i) queue_publish(c, now);
    }
}

bool Worker::publishers_idle() const {
    for (const uint32_t id : publishers_) {
        const Conn& c = conns_[id];
        if (c.state == ConnState::Open && c.hub.in_flight != 0) return false;
    }
    return true;
}

void Worker::publish_finals() {
    // Hub has one publisher, so this worker's ranges are the whole run's.
    for (size_t ch = 0; ch < stats.ack_ranges.size(); ++ch)
        ctl_.final_offsets[ch].store(stats.ack_ranges[ch].hi, std::memory_order_relaxed);
    ctl_.finals_ready.store(true, std::memory_order_release);
}

void Worker::count_undelivered() {
    if (!ctl_.finals_ready.load(std::memory_order_acquire) || ctl_.abort.load()) return;
    for (const Conn& c : conns_) {
        if (c.role != Role::Subscriber || c.state != ConnState::Open ||
            c.hub.stage != HubStage::Ready)
            continue;
        for (const HubSub& sub : c.hub.subs) {
            const uint64_t top = ctl_.final_offsets[sub.channel].load(std::memory_order_relaxed);
            if (sub.last_offset >= top) continue;
            stats.undelivered += top - sub.last_offset;
            if (!hub_noted_) {
                hub_noted_ = true;
                char buf[200];
                std::snprintf(buf, sizeof buf,
                              "MISSING: a subscriber of %s:%u ended at offset %llu, but the "
                              "publisher was acknowledged up to %llu",
                              cfg_.ns.c_str(), sub.channel,
                              static_cast<unsigned long long>(sub.last_offset),
                              static_cast<unsigned long long>(top));
                ctl_.note_failure(buf);
            }
        }
    }
}

} // namespace wsload
