#include "client/client_impl.hpp"

#include "json/reader.hpp"
#include "json/writer.hpp"

#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

namespace switchboard {

namespace ice = rtc::ice;
using client::HubMessage;

std::int64_t client_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

namespace {

constexpr std::uint16_t kRoomChannel = 0; // the browser SDK's negotiated "switchboard" channel

std::string quoted(std::string_view s) {
    std::string out;
    json::append_escaped(out, s);
    return out;
}

Participant parse_participant(json::Value v) {
    Participant p;
    json::for_each_member(v, [&](std::string_view k, json::Value x) {
        if (json::key_is(k, "sid")) json::get_string(x, p.sid);
        else if (json::key_is(k, "identity")) json::get_string(x, p.identity);
        else if (json::key_is(k, "info") && x.kind == json::Kind::Object)
            json::for_each_member(x, [&](std::string_view ik, json::Value iv) {
                if (json::key_is(ik, "name")) json::get_string(iv, p.name);
            });
    });
    return p;
}

std::uint32_t host_order(const ice::Address& a) {
    return (std::uint32_t{a.ip[0]} << 24) | (std::uint32_t{a.ip[1]} << 16) | (std::uint32_t{a.ip[2]} << 8) | a.ip[3];
}

} // namespace

Client::Impl::~Impl() {
    for (auto& [id, t] : transfers)
        if (t.file) {
            std::fclose(t.file);
            if (!t.info.sending && t.state != Transfer::State::Done) std::remove(t.part.c_str());
        }
}

std::string Client::Impl::parse_url() {
    std::string_view u = options.url;
    secure = u.substr(0, 6) == "wss://";
    if (!secure && u.substr(0, 5) != "ws://") return "the server URL must start with ws:// or wss:// (" + options.url + ")";
    u.remove_prefix(secure ? 6 : 5);
    const auto slash = u.find('/');
    std::string_view authority = u.substr(0, slash);
    path = slash == std::string_view::npos || u.substr(slash) == "/" ? "/connection" : std::string(u.substr(slash));
    if (authority.empty()) return "no host in the server URL " + options.url;
    std::string_view h = authority;
    if (authority.front() == '[') { // an IPv6 literal
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return "bad IPv6 address in " + options.url;
        h = authority.substr(1, close - 1);
        authority.remove_prefix(close + 1);
    } else {
        const auto colon = authority.rfind(':');
        h = authority.substr(0, colon);
        authority = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    }
    host = std::string(h);
    server_port = secure ? 443 : 80;
    if (!authority.empty()) {
        if (authority.front() != ':' || authority.size() < 2 || authority.size() > 6) return "bad port in " + options.url;
        unsigned v = 0;
        for (char c : authority.substr(1)) {
            if (c < '0' || c > '9') return "bad port in " + options.url;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v == 0 || v > 65535) return "bad port in " + options.url;
        server_port = static_cast<std::uint16_t>(v);
    }
    return {};
}

void Client::Impl::lost(std::string why) {
    if (!error.empty()) return;
    error = std::move(why);
    drop_peers("the connection to the server was lost");
    joined = false;
    tcp.close();
}

void Client::Impl::flush_hub() {
    if (!hub) return;
    io_buf.clear();
    hub->take_output(io_buf);
    if (tls) {
        if (!io_buf.empty() && !tls->write(io_buf)) return lost("TLS: cannot write to the server");
        flush_tls();
        return;
    }
    if (!io_buf.empty() && !tcp.write(io_buf)) lost("the connection to the server broke");
}

void Client::Impl::flush_tls() {
    tls_out.clear();
    tls->take_output(tls_out);
    if (!tls_out.empty() && !tcp.write(tls_out.span())) lost("the connection to the server broke");
}

void Client::Impl::on_server_bytes(std::span<const std::uint8_t> bytes) {
    if (!tls) return hub->on_bytes(bytes);
    tls_plain.clear();
    if (!tls->feed(bytes, tls_plain)) return lost(tls->error().empty() ? "TLS failed" : tls->error());
    flush_tls(); // handshake records, alerts
    if (!tls_plain.empty()) hub->on_bytes(tls_plain.span());
}

bool Client::Impl::wait_reply(std::uint32_t id, HubMessage& out) {
    const std::int64_t end = client_now_ms() + options.timeout_ms;
    while (error.empty()) {
        if (auto it = replies.find(id); it != replies.end()) {
            out = std::move(it->second);
            replies.erase(it);
            return true;
        }
        const std::int64_t left = end - client_now_ms();
        if (left <= 0) return false;
        step(static_cast<int>(std::min<std::int64_t>(left, 50)));
    }
    return false;
}

void Client::Impl::signal(const std::string& to, const std::string& kind, const std::string& data) {
    if (!hub || !joined) return;
    std::string f = "\"room\":" + quoted(room) + ",\"to\":" + quoted(to) + ",\"kind\":" + quoted(kind) + ",\"data\":" + data;
    const std::uint32_t id = hub->command("signal", f);
    replies.erase(id); // nobody waits for it: a refused signal shows as a peer that never connects
    flush_hub();
}

void Client::Impl::send_candidate(Peer& p, const std::string& candidate) {
    std::string d;
    json::Writer w(d);
    w.begin_object().key("candidate").string(candidate).key("sdpMid").string(p.pc->mid());
    w.key("sdpMLineIndex").number(std::uint64_t{p.pc->mline_index()}).end_object();
    signal(p.info.sid, "candidate", d);
}

// {"urls":[...],"username":...,"credential":...}: STUN for server-reflexive candidates, TURN over
// UDP for relayed ones (TCP and TLS transports to the server are not spoken here).
void Client::Impl::add_ice_server(json::Value server) {
    std::vector<std::string> urls;
    std::string username, credential;
    json::for_each_member(server, [&](std::string_view k, json::Value v) {
        if (json::key_is(k, "username")) json::get_string(v, username);
        else if (json::key_is(k, "credential")) json::get_string(v, credential);
        else if (json::key_is(k, "urls")) {
            std::string u;
            if (json::get_string(v, u)) urls.push_back(u);
            else json::for_each_element(v, [&](json::Value e) {
                if (json::get_string(e, u)) urls.push_back(u);
            });
        }
    });
    for (const std::string& url : urls) {
        const bool turn = url.rfind("turn:", 0) == 0, stun = url.rfind("stun:", 0) == 0;
        if (!turn && !stun) continue;
        std::string rest = url.substr(5);
        if (const auto q = rest.find('?'); q != std::string::npos) {
            if (turn && rest.find("transport=udp", q) == std::string::npos) continue;
            rest.resize(q);
        }
        std::string h = rest;
        std::uint16_t p = 3478;
        if (const auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
            h = rest.substr(0, colon);
            p = static_cast<std::uint16_t>(std::atoi(rest.c_str() + colon + 1));
        }
        auto address = ice::Address::parse(h, p);
        if (!address) { // a name: the first IPv4 address it has
            std::vector<sockaddr_storage> found;
            if (!net::resolve(h, p, found).empty()) continue;
            for (const auto& ss : found)
                if (ss.ss_family == AF_INET) {
                    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
                    address = ice::Address::v4(ntohl(sin->sin_addr.s_addr), p);
                    break;
                }
        }
        if (!address || !address->is_v4() || address->port == 0) continue;
        if (stun) stun_servers.push_back(*address);
        else if (!username.empty()) turn_servers.push_back(ice::TurnServer{*address, username, credential});
    }
}

Client::Impl::Peer& Client::Impl::peer_for(const Participant& info) {
    auto [it, fresh] = peers.try_emplace(info.sid);
    Peer& p = it->second;
    if (!fresh) return p;
    p.info = info;
    rtc::PeerOptions po;
    po.stun_servers = stun_servers;
    po.turn_servers = turn_servers;
    po.relay_only = options.relay_only;
    p.pc = std::make_unique<rtc::PeerConnection>(po);
    rtc::sctp::ChannelOptions room_channel;
    room_channel.label = "switchboard";
    p.pc->add_negotiated_channel(kRoomChannel, room_channel);
    const std::int64_t now = client_now_ms();
    for (std::uint32_t ip : net::local_ipv4_addresses()) {
        net::UdpPort port;
        if (!port.bind_v4(ip).empty()) continue;
        p.pc->add_local_address(ice::Address::v4(ip, port.port()), now);
        p.ports.push_back(std::move(port));
    }
    return p;
}

void Client::Impl::drop_peer(const std::string& s, const std::string& why) {
    auto it = peers.find(s);
    if (it == peers.end()) return;
    fail_transfers_of(s, why);
    it->second.pc->close();
    peers.erase(it);
}

void Client::Impl::drop_peers(const std::string& why) {
    while (!peers.empty()) {
        const std::string first = peers.begin()->first; // a copy: the key goes with the entry
        drop_peer(first, why);
    }
}

Client::Impl::Peer* Client::Impl::connected_peer(const std::string& s) {
    auto it = peers.find(s);
    return it != peers.end() && it->second.connected && !it->second.failed ? &it->second : nullptr;
}

void Client::Impl::on_signal(const std::string& from, const std::string& kind, const std::string& data) {
    auto pit = participants.find(from);
    if (pit == participants.end()) return;
    Peer& p = peer_for(pit->second);
    const std::int64_t now = client_now_ms();
    json::Value v;
    if (json::parse(data, v) != json::Error::None) return;
    if (kind == "candidate") {
        std::string c;
        if (v.kind == json::Kind::Object)
            json::for_each_member(v, [&](std::string_view k, json::Value x) {
                if (json::key_is(k, "candidate")) json::get_string(x, c);
            });
        if (c.empty()) return; // the end of the peer's candidates: nothing to do
        if (p.have_remote) p.pc->add_remote_candidate(c, now);
        else if (p.remote_candidates.size() < 64) p.remote_candidates.push_back(std::move(c));
        return;
    }
    if (kind != "offer" && kind != "answer") return;
    std::string sdp;
    json::for_each_member(v, [&](std::string_view k, json::Value x) {
        if (json::key_is(k, "sdp")) json::get_string(x, sdp);
    });
    const auto type = kind == "offer" ? rtc::SdpType::Offer : rtc::SdpType::Answer;
    if (std::string err = p.pc->set_remote_description(type, sdp, now); !err.empty()) {
        if (self.on_peer_failed) self.on_peer_failed(from, "its " + kind + " was refused: " + err);
        return;
    }
    p.have_remote = true;
    for (const auto& c : p.remote_candidates) p.pc->add_remote_candidate(c, now);
    p.remote_candidates.clear();
    if (type == rtc::SdpType::Offer) {
        std::string d;
        json::Writer w(d);
        w.begin_object().key("type").string("answer").key("sdp").string(p.pc->create_answer(now)).end_object();
        signal(from, "answer", d);
        p.described = true;
        for (const auto& c : p.local_candidates) send_candidate(p, c);
        p.local_candidates.clear();
    }
    pump_peer(p, now);
}

void Client::Impl::on_push(const HubMessage& m) {
    json::Value v;
    if (json::parse(m.json, v) != json::Error::None) return;
    std::string push_room, from, kind, data, cause, s;
    Participant who;
    json::for_each_member(v, [&](std::string_view k, json::Value x) {
        if (json::key_is(k, "room")) json::get_string(x, push_room);
        else if (json::key_is(k, "from")) json::get_string(x, from);
        else if (json::key_is(k, "kind")) json::get_string(x, kind);
        else if (json::key_is(k, "data")) data = std::string(x.raw);
        else if (json::key_is(k, "cause")) json::get_string(x, cause);
        else if (json::key_is(k, "sid")) json::get_string(x, s);
        else if (json::key_is(k, "participant")) who = parse_participant(x);
    });
    if (!joined || push_room != room) return;
    if (m.push == "signal") {
        on_signal(from, kind, data);
    } else if (m.push == "room_join") {
        if (who.sid.empty() || who.sid == sid) return;
        participants[who.sid] = who;
        if (self.on_participant_joined) self.on_participant_joined(who); // they offer to us
    } else if (m.push == "room_leave") {
        auto it = participants.find(s);
        if (it == participants.end()) return;
        const Participant gone = it->second;
        participants.erase(it);
        drop_peer(s, "the other side left the room (" + (cause.empty() ? std::string("left") : cause) + ")");
        if (self.on_participant_left) self.on_participant_left(gone, cause);
    } else if (m.push == "room_left") {
        joined = false;
        drop_peers("this client was taken out of the room (" + cause + ")");
        participants.clear();
        if (self.on_left) self.on_left(cause);
    }
}

void Client::Impl::on_hub(HubMessage& m) {
    switch (m.kind) {
    case HubMessage::Kind::Open: break;
    case HubMessage::Kind::Reply: replies[m.id] = std::move(m); break;
    case HubMessage::Kind::Push: on_push(m); break;
    case HubMessage::Kind::Closed:
        lost("the server closed the connection (" + std::to_string(m.code) + (m.reason.empty() ? "" : ": " + m.reason) + ")");
        break;
    }
}

void Client::Impl::pump_peer(Peer& p, std::int64_t now) {
    rtc::PeerConnection& pc = *p.pc;
    if (auto t = pc.next_timeout(); t && *t <= now) pc.on_timeout(now);
    rtc::PeerEvent e;
    const std::string peer_sid = p.info.sid; // callbacks may drop the peer
    while (peers.count(peer_sid) && pc.poll_event(e)) {
        switch (e.kind) {
        case rtc::PeerEvent::Kind::LocalCandidate:
            if (e.text.empty()) break;
            if (p.described) send_candidate(p, e.text);
            else p.local_candidates.push_back(e.text);
            break;
        case rtc::PeerEvent::Kind::StateChanged:
            if (e.state == rtc::PeerState::Connected && !p.connected) {
                p.connected = true;
                if (self.on_peer_connected) self.on_peer_connected(peer_sid);
            } else if (e.state == rtc::PeerState::Failed && !p.failed) {
                p.failed = true;
                fail_transfers_of(peer_sid, "the connection to the other side failed: " + pc.error());
                if (self.on_peer_failed) self.on_peer_failed(peer_sid, pc.error());
            }
            break;
        case rtc::PeerEvent::Kind::ChannelOpen:
            if (e.channel == kRoomChannel) break;
            if (e.label.substr(0, client::kFileChannelPrefix.size()) == client::kFileChannelPrefix)
                on_file_channel_open(p, e.channel, e.label);
            else if (self.on_channel_open) self.on_channel_open(peer_sid, e.channel, e.label);
            break;
        case rtc::PeerEvent::Kind::ChannelClosed:
            if (!on_file_channel_closed(p, e.channel) && self.on_channel_closed) self.on_channel_closed(peer_sid, e.channel);
            break;
        case rtc::PeerEvent::Kind::BufferedAmountLow:
            if (!transfer_on(peer_sid, e.channel) && self.on_buffered_amount_low) self.on_buffered_amount_low(peer_sid, e.channel);
            break;
        case rtc::PeerEvent::Kind::Message:
            if (e.channel == kRoomChannel) {
                if (!e.binary && self.on_message) self.on_message(peer_sid, std::string(e.data.begin(), e.data.end()));
            } else if (!on_file_message(p, e.channel, e.data, e.binary) && self.on_channel_message) {
                self.on_channel_message(peer_sid, e.channel, e.data, e.binary);
            }
            break;
        }
    }
    if (!peers.count(peer_sid)) return;
    ice::Transmit t;
    while (pc.poll_transmit(t)) {
        if (!t.remote.is_v4()) continue;
        const std::uint32_t from = host_order(t.local);
        for (auto& port : p.ports)
            if (port.ip() == from && port.port() == t.local.port) {
                port.send_v4(host_order(t.remote), t.remote.port, t.data);
                break;
            }
    }
}

void Client::Impl::step(int timeout_ms) {
    const std::int64_t now0 = client_now_ms();
    std::vector<pollfd> fds;
    fds.push_back(pollfd{tcp.fd(), static_cast<short>(POLLIN | (tcp.queued() ? POLLOUT : 0)), 0});
    std::int64_t wake = now0 + timeout_ms;
    for (auto& [s, p] : peers) {
        for (auto& port : p.ports) fds.push_back(pollfd{port.fd(), POLLIN, 0});
        if (auto t = p.pc->next_timeout()) wake = std::min(wake, *t);
    }
    for (auto& [id, t] : transfers)
        if (t.state == Transfer::State::Sending) wake = std::min(wake, now0 + 10); // the channel drains meanwhile
    ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<std::int64_t>(wake - now0, 0, timeout_ms)));
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        io_buf.clear();
        const bool alive = tcp.read(io_buf);
        if (!io_buf.empty() && hub) on_server_bytes(io_buf);
        if (!alive && hub && !hub->closed()) lost("the server closed the connection");
    }
    if (fds[0].revents & POLLOUT) tcp.flush();
    const std::int64_t now = client_now_ms();
    std::size_t at = 1;
    for (auto& [s, p] : peers) {
        for (auto& port : p.ports) {
            if (fds[at++].revents & POLLIN) {
                std::uint32_t ip = 0;
                std::uint16_t from_port = 0;
                for (int i = 0; i < 256; ++i) {
                    const long n = port.receive(datagram, ip, from_port);
                    if (n < 0) break;
                    p.pc->on_datagram(ice::Address::v4(port.ip(), port.port()), ice::Address::v4(ip, from_port),
                                      {datagram.data(), static_cast<std::size_t>(n)}, now);
                }
            }
        }
    }
    HubMessage m;
    while (hub && hub->poll_message(m)) on_hub(m);
    std::vector<std::string> sids;
    for (auto& [s, p] : peers) sids.push_back(s);
    for (const auto& s : sids)
        if (auto it = peers.find(s); it != peers.end()) pump_peer(it->second, now);
    pump_files(now);
    for (const auto& s : sids)
        if (auto it = peers.find(s); it != peers.end()) pump_peer(it->second, now);
    flush_hub();
}

