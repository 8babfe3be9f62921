// Fuzz target: the TURN server state machine (turn/server) driven by a sequence of events. The
// input is a list of records [kind][length: 2 bytes][bytes]:
//   kind 0: a datagram from one of four client addresses, as it is;
//   kind 1: the same, re-signed first: the STUN message is rewritten with a valid USERNAME,
//           REALM, the last NONCE the server gave and MESSAGE-INTEGRITY, so the fuzzer reaches
//           the authenticated paths (allocations, permissions, channels, relaying);
//   kind 2: a datagram from a peer on one of the open relays;
//   kind 3: time passes (the length field is the number of seconds; no bytes follow) and the
//           server ticks.
// Invariants: every answer is a STUN message or ChannelData that parses; answers to requests that
// were not authenticated stay within 2.7x of the request; relays are closed exactly once and
// the allocation count stays within the limit.
#include "stun/channel_data.hpp"
#include "stun/integrity.hpp"
#include "stun/message.hpp"
#include "turn/server.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::turn;

namespace {

struct FuzzHost : Host {
    virtual ~FuzzHost() = default;
    std::optional<RelayId> open_relay(stun::Family family, PortRequest port, stun::Address& relayed) override {
        if (open.size() >= 64) return std::nullopt;
        relayed = *stun::Address::parse(family == stun::Family::V4 ? "127.0.0.1:1" : "[::1]:1");
        relayed.port = port.exact ? port.exact : static_cast<std::uint16_t>(40000 + 2 * next);
        open.insert(next);
        return next++;
    }
    void close_relay(RelayId id) override {
        SB_FUZZ_CHECK(open.erase(id) == 1); // closed once, and only what was opened
    }
    bool reserve(stun::Family, std::uint16_t port, std::uint64_t& token) override {
        token = 7000 + port;
        reserved.insert(token);
        return true;
    }
    std::optional<RelayId> take_reservation(std::uint64_t token, stun::Address& relayed) override {
        if (!reserved.erase(token)) return std::nullopt;
        relayed = *stun::Address::parse("127.0.0.1:1");
        open.insert(next);
        return next++;
    }
    std::optional<RelayId> open_tcp_relay(stun::Family, stun::Address& relayed) override {
        if (open.size() >= 64) return std::nullopt;
        relayed = *stun::Address::parse("127.0.0.1:1");
        open.insert(next);
        return next++;
    }
    void connect_peer(RelayId relay, std::uint32_t connection, const stun::Address&) override {
        SB_FUZZ_CHECK(open.count(relay) == 1);
        connecting.push_back(connection);
    }
    void close_peer(std::uint32_t) override {}
    void bind_data(std::uint32_t, const ClientTuple& data) override { SB_FUZZ_CHECK(data.transport != Transport::Udp); }
    std::vector<std::uint32_t> connecting;
    void to_client(const ClientTuple&, std::span<const std::uint8_t> bytes) override {
        SB_FUZZ_CHECK(!bytes.empty());
        if (bytes[0] >= 0x40) {
            SB_FUZZ_CHECK(stun::parse_channel_data(bytes).has_value());
            return;
        }
        auto m = stun::parse(bytes);
        SB_FUZZ_CHECK(m.ok());
        if (auto n = m->text(stun::attr::Nonce)) nonce.assign(*n);
        if (m->cls() == stun::Class::Error && !m->has_integrity()) SB_FUZZ_CHECK(bytes.size() * 10 <= request_size * 27);
    }
    void to_peer(RelayId from, const stun::Address&, std::span<const std::uint8_t>) override {
        SB_FUZZ_CHECK(open.count(from) == 1);
    }
    std::set<RelayId> open;
    std::set<std::uint64_t> reserved;
    RelayId next = 1;
    std::string nonce;
    std::size_t request_size = 0;
};

// Rewrites a STUN message with valid credentials; returns its size or 0.
std::size_t resign(std::span<const std::uint8_t> in, const std::string& nonce, std::vector<std::uint8_t>& out) {
    auto m = stun::parse(in);
    if (!m) return 0;
    out.resize(in.size() + 256);
    stun::Writer w(out, m->raw_method(), m->cls(), m->transaction_id());
    for (const auto& a : m->attributes()) {
        if (a.type == stun::attr::Username || a.type == stun::attr::Realm || a.type == stun::attr::Nonce) continue;
        w.add(a.type, in.subspan(a.offset, a.length));
    }
    w.add(stun::attr::Username, std::string_view("alice"));
    w.add(stun::attr::Realm, std::string_view("fuzz"));
    w.add(stun::attr::Nonce, nonce);
    static const auto key = stun::long_term_key_md5("alice", "fuzz", "secret");
    w.add_integrity(key);
    if (m->has_fingerprint()) w.add_fingerprint();
    return w.finish();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzHost host;
    Credentials creds("fuzz");
    creds.add_user("alice", "secret");
    PeerPolicy policy;
    policy.allow(*stun::Cidr::parse("127.0.0.0/8"));
    UserQuota quota;
    Limits limits;
    limits.max_allocations = 8;
    limits.max_permissions = 4;
    limits.max_channels = 4;
    limits.unauth_per_s = 1000;
    limits.bandwidth_bytes_per_s = 5000;
    Server::Now now{1000, 1800000000};
    std::vector<std::uint8_t> buf;
    {
        Server server(host, creds, policy, quota, limits);
        std::size_t pos = 0;
        while (pos + 3 <= size) {
            std::uint8_t kind = data[pos] & 3;
            std::uint8_t who = static_cast<std::uint8_t>(data[pos] >> 2);
            std::size_t len = std::size_t{data[pos + 1]} << 8 | data[pos + 2];
            pos += 3;
            if (kind == 3) { // time passes: the length field is the seconds, no bytes follow
                now.mono_ms += 1000ull * len;
                now.unix_s += len;
                server.tick(now);
                continue;
            }
            len = std::min(len, size - pos);
            std::span<const std::uint8_t> bytes(data + pos, len);
            pos += len;
            ClientTuple from{*stun::Address::parse("192.0.2.1:1000"), *stun::Address::parse("192.0.2.9:3478"),
                             (who & 4) ? Transport::Tcp : Transport::Udp, (who & 4) ? 1u : 0u};
            from.client.port = static_cast<std::uint16_t>(1000 + (who & 3));
            switch (kind) {
            case 0:
                host.request_size = bytes.size();
                server.on_client(now, from, bytes);
                break;
            case 1: {
                std::size_t n = resign(bytes, host.nonce.empty() ? std::string("x") : host.nonce, buf);
                if (!n) break;
                host.request_size = n;
                server.on_client(now, from, {buf.data(), n});
                break;
            }
            case 2:
                // Peers: a byte of `who` picks between a datagram, a TCP peer connecting in and
                // the outcome of a Connect.
                if (!host.connecting.empty() && (who & 8)) {
                    server.on_peer_connected(now, host.connecting.back(), (who & 16) != 0);
                    host.connecting.pop_back();
                    break;
                }
                if (!host.open.empty() && (who & 32)) {
                    RelayId id = *std::next(host.open.begin(), static_cast<long>(who % host.open.size()));
                    (void)server.on_peer_accepted(now, id, *stun::Address::parse("127.0.0.1:5000"));
                    break;
                }
                if (!host.open.empty()) {
                    RelayId id = *std::next(host.open.begin(), static_cast<long>(who % host.open.size()));
                    server.on_peer(now, id, *stun::Address::parse("127.0.0.1:5000"), bytes);
                }
                break;
            default: break;
            }
            SB_FUZZ_CHECK(server.allocation_count() <= limits.max_allocations);
        }
    }
    SB_FUZZ_CHECK(host.open.empty()); // the server closed every relay it was given
    return 0;
}
