// Worker set-up (roles, mask keys, frame templates) and its event loop, which follows the phases
// the main thread sets in Control.
#include "worker.hpp"

#include "limits.hpp"
#include "mono_clock.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace wsload {

Worker::Worker(const Config& cfg, Control& ctl, uint32_t index, uint32_t count, bool has_sender)
    : cfg_(cfg), ctl_(ctl), conns_(count), rbuf_(kReadBufferSize), events_(kEventBatch) {
    std::random_device rd;
    rng_.seed((uint64_t{rd()} << 32) ^ rd() ^ (uint64_t{index} << 48));
    opcode_ = cfg.text ? kOpText : kOpBinary;
    field_width_ = cfg.text ? 16 : 8;
    hdr_len_ = client_header_len(cfg.size);
    frame_len_ = hdr_len_ + cfg.size;
    has_seq_ = cfg.size >= field_width_;
    hub_mode_ = is_hub_mode(cfg.mode);
    sub_stride_ = cfg.mode == Mode::Hub ? subscriber_stride(cfg) : 1;
    // Connection i of the run is local connection i / T of thread i % T (see run()).
    const uint32_t threads = std::min(cfg.threads, total_connections(cfg));
    for (uint32_t i = 0; i < count; ++i) {
        Conn& c = conns_[i];
        const uint64_t global = uint64_t{i} * threads + index;
        Role r = Role::Idle;
        if (cfg.mode == Mode::Echo)
            r = Role::Echo;
        else if (cfg.mode == Mode::Broadcast)
            r = (has_sender && i == 0) ? Role::Sender : Role::Receiver;
        else if (cfg.mode == Mode::Hub)
            r = (has_sender && i == 0) ? Role::Publisher : Role::Subscriber;
        else if (cfg.mode == Mode::Durable)
            r = Role::Publisher;
        c.role = r;
        if (r == Role::Subscriber) {
            // Connection 0 of the run is the publisher, so this is subscriber global - 1.
            const uint64_t sub = global - 1;
            c.hub.base = subscriber_base(cfg, sub);
            c.hub.subs.resize(cfg.subs_per_conn);
            for (uint32_t j = 0; j < cfg.subs_per_conn; ++j)
                c.hub.subs[j].channel = subscriber_channel(cfg, sub, j);
        }
        if (r == Role::Publisher) {
            publishers_.push_back(i);
            // Durable publishers start at different channels so that they do not move in step.
            c.hub.k_offset = cfg.mode == Mode::Durable ? global : 0;
        }
    }
    if (has_sender && cfg.mode == Mode::Broadcast) sender_ = 0;
    if (hub_mode_) {
        padding_.resize(cfg.size - kHubMinSize);
        for (size_t i = 0; i < padding_.size(); ++i) padding_[i] = static_cast<char>('a' + i % 26);
        const size_t longest = hub::publish_len(cfg.ns, cfg.channels - 1, cfg.size);
        publish_frame_max_ = client_header_len(longest) + longest;
        if (!publishers_.empty())
            rate_per_publisher_ = cfg.rate / static_cast<double>(publisher_count(cfg));
        if (!publishers_.empty()) stats.ack_ranges.assign(cfg.channels, AckRange{});
    }
    source_offset_ = index;
    build_templates();
}

Worker::~Worker() {
    for (auto& c : conns_)
        if (c.fd >= 0) ::close(c.fd);
    if (ep_ >= 0) ::close(ep_);
}

void Worker::build_templates() {
    std::vector<uint8_t> plain(cfg_.size);
    for (size_t i = 0; i < plain.size(); ++i)
        plain[i] = cfg_.text ? static_cast<uint8_t>('a' + i % 26)
                             : static_cast<uint8_t>((i * 131 + 7) & 0xff);

    auto new_key = [&](Conn& c) {
        const uint64_t r = rng_();
        for (int i = 0; i < 4; ++i) c.mask[i] = static_cast<uint8_t>(r >> (i * 8));
        uint8_t m8[8];
        std::memcpy(m8, c.mask.data(), 4);
        std::memcpy(m8 + 4, c.mask.data(), 4);
        std::memcpy(&c.mask64, m8, 8);
    };
    auto make_template = [&](const Conn& c) {
        std::vector<uint8_t> t(frame_len_);
        write_client_header(t.data(), opcode_, cfg_.size, c.mask);
        std::memcpy(t.data() + hdr_len_, plain.data(), plain.size());
        mask_payload(t.data() + hdr_len_, plain.size(), c.mask64);
        return t;
    };

    size_t senders = 0;
    for (const auto& c : conns_) senders += (c.role == Role::Echo || c.role == Role::Sender);
    // RFC 6455 §5.3 wants a fresh unpredictable key per frame, to protect intermediaries from
    // cache poisoning by hostile scripts. A loopback benchmark has no such intermediaries, and a
    // fixed key lets every frame be a memcpy of a pre-masked template.
    const bool shared = senders * frame_len_ > kTemplateBudget / cfg_.threads;
    Conn* first = nullptr;
    for (auto& c : conns_) {
        new_key(c);
        if (c.role != Role::Echo && c.role != Role::Sender) continue;
        if (shared && first) {
            c.mask = first->mask;
            c.mask64 = first->mask64;
            c.frame_tmpl = first->frame_tmpl;
            continue;
        }
        templates_.push_back(make_template(c));
        c.frame_tmpl = templates_.back().data();
        if (!first) first = &c;
    }
}