// ---- Client ----

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(*this, std::move(options))) {}
Client::~Client() {
    if (impl_->hub && impl_->hub->open()) {
        impl_->hub->close(1000, "bye");
        impl_->flush_hub();
    }
}

std::string Client::connect() {
    Impl& d = *impl_;
    if (std::string err = d.parse_url(); !err.empty()) return err;
    d.error.clear();
    if (std::string err = d.tcp.connect(d.host, d.server_port, d.options.timeout_ms); !err.empty()) return err;
    d.tls.reset();
    if (d.secure) {
        try {
            if (!d.tls_ctx) d.tls_ctx = net::TlsContext::client(d.options.ca_file);
        } catch (const std::exception& e) {
            return e.what();
        }
        d.tls = std::make_unique<net::TlsSession>(*d.tls_ctx, d.host);
        d.on_server_bytes({}); // the ClientHello
    }
    const bool v6 = d.host.find(':') != std::string::npos;
    const std::string host_header = (v6 ? "[" + d.host + "]" : d.host) + ":" + std::to_string(d.server_port);
    d.hub = std::make_unique<client::HubSession>(host_header, d.path, std::random_device{}());
    d.hub->start();
    d.flush_hub();
    const std::int64_t end = client_now_ms() + d.options.timeout_ms;
    while (!d.hub->open() && d.error.empty() && client_now_ms() < end) d.step(50);
    if (!d.hub->open()) return d.error.empty() ? "no WebSocket upgrade from " + d.options.url : d.error;
    std::string f;
    if (!d.options.token.empty()) f = "\"token\":" + quoted(d.options.token);
    if (!d.options.name.empty()) f += (f.empty() ? "" : ",") + std::string("\"name\":") + quoted(d.options.name);
    client::HubMessage r;
    const std::uint32_t id = d.hub->command("connect", f);
    d.flush_hub();
    if (!d.wait_reply(id, r)) return d.error.empty() ? "the server did not answer connect" : d.error;
    if (!r.ok) return "connect refused (" + std::to_string(r.code) + "): " + r.reason;
    return {};
}

