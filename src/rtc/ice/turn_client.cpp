#include "rtc/ice/turn_client.hpp"

#include "stun/channel_data.hpp"
#include "stun/integrity.hpp"

#include <algorithm>

namespace switchboard::rtc::ice {

namespace {
constexpr int kAttempts = 6;             // 500 ms doubling: about 15 s (RFC 8489 Rc = 7)
constexpr std::int64_t kPermissionMs = 300000; // RFC 8656 §9: 5 minutes
constexpr std::int64_t kPermissionRefreshMs = 240000;
constexpr std::size_t kMaxPermissions = 64;
constexpr std::size_t kMaxRequests = 32;
constexpr std::size_t kMaxMessage = 1500;
} // namespace

TurnClient::TurnClient(const Address& host, TurnServer server, std::function<stun::TransactionId()> new_tid)
    : host_(host), server_(std::move(server)), new_tid_(std::move(new_tid)) {}

void TurnClient::start(std::int64_t now) { send(Kind::Allocate, now); }

void TurnClient::fail(std::string why) {
    if (state_ == State::Failed || state_ == State::Closed) return;
    state_ = State::Failed;
    error_ = std::move(why);
    requests_.clear();
}

void TurnClient::compose(Request& r) {
    std::array<std::uint8_t, kMaxMessage> buf;
    const stun::Method method = r.kind == Kind::Allocate  ? stun::Method::Allocate
                                : r.kind == Kind::Refresh ? stun::Method::Refresh
                                                          : stun::Method::CreatePermission;
    stun::Writer w(buf, method, stun::Class::Request, r.tid);
    if (r.kind == Kind::Allocate) w.add_u32(stun::attr::RequestedTransport, 17u << 24); // UDP
    if (r.kind == Kind::Refresh) w.add_u32(stun::attr::Lifetime, r.lifetime);
    if (r.kind == Kind::Permission) w.add_xor_address(stun::attr::XorPeerAddress, r.peer);
    if (authenticated_) {
        w.add(stun::attr::Username, server_.username);
        w.add(stun::attr::Realm, realm_);
        w.add(stun::attr::Nonce, nonce_);
        w.add_integrity(key_);
    }
    w.add_fingerprint();
    const std::size_t n = w.finish();
    r.bytes.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

void TurnClient::send(Kind kind, std::int64_t now, const Address& peer, std::uint32_t lifetime) {
    if (requests_.size() >= kMaxRequests) return;
    Request r;
    r.kind = kind;
    r.tid = new_tid_();
    r.peer = peer;
    r.lifetime = lifetime;
    r.attempts = 1;
    r.rto = 500;
    r.next_send = now + r.rto;
    compose(r);
    if (r.bytes.empty()) return;
    out_.push_back(r.bytes);
    requests_.push_back(std::move(r));
}

bool TurnClient::on_datagram(std::span<const std::uint8_t> d, std::int64_t now, Address& peer,
                             std::span<const std::uint8_t>& payload, bool& has_data) {
    has_data = false;
    if (stun::parse_channel_data(d)) return true; // only after a ChannelBind, which this client never makes
    auto parsed = stun::parse(d);
    if (!parsed) return false;
    const stun::MessageView& m = *parsed;
    if (m.cls() == stun::Class::Indication && m.method() == stun::Method::Data) {
        auto from = m.xor_address(stun::attr::XorPeerAddress);
        auto data = m.find(stun::attr::Data);
        if (state_ != State::Allocated || !from || !data) return true;
        peer = *from;
        payload = *data;
        has_data = true;
        return true;
    }
    if (m.cls() != stun::Class::Success && m.cls() != stun::Class::Error) return false;
    auto it = std::find_if(requests_.begin(), requests_.end(), [&](const Request& r) { return r.tid == m.transaction_id(); });
    if (it == requests_.end()) return false; // a Binding answer to the agent, say
    on_response(m, static_cast<std::size_t>(it - requests_.begin()), now);
    return true;
}

void TurnClient::on_response(const stun::MessageView& m, std::size_t index, std::int64_t now) {
    const auto it = requests_.begin() + static_cast<std::ptrdiff_t>(index);
    // A success must carry the key's signature: anything else is not the server's, and the
    // request stays outstanding (retransmitted) as if nothing had come.
    if (m.cls() == stun::Class::Success && authenticated_ && (!m.has_integrity() || !m.integrity_ok(key_))) return;
    Request r = std::move(*it);
    requests_.erase(it);
    if (m.cls() == stun::Class::Error) {
        const auto e = m.error_code();
        const int code = e ? e->first : 0;
        if ((code == 401 || code == 438) && auth_retries_ < 4) {
            ++auth_retries_;
            auto realm = m.text(stun::attr::Realm);
            auto nonce = m.text(stun::attr::Nonce);
            if (!nonce || (!realm && realm_.empty())) return fail("TURN: 401 without a realm and nonce");
            const bool refused = code == 401 && authenticated_; // a signed request refused: the credentials
            if (realm) realm_ = std::string(*realm);
            nonce_ = std::string(*nonce);
            key_ = stun::long_term_key_md5(server_.username, realm_, server_.password);
            authenticated_ = true;
            if (refused) return fail("TURN: the server refused the credentials (401)");
            send(r.kind, now, r.peer, r.lifetime);
            return;
        }
        if (r.kind == Kind::Allocate || r.kind == Kind::Refresh) {
            const std::string reason = e ? std::string(e->second) : std::string();
            return fail("TURN: " + std::string(r.kind == Kind::Allocate ? "Allocate" : "Refresh") + " refused: " +
                        std::to_string(code) + (reason.empty() ? "" : " " + reason));
        }
        return; // a refused permission: checks through it fail, which ICE handles
    }
    if (r.kind == Kind::Allocate) {
        auto relayed = m.xor_address(stun::attr::XorRelayedAddress);
        auto mapped = m.xor_address(stun::attr::XorMappedAddress);
        if (!relayed) return fail("TURN: Allocate succeeded without a relayed address");
        relayed_ = *relayed;
        if (mapped) mapped_ = *mapped;
        const std::uint32_t lifetime = m.u32(stun::attr::Lifetime).value_or(600);
        refresh_at_ = now + std::max<std::int64_t>(30, static_cast<std::int64_t>(lifetime) - 60) * 1000;
        state_ = State::Allocated;
        for (auto& p : permissions_)
            if (p.requested < 0) {
                p.requested = now;
                send(Kind::Permission, now, p.peer);
            }
    } else if (r.kind == Kind::Refresh) {
        const std::uint32_t lifetime = m.u32(stun::attr::Lifetime).value_or(600);
        refresh_at_ = now + std::max<std::int64_t>(30, static_cast<std::int64_t>(lifetime) - 60) * 1000;
    } else {
        for (auto& p : permissions_)
            if (p.peer == r.peer) p.expires = now + kPermissionMs;
    }
}

void TurnClient::permit(const Address& peer, std::int64_t now) {
    if (state_ == State::Failed || state_ == State::Closed) return;
    Address ip = peer;
    ip.port = 0;
    for (auto& p : permissions_)
        if (p.peer == ip) return;
    if (permissions_.size() >= kMaxPermissions) return;
    permissions_.push_back(Permission{ip, 0, -1});
    if (state_ == State::Allocated) {
        permissions_.back().requested = now;
        send(Kind::Permission, now, ip);
    }
}

bool TurnClient::wrap(const Address& peer, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
    if (state_ != State::Allocated || payload.size() > kMaxMessage) return false;
    out.resize(stun::kHeaderSize + 24 + 4 + payload.size() + 4);
    stun::Writer w(out, stun::Method::Send, stun::Class::Indication, new_tid_());
    w.add_xor_address(stun::attr::XorPeerAddress, peer);
    w.add(stun::attr::Data, payload);
    const std::size_t n = w.finish();
    out.resize(n);
    return n != 0;
}

bool TurnClient::poll_transmit(std::vector<std::uint8_t>& out) {
    if (out_.empty()) return false;
    out = std::move(out_.front());
    out_.pop_front();
    return true;
}

std::optional<std::int64_t> TurnClient::next_timeout() const {
    if (state_ == State::Failed || state_ == State::Closed) return std::nullopt;
    std::optional<std::int64_t> t;
    auto at = [&](std::int64_t v) { t = t ? std::min(*t, v) : v; };
    for (const auto& r : requests_) at(r.next_send);
    if (refresh_at_ >= 0) at(refresh_at_);
    for (const auto& p : permissions_)
        if (p.requested >= 0) at(p.requested + kPermissionRefreshMs);
    return t;
}

void TurnClient::on_timeout(std::int64_t now) {
    if (state_ == State::Failed || state_ == State::Closed) return;
    for (std::size_t i = 0; i < requests_.size();) {
        Request& r = requests_[i];
        if (r.next_send > now) {
            ++i;
            continue;
        }
        if (r.attempts >= kAttempts) {
            const Kind kind = r.kind;
            requests_.erase(requests_.begin() + static_cast<std::ptrdiff_t>(i));
            if (kind != Kind::Permission) return fail("TURN: no answer from " + server_.address.to_string());
            continue;
        }
        ++r.attempts;
        r.rto *= 2;
        r.next_send = now + r.rto;
        out_.push_back(r.bytes);
        ++i;
    }
    if (state_ == State::Allocated && refresh_at_ >= 0 && now >= refresh_at_) {
        refresh_at_ = now + 30000; // until the answer sets it
        send(Kind::Refresh, now);
    }
    for (auto& p : permissions_)
        if (state_ == State::Allocated && p.requested >= 0 && now >= p.requested + kPermissionRefreshMs) {
            p.requested = now;
            send(Kind::Permission, now, p.peer);
        }
}

void TurnClient::close() {
    if (state_ == State::Allocated) {
        Request r;
        r.kind = Kind::Refresh;
        r.tid = new_tid_();
        r.lifetime = 0;
        compose(r);
        if (!r.bytes.empty()) out_.push_back(r.bytes);
    }
    state_ = State::Closed;
    requests_.clear();
}

} // namespace switchboard::rtc::ice
