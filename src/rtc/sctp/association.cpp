#include "rtc/sctp/association.hpp"

#include <usrsctp.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

namespace switchboard::rtc::sctp {

namespace {

constexpr std::uint16_t kMaxStreams = 1024;

std::mutex g_mutex;
std::set<Association*>* g_live = nullptr; // never freed: usrsctp may call back until exit

// usrsctp hands every packet it sends to this callback, with the association's address (the
// Association itself, registered with usrsctp_register_address).
// It may run on usrsctp's timer thread (retransmissions): the lock keeps the Association alive
// meanwhile, and queue_packet() locks its own queue.
int output(void* addr, void* buffer, std::size_t length, std::uint8_t, std::uint8_t) {
    auto* a = static_cast<Association*>(addr);
    std::lock_guard lock(g_mutex);
    if (g_live && g_live->count(a)) a->queue_packet(buffer, length);
    return 0;
}

void init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_live = new std::set<Association*>();
        // usrsctp runs its timers (retransmission, heartbeats) on a thread of its own: driving
        // them from our loops with usrsctp_handle_timers() left retransmissions unsent here.
        usrsctp_init(0, output, nullptr);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_auto_asconf(0);
        usrsctp_sysctl_set_sctp_blackhole(2);
        usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
        // Like the browsers: give up on a silent peer after about 30 s, not minutes.
        usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
        usrsctp_sysctl_set_sctp_rto_max_default(10000);
        usrsctp_sysctl_set_sctp_rto_initial_default(1000);
        // Paths of a few milliseconds need not wait a second to repair a tail loss.
        usrsctp_sysctl_set_sctp_rto_min_default(200);
        usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
    });
}

template <class T> void set_option(struct socket* s, int level, int name, const T& value) {
    usrsctp_setsockopt(s, level, name, &value, sizeof value);
}

bool binary_ppid(std::uint32_t ppid) { return ppid == ppid::kBinary || ppid == ppid::kBinaryEmpty || ppid == 52; }

} // namespace

Association::Association(bool dtls_client, AssociationOptions options)
    : client_(dtls_client), options_(options), next_id_(dtls_client ? 0 : 1) {
    init_once();
    {
        std::lock_guard lock(g_mutex);
        g_live->insert(this);
    }
    usrsctp_register_address(this);
    sock_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
    if (!sock_) {
        lost("cannot create an SCTP socket");
        return;
    }
    usrsctp_set_non_blocking(sock_, 1);
    set_option(sock_, SOL_SOCKET, SO_LINGER, linger{1, 0}); // close() aborts: no lingering state
    set_option(sock_, IPPROTO_SCTP, SCTP_RECVRCVINFO, int{1});
    set_option(sock_, IPPROTO_SCTP, SCTP_NODELAY, int{1});
    set_option(sock_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, sctp_assoc_value{SCTP_ALL_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ});
    sctp_initmsg init{};
    init.sinit_num_ostreams = kMaxStreams;
    init.sinit_max_instreams = kMaxStreams;
    set_option(sock_, IPPROTO_SCTP, SCTP_INITMSG, init);
    for (std::uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SENDER_DRY_EVENT, SCTP_SHUTDOWN_EVENT,
                               SCTP_SEND_FAILED_EVENT, SCTP_REMOTE_ERROR}) {
        sctp_event ev{};
        ev.se_assoc_id = SCTP_ALL_ASSOC;
        ev.se_on = 1;
        ev.se_type = type;
        set_option(sock_, IPPROTO_SCTP, SCTP_EVENT, ev);
    }
    set_option(sock_, SOL_SOCKET, SO_SNDBUF, static_cast<int>(options_.send_buffer));
    set_option(sock_, SOL_SOCKET, SO_RCVBUF, static_cast<int>(std::max(options_.send_buffer, options_.max_message_size * 2)));
    // The path MTU is DTLS's, known in advance: no discovery.
    sctp_paddrparams spp{};
    spp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    spp.spp_flags = SPP_PMTUD_DISABLE;
    spp.spp_pathmtu = options_.mtu;
    set_option(sock_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, spp);
    sockaddr_conn local{};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(options_.local_port);
    local.sconn_addr = this;
    if (usrsctp_bind(sock_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) lost("cannot bind the SCTP socket");
}

Association::~Association() {
    if (sock_) usrsctp_close(sock_);
    usrsctp_deregister_address(this);
    std::lock_guard lock(g_mutex);
    g_live->erase(this);
}