std::string Client::join(const std::string& room, const std::string& room_token) {
    Impl& d = *impl_;
    if (!d.hub || !d.hub->open()) return "not connected";
    if (d.joined) return "already in room " + d.room;
    std::string f = "\"room\":" + quoted(room);
    if (!room_token.empty()) f += ",\"token\":" + quoted(room_token);
    const std::uint32_t id = d.hub->command("room_join", f);
    d.flush_hub();
    client::HubMessage r;
    if (!d.wait_reply(id, r)) return d.error.empty() ? "the server did not answer room_join" : d.error;
    if (!r.ok) return "joining " + room + " refused (" + std::to_string(r.code) + "): " + r.reason;
    json::Value v;
    if (json::parse(r.json, v) != json::Error::None) return "bad room_join reply";
    std::vector<Participant> others;
    d.stun_servers.clear();
    d.turn_servers.clear();
    json::for_each_member(v, [&](std::string_view k, json::Value x) {
        if (json::key_is(k, "participant")) d.sid = parse_participant(x).sid;
        else if (json::key_is(k, "participants"))
            json::for_each_element(x, [&](json::Value p) { others.push_back(parse_participant(p)); });
        else if (json::key_is(k, "ice_servers"))
            json::for_each_element(x, [&](json::Value server) { d.add_ice_server(server); });
    });
    d.room = room;
    d.joined = true;
    d.participants.clear();
    const std::int64_t now = client_now_ms();
    // The newcomer offers to everyone already there (as the browser SDK does).
    for (const auto& p : others) {
        if (p.sid.empty() || p.sid == d.sid) continue;
        d.participants[p.sid] = p;
        Impl::Peer& peer = d.peer_for(p);
        std::string o;
        json::Writer w(o);
        w.begin_object().key("type").string("offer").key("sdp").string(peer.pc->create_offer(now)).end_object();
        d.signal(p.sid, "offer", o);
        peer.described = true;
        for (const auto& c : peer.local_candidates) d.send_candidate(peer, c);
        peer.local_candidates.clear();
    }
    return {};
}