void Worker::enter_phase(Phase p) {
    if (p == Phase::Warmup) {
        rate_start_ = mono_ns();
        rate_sent_ = 0;
        for (const uint32_t id : publishers_) conns_[id].hub.rate_sent = 0;
    } else if (p == Phase::Drain) {
        if (sender_ >= 0) {
            const Conn& s = conns_[static_cast<size_t>(sender_)];
            ctl_.broadcast_total.store(s.state == ConnState::Open ? s.send_seq : 0,
                                       std::memory_order_release);
        }
    } else if (p == Phase::Closing) {
        if (cfg_.mode == Mode::Hub) count_undelivered();
        for (uint32_t id = 0; id < conns_.size(); ++id) {
            Conn& c = conns_[id];
            if (c.state == ConnState::Open) {
                // §7.1.2: start the closing handshake with 1000 (normal closure).
                const uint8_t code[2] = {0x03, 0xE8};
                queue_control(c, kOpClose, code, 2);
                c.state = ConnState::Closing;
            } else if (c.state == ConnState::Connecting || c.state == ConnState::Handshaking) {
                --connecting_;
                close_conn(c);
            }
        }
    }
}

void Worker::check_progress(Phase p) {
    if (p == Phase::Drain && !drained.load(std::memory_order_relaxed)) {
        if (now_ - last_drain_check_ < 1'000'000) return;
        last_drain_check_ = now_;
        const uint64_t total = ctl_.broadcast_total.load(std::memory_order_acquire);
        if (cfg_.mode == Mode::Hub && !publishers_.empty() &&
            !ctl_.finals_ready.load(std::memory_order_relaxed) && publishers_idle())
            publish_finals();
        const bool finals = ctl_.finals_ready.load(std::memory_order_acquire);
        bool done = true;
        for (const auto& c : conns_) {
            if (c.state != ConnState::Open) continue;
            if ((c.role == Role::Echo || c.role == Role::Sender) && c.recv_seq != c.send_seq)
                done = false;
            else if (c.role == Role::Receiver && (total == UINT64_MAX || c.recv_seq < total))
                done = false;
            else if (c.role == Role::Publisher && c.hub.in_flight != 0)
                done = false;
            else if (c.role == Role::Subscriber && c.hub.stage == HubStage::Ready) {
                if (!finals) {
                    done = false;
                } else {
                    for (const HubSub& sub : c.hub.subs)
                        if (sub.last_offset <
                            ctl_.final_offsets[sub.channel].load(std::memory_order_relaxed)) {
                            done = false;
                            break;
                        }
                }
            }
            if (!done) break;
        }
        if (done) drained.store(true, std::memory_order_release);
    } else if (p == Phase::Closing && live_ == 0) {
        closed.store(true, std::memory_order_release);
    }
}

void Worker::run() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
        ctl_.fail_run(std::string("epoll_create1: ") + std::strerror(errno));
        closed.store(true);
        drained.store(true);
        return;
    }
    Phase seen = Phase::Connecting;
    while (true) {
        const Phase p = ctl_.phase.load(std::memory_order_acquire);
        while (seen < p) {
            seen = static_cast<Phase>(static_cast<int>(seen) + 1);
            phase_ = seen;
            enter_phase(seen);
        }
        if (p == Phase::Done) break;
        measuring_ = p == Phase::Measure;
        start_connects();
        flush_dirty();

        int timeout = 20;
        if (!pending_reads_.empty() || !pending_next_.empty())
            timeout = 0;
        else if ((sender_ >= 0 || !publishers_.empty()) && cfg_.rate > 0 &&
                 (p == Phase::Warmup || p == Phase::Measure))
            timeout = 1;
        const int n = ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout);
        if (n < 0 && errno != EINTR) {
            ctl_.fail_run(std::string("epoll_wait: ") + std::strerror(errno));
            break;
        }
        now_ = mono_ns();
        pending_reads_.swap(pending_next_);
        pending_next_.clear();
        for (int i = 0; i < n; ++i) {
            const auto id = static_cast<uint32_t>(events_[i].data.u64);
            const uint32_t ev = events_[i].events;
            Conn& c = conns_[id];
            if (c.fd < 0) continue;
            if (c.state == ConnState::Connecting) {
                if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect(id);
                if (c.fd < 0) continue;
            }
            if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.hup = true;
            if ((c.hup || (ev & EPOLLIN)) && !c.read_pending) on_readable(id);
            if (c.fd >= 0 && (ev & EPOLLOUT) && c.out.size() > 0) mark_dirty(id);
        }
        for (const uint32_t id : pending_reads_) {
            Conn& c = conns_[id];
            c.read_pending = false;
            if (c.fd >= 0) on_readable(id);
        }
        pending_reads_.clear();
        pump_sender();
        pump_publishers();
        flush_dirty();
        check_progress(p);
    }
    for (auto& c : conns_) {
        if (c.fd >= 0) {
            if (c.state == ConnState::Closing) ++stats.close_timeouts;
            close_conn(c);
        }
    }
    drained.store(true);
    closed.store(true);
}

} // namespace wsload