void Association::queue_packet(const void* data, std::size_t size) {
    std::lock_guard lock(out_mutex_);
    if (out_.size() >= 1024) return; // SCTP retransmits what is lost
    const auto* p = static_cast<const std::uint8_t*>(data);
    out_.emplace_back(p, p + size);
}

void Association::connect() {
    if (!sock_ || closed_) return;
    sockaddr_conn remote{};
    remote.sconn_family = AF_CONN;
    remote.sconn_port = htons(options_.remote_port);
    remote.sconn_addr = this;
    if (usrsctp_connect(sock_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) < 0 && errno != EINPROGRESS)
        lost(std::string("SCTP connect failed: ") + std::strerror(errno));
}

void Association::on_packet(std::span<const std::uint8_t> packet) {
    if (!sock_ || closed_ || packet.empty()) return;
    usrsctp_conninput(this, packet.data(), packet.size(), 0);
    read_all();
    flush();
}

bool Association::poll_transmit(std::vector<std::uint8_t>& out) {
    std::lock_guard lock(out_mutex_);
    if (out_.empty()) return false;
    out = std::move(out_.front());
    out_.pop_front();
    return true;
}

void Association::on_timer(std::int64_t now_ms) {
    (void)now_ms; // usrsctp's own thread keeps SCTP's time; here we collect what it did
    if (!sock_ || closed_) return;
    read_all();
    flush();
}

bool Association::poll_event(Event& out) {
    if (events_.empty()) return false;
    out = std::move(events_.front());
    events_.pop_front();
    return true;
}

void Association::emit(Event e) { events_.push_back(std::move(e)); }

void Association::lost(std::string reason) {
    if (closed_) return;
    closed_ = true;
    connected_ = false;
    for (auto& [id, c] : channels_)
        if (c.state != ChannelState::Closed) emit(Event{Event::Kind::ChannelClosed, id, false, {}, {}});
    channels_.clear();
    queue_.clear();
    emit(Event{Event::Kind::Closed, 0, false, {}, std::move(reason)});
}

void Association::read_all() {
    if (read_buf_.empty()) read_buf_.resize(64 * 1024);
    std::vector<std::uint8_t>& buf = read_buf_;
    bool discarding = false;
    while (sock_ && !closed_) {
        sctp_rcvinfo info{};
        socklen_t infolen = sizeof info;
        unsigned int infotype = 0;
        int flags = 0;
        sockaddr_conn from{};
        socklen_t fromlen = sizeof from;
        const ssize_t n = usrsctp_recvv(sock_, buf.data(), buf.size(), reinterpret_cast<sockaddr*>(&from), &fromlen, &info,
                                        &infolen, &infotype, &flags);
        if (n < 0) break; // EWOULDBLOCK: nothing more now
        if (n == 0) break;
        if (flags & MSG_NOTIFICATION) {
            on_notification(buf.data(), static_cast<std::size_t>(n));
            continue;
        }
        if (!discarding) partial_.insert(partial_.end(), buf.begin(), buf.begin() + n);
        if (partial_.size() > options_.max_message_size) {
            // Larger than we announced: the sender broke the contract; drop the message.
            partial_.clear();
            discarding = true;
        }
        if (flags & MSG_EOR) {
            if (!discarding && infotype == SCTP_RECVV_RCVINFO)
                on_message(info.rcv_sid, ntohl(info.rcv_ppid), std::move(partial_));
            partial_.clear();
            discarding = false;
        }
    }
}