void Client::leave() {
    Impl& d = *impl_;
    if (!d.joined) return;
    d.drop_peers("this side left the room");
    d.participants.clear();
    d.hub->command("room_leave", "\"room\":" + quoted(d.room));
    d.flush_hub();
    d.joined = false;
}

bool Client::poll(int timeout_ms) {
    Impl& d = *impl_;
    if (!d.error.empty() || !d.hub) return false;
    d.step(timeout_ms);
    d.replies.clear(); // replies nobody waits for (signals)
    return d.error.empty();
}

const std::string& Client::error() const { return impl_->error; }
const std::string& Client::sid() const { return impl_->sid; }

std::vector<Participant> Client::participants() const {
    std::vector<Participant> out;
    for (const auto& [s, p] : impl_->participants) out.push_back(p);
    return out;
}

bool Client::connected_to(const std::string& s) const { return impl_->connected_peer(s) != nullptr; }

int Client::send_message(const std::string& s, const std::string& text) {
    int n = 0;
    for (auto& [id, p] : impl_->peers) {
        if ((!s.empty() && id != s) || !p.connected || p.failed) continue;
        if (p.pc->send(kRoomChannel, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, false)) ++n;
    }
    return n;
}

int Client::open_channel(const std::string& s, const std::string& label, const ChannelOptions& options) {
    Impl::Peer* p = impl_->connected_peer(s);
    if (!p) return -1;
    rtc::sctp::ChannelOptions o;
    o.label = label;
    o.protocol = options.protocol;
    o.ordered = options.ordered;
    if (options.max_retransmits >= 0) {
        o.reliability = rtc::sctp::Reliability::Rexmit;
        o.param = static_cast<std::uint32_t>(options.max_retransmits);
    } else if (options.max_packet_life_time >= 0) {
        o.reliability = rtc::sctp::Reliability::Timed;
        o.param = static_cast<std::uint32_t>(options.max_packet_life_time);
    }
    return p->pc->create_data_channel(o);
}