void Association::on_notification(const std::uint8_t* data, std::size_t size) {
    if (size < 8) return; // the notification header
    sctp_notification n{};
    std::memcpy(&n, data, std::min(size, sizeof n));
    switch (n.sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE:
        if (n.sn_assoc_change.sac_state == SCTP_COMM_UP) {
            if (!connected_) {
                connected_ = true;
                emit(Event{Event::Kind::Connected, 0, false, {}, {}});
                for (auto& [id, c] : channels_)
                    if (c.negotiated && c.state == ChannelState::Connecting) {
                        c.state = ChannelState::Open;
                        emit(Event{Event::Kind::ChannelOpen, id, false, {}, {}});
                    }
            }
        } else if (n.sn_assoc_change.sac_state == SCTP_COMM_LOST || n.sn_assoc_change.sac_state == SCTP_CANT_STR_ASSOC ||
                   n.sn_assoc_change.sac_state == SCTP_SHUTDOWN_COMP) {
            lost(n.sn_assoc_change.sac_state == SCTP_SHUTDOWN_COMP ? "shut down" : "the peer is gone");
        }
        break;
    case SCTP_SHUTDOWN_EVENT: lost("the peer shut the association down"); break;
    case SCTP_SENDER_DRY_EVENT: flush(); break;
    case SCTP_STREAM_RESET_EVENT: {
        const auto& ev = n.sn_strreset_event;
        if (ev.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) break;
        const std::size_t count = (std::min<std::size_t>(size, ev.strreset_length) - sizeof(sctp_stream_reset_event)) / 2;
        for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t sid;
            std::memcpy(&sid, data + sizeof(sctp_stream_reset_event) + 2 * i, 2);
            auto it = channels_.find(sid);
            if (it == channels_.end()) continue;
            if (ev.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) {
                // The peer closed its side: close ours too, and the channel is gone.
                if (it->second.state != ChannelState::Closing) reset_stream(sid);
                channels_.erase(it);
                std::erase_if(queue_, [&](const Pending& p) { return p.channel == sid; });
                emit(Event{Event::Kind::ChannelClosed, sid, false, {}, {}});
            }
        }
        break;
    }
    default: break;
    }
}

void Association::on_message(std::uint16_t sid, std::uint32_t ppid, std::vector<std::uint8_t> data) {
    if (ppid == ppid::kDcep) return on_dcep(sid, data);
    auto it = channels_.find(sid);
    if (it == channels_.end() || it->second.state == ChannelState::Closed) return;
    if (ppid == ppid::kStringEmpty || ppid == ppid::kBinaryEmpty) data.clear();
    else if (ppid != ppid::kString && ppid != ppid::kBinary && ppid != 52 && ppid != 54) return; // not a data channel's
    // A message on a channel we opened proves the peer got the OPEN (RFC 8832 §6: implicit ACK).
    if (it->second.state == ChannelState::Connecting) {
        it->second.state = ChannelState::Open;
        emit(Event{Event::Kind::ChannelOpen, sid, false, {}, {}});
    }
    emit(Event{Event::Kind::Message, sid, binary_ppid(ppid), std::move(data), {}});
}

void Association::on_dcep(std::uint16_t sid, std::span<const std::uint8_t> m) {
    const std::uint8_t type = dcep_type(m);
    if (type == kDcepAck) {
        auto it = channels_.find(sid);
        if (it != channels_.end() && it->second.state == ChannelState::Connecting) {
            it->second.state = ChannelState::Open;
            emit(Event{Event::Kind::ChannelOpen, sid, false, {}, {}});
            flush();
        }
        return;
    }
    if (type != kDcepOpen) return;
    auto open = parse_open(m);
    // The opener uses its own parity (DTLS client even, server odd); anything else is refused.
    if (!open || (sid % 2 == 0) == client_ || sid >= kMaxStreams || channels_.count(sid)) return;
    Channel c;
    c.id = sid;
    c.options = ChannelOptions{open->ordered, open->reliability, open->param, open->priority, std::string(open->label),
                               std::string(open->protocol)};
    c.state = ChannelState::Open;
    channels_.emplace(sid, std::move(c));
    const std::uint8_t ack = kDcepAck;
    send_raw(sid, ppid::kDcep, ChannelOptions{}, {&ack, 1});
    emit(Event{Event::Kind::ChannelOpen, sid, false, {}, {}});
}

int Association::open_channel(const ChannelOptions& options) {
    if (!connected_ || closed_) return -1;
    while (next_id_ < kMaxStreams && channels_.count(next_id_)) next_id_ += 2;
    if (next_id_ >= kMaxStreams) return -1;
    const std::uint16_t id = next_id_;
    next_id_ += 2;
    Channel c;
    c.id = id;
    c.options = options;
    channels_.emplace(id, c);
    std::vector<std::uint8_t> open;
    encode_open(options, open);
    // DCEP goes ordered and reliable whatever the channel's own options (RFC 8832 §6).
    queue_.push_back(Pending{id, ppid::kDcep, std::move(open)});
    flush();
    return id;
}

bool Association::add_negotiated_channel(std::uint16_t id, const ChannelOptions& options) {
    if (closed_ || id >= kMaxStreams || channels_.count(id)) return false;
    Channel c;
    c.id = id;
    c.options = options;
    c.negotiated = true;
    c.state = connected_ ? ChannelState::Open : ChannelState::Connecting;
    channels_.emplace(id, std::move(c));
    if (connected_) emit(Event{Event::Kind::ChannelOpen, id, false, {}, {}});
    return true;
}

bool Association::send(std::uint16_t channel, std::span<const std::uint8_t> data, bool binary) {
    auto it = channels_.find(channel);
    if (it == channels_.end() || it->second.state != ChannelState::Open || closed_) return false;
    if (data.size() > options_.remote_max_message_size) return false;
    std::uint32_t ppid = binary ? ppid::kBinary : ppid::kString;
    std::vector<std::uint8_t> bytes(std::max<std::size_t>(data.size(), 1));
    if (data.empty()) {
        // SCTP cannot carry an empty message: one byte with the "empty" PPID (RFC 8831 §6.6).
        ppid = binary ? ppid::kBinaryEmpty : ppid::kStringEmpty;
        bytes[0] = 0;
    } else {
        std::copy(data.begin(), data.end(), bytes.begin());
    }
    it->second.buffered += data.size();
    queue_.push_back(Pending{channel, ppid, std::move(bytes)});
    flush();
    return true;
}

std::size_t Association::buffered_amount(std::uint16_t channel) const {
    auto it = channels_.find(channel);
    return it == channels_.end() ? 0 : it->second.buffered;
}

const Channel* Association::channel(std::uint16_t id) const {
    auto it = channels_.find(id);
    return it == channels_.end() ? nullptr : &it->second;
}

bool Association::send_raw(std::uint16_t sid, std::uint32_t ppid, const ChannelOptions& o, std::span<const std::uint8_t> data) {
    sctp_sendv_spa spa{};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_flags = static_cast<std::uint16_t>(SCTP_EOR | (o.ordered ? 0 : SCTP_UNORDERED));
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    if (o.reliability != Reliability::Reliable) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = o.reliability == Reliability::Rexmit ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = o.param;
    }
    const ssize_t n = usrsctp_sendv(sock_, data.data(), data.size(), nullptr, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    // EWOULDBLOCK: the socket buffer is full, try again when SCTP has room. Any other error
    // drops the message (the association is going away).
    return n >= 0 || (errno != EWOULDBLOCK && errno != EAGAIN);
}

void Association::flush() {
    if (!connected_ || closed_) return;
    while (!queue_.empty()) {
        Pending& p = queue_.front();
        auto it = channels_.find(p.channel);
        if (it == channels_.end()) {
            queue_.pop_front();
            continue;
        }
        Channel& c = it->second;
        const ChannelOptions& o = p.ppid == ppid::kDcep ? ChannelOptions{} : c.options;
        if (!send_raw(p.channel, p.ppid, o, p.data)) break;
        if (p.ppid != ppid::kDcep) {
            const std::size_t size = p.ppid == ppid::kStringEmpty || p.ppid == ppid::kBinaryEmpty ? 0 : p.data.size();
            const std::size_t before = c.buffered;
            c.buffered -= std::min(c.buffered, size);
            if (before > options_.buffered_amount_low && c.buffered <= options_.buffered_amount_low)
                emit(Event{Event::Kind::BufferedAmountLow, p.channel, false, {}, {}});
        }
        const std::uint16_t id = p.channel;
        queue_.pop_front();
        if (c.state == ChannelState::Closing && c.buffered == 0) reset_stream(id);
    }
}

void Association::reset_stream(std::uint16_t sid) {
    std::uint8_t buf[sizeof(sctp_reset_streams) + sizeof(std::uint16_t)] = {};
    auto* srs = reinterpret_cast<sctp_reset_streams*>(buf);
    srs->srs_assoc_id = SCTP_ALL_ASSOC;
    srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    srs->srs_number_streams = 1;
    std::memcpy(buf + sizeof(sctp_reset_streams), &sid, sizeof sid);
    usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_RESET_STREAMS, buf, sizeof buf);
}

void Association::close_channel(std::uint16_t channel) {
    auto it = channels_.find(channel);
    if (it == channels_.end() || it->second.state == ChannelState::Closing) return;
    it->second.state = ChannelState::Closing;
    // What is queued still goes out; the stream is reset after it.
    if (it->second.buffered == 0) reset_stream(channel);
}

void Association::close() {
    if (sock_) {
        usrsctp_close(sock_); // SO_LINGER 0: an ABORT goes out now
        sock_ = nullptr;
    }
    lost("closed");
}

} // namespace switchboard::rtc::sctp