bool Client::send(const std::string& s, int channel, std::span<const std::uint8_t> data, bool binary) {
    Impl::Peer* p = impl_->connected_peer(s);
    return p && channel > 0 && channel < 65535 && p->pc->send(static_cast<std::uint16_t>(channel), data, binary);
}

std::size_t Client::buffered_amount(const std::string& s, int channel) const {
    Impl::Peer* p = impl_->connected_peer(s);
    return p && channel >= 0 && channel < 65535 ? p->pc->buffered_amount(static_cast<std::uint16_t>(channel)) : 0;
}

void Client::close_channel(const std::string& s, int channel) {
    if (Impl::Peer* p = impl_->connected_peer(s); p && channel > 0 && channel < 65535)
        p->pc->close_channel(static_cast<std::uint16_t>(channel));
}

bool Client::settled() const { return impl_->settled(); }

std::string Client::send_file(const std::string& s, const std::string& path) { return impl_->start_send(s, path); }
void Client::accept_files(const std::string& directory) { impl_->accept_dir = directory.empty() ? "." : directory; }

void Client::cancel_file(const std::string& id) {
    auto it = impl_->transfers.find(id);
    if (it != impl_->transfers.end()) impl_->fail_transfer(it->second, "cancelled", true);
}

} // namespace switchboard
