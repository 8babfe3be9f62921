// turn::Server against a recording host: every error answer the issue lists, the security
// defaults (each denied range, the IPv4-mapped form, quotas, rate limits), and the data paths.
#include "turn/server.hpp"

#include "stun/channel_data.hpp"
#include "stun/integrity.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace switchboard::turn {
namespace {

using stun::Address;
namespace attr = stun::attr;

struct Sent {
    ClientTuple to;
    std::vector<std::uint8_t> bytes;
};
struct PeerSent {
    RelayId from;
    Address peer;
    std::vector<std::uint8_t> bytes;
};

class FakeHost : public Host {
  public:
    virtual ~FakeHost() = default;
    std::optional<RelayId> open_relay(stun::Family family, PortRequest port, Address& relayed) override {
        if (refuse) return std::nullopt;
        relayed = *Address::parse(family == stun::Family::V4 ? "127.0.0.1:50000" : "[::1]:50000");
        relayed.port = static_cast<std::uint16_t>(50000 + next);
        if (port.even && relayed.port % 2) ++relayed.port;
        if (port.exact) relayed.port = port.exact;
        open.push_back(next);
        return next++;
    }
    void close_relay(RelayId id) override { std::erase(open, id); closed.push_back(id); }
    bool reserve(stun::Family, std::uint16_t port, std::uint64_t& token) override {
        if (refuse) return false;
        token = 1000 + port;
        reserved[token] = port;
        return true;
    }
    std::optional<RelayId> take_reservation(std::uint64_t token, Address& relayed) override {
        auto it = reserved.find(token);
        if (it == reserved.end()) return std::nullopt;
        relayed = *Address::parse("127.0.0.1:1");
        relayed.port = it->second;
        reserved.erase(it);
        open.push_back(next);
        return next++;
    }
    std::map<std::uint64_t, std::uint16_t> reserved;
    std::optional<RelayId> open_tcp_relay(stun::Family, Address& relayed) override {
        if (refuse) return std::nullopt;
        relayed = *Address::parse("127.0.0.1:60000");
        relayed.port = static_cast<std::uint16_t>(60000 + next);
        open.push_back(next);
        tcp_relays.push_back(next);
        return next++;
    }
    void connect_peer(RelayId relay, std::uint32_t connection, const Address& peer) override {
        connects.push_back({relay, connection, peer});
    }
    void close_peer(std::uint32_t connection) override { closed_peers.push_back(connection); }
    void bind_data(std::uint32_t connection, const ClientTuple& data) override { binds.push_back({connection, data}); }
    struct Connect {
        RelayId relay;
        std::uint32_t connection;
        Address peer;
    };
    std::vector<RelayId> tcp_relays;
    std::vector<Connect> connects;
    std::vector<std::uint32_t> closed_peers;
    std::vector<std::pair<std::uint32_t, ClientTuple>> binds;
    void to_client(const ClientTuple& to, std::span<const std::uint8_t> b) override { clients.push_back({to, {b.begin(), b.end()}}); }
    void to_peer(RelayId from, const Address& peer, std::span<const std::uint8_t> b) override {
        peers.push_back({from, peer, {b.begin(), b.end()}});
    }
    bool relay_live(const Address& relayed) const override { return live_relay_ports.count(relayed.port) > 0; }
    std::set<std::uint16_t> live_relay_ports;
    bool refuse = false;
    RelayId next = 1;
    std::vector<RelayId> open, closed;
    std::vector<Sent> clients;
    std::vector<PeerSent> peers;
};

struct Request {
    using Attrs = std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>>;
    explicit Request(stun::Method m, Attrs a = {}) : method(m), attrs(std::move(a)) {}
    stun::Method method;
    Attrs attrs;
    std::vector<Address> peers;
    bool integrity = true;
    bool sha256 = false;
    bool fingerprint = false;
    std::string user = "alice", realm = "switchboard", password = "secret";
    std::string nonce; // filled from the last 401/438 when empty
    stun::TransactionId tid{};
};

class TurnServerTest : public ::testing::Test {
  protected:
    TurnServerTest() : creds("switchboard") {
        creds.add_user("alice", "secret");
        creds.add_user("bob", "hunter2");
        policy.allow(*stun::Cidr::parse("127.0.0.0/8")); // the peers of these tests live on loopback
        make_server();
    }
    void make_server() {
        server.reset();
        server = std::make_unique<Server>(host, creds, policy, quota, limits);
    }

    ClientTuple tuple(std::string_view client = "192.0.2.10:40000") {
        return ClientTuple{*Address::parse(client), *Address::parse("192.0.2.1:3478"), Transport::Udp, 0};
    }

    std::vector<std::uint8_t> encode(Request r, const ClientTuple& from) {
        static std::uint8_t n = 0;
        if (r.tid == stun::TransactionId{}) r.tid[0] = ++n, r.tid[1] = 0x5a;
        std::vector<std::uint8_t> buf(1500);
        stun::Writer w(buf, r.method, stun::Class::Request, r.tid);
        for (auto& [t, v] : r.attrs) w.add(t, v);
        for (auto& p : r.peers) w.add_xor_address(attr::XorPeerAddress, p);
        if (r.integrity) {
            w.add(attr::Username, r.user);
            w.add(attr::Realm, r.realm);
            w.add(attr::Nonce, r.nonce.empty() ? nonce_for(from) : r.nonce);
            if (r.sha256) {
                auto k = stun::long_term_key_md5(r.user, r.realm, r.password);
                w.add_integrity_sha256(k);
            } else {
                w.add_integrity(stun::long_term_key_md5(r.user, r.realm, r.password));
            }
        }
        if (r.fingerprint) w.add_fingerprint();
        buf.resize(w.finish());
        return buf;
    }

    // Asks once without credentials and keeps the nonce of the 401.
    std::string nonce_for(const ClientTuple& from) {
        Request r{stun::Method::Allocate, {{attr::RequestedTransport, {17, 0, 0, 0}}}};
        r.integrity = false;
        auto bytes = encode(r, from);
        server->on_client(now, from, bytes);
        auto m = last();
        auto n = m.text(attr::Nonce);
        return n ? std::string(*n) : std::string();
    }

    stun::MessageView last() {
        EXPECT_FALSE(host.clients.empty());
        kept = host.clients.back().bytes;
        auto m = stun::parse(kept);
        EXPECT_TRUE(m.ok());
        return *m;
    }
    int send(Request r, const ClientTuple& from) {
        auto bytes = encode(std::move(r), from);
        std::size_t before = host.clients.size();
        server->on_client(now, from, bytes);
        if (host.clients.size() == before) return 0; // no answer
        auto m = last();
        if (m.cls() == stun::Class::Success) return 200;
        return m.error_code() ? m.error_code()->first : -1;
    }
    Request allocate_req() { return Request{stun::Method::Allocate, {{attr::RequestedTransport, {17, 0, 0, 0}}}}; }
    Request permission_req(std::string_view peer) {
        Request r{stun::Method::CreatePermission};
        r.peers.push_back(*Address::parse(peer));
        return r;
    }

    Server::Now now{1000000, 1800000000};
    FakeHost host;
    Credentials creds;
    PeerPolicy policy;
    UserQuota quota;
    Limits limits;
    std::unique_ptr<Server> server;
    std::vector<std::uint8_t> kept;
};

TEST_F(TurnServerTest, BindingAnswersMappedAddressSmall) {
    auto from = tuple();
    std::uint8_t req[20];
    stun::Writer w(req, stun::Method::Binding, stun::Class::Request, stun::TransactionId{7});
    server->on_client(now, from, {req, w.finish()});
    auto m = last();
    EXPECT_EQ(m.cls(), stun::Class::Success);
    EXPECT_EQ(m.xor_address(attr::XorMappedAddress)->to_string(), "192.0.2.10:40000");
    EXPECT_FALSE(m.has(attr::Software));
    // RFC 5389-style client with FINGERPRINT: answer within 1.6x of the request.
    std::uint8_t req2[28];
    stun::Writer w2(req2, stun::Method::Binding, stun::Class::Request, stun::TransactionId{8});
    w2.add_fingerprint();
    std::size_t n = w2.finish();
    server->on_client(now, from, {req2, n});
    EXPECT_LE(host.clients.back().bytes.size() * 10, n * 16);
    EXPECT_TRUE(last().fingerprint_ok());
}

TEST_F(TurnServerTest, UnauthenticatedAllocateGets401WithRealmAndNonce) {
    auto from = tuple();
    Request r = allocate_req();
    r.integrity = false;
    r.fingerprint = true;
    auto bytes = encode(r, from);
    server->on_client(now, from, bytes);
    auto m = last();
    EXPECT_EQ(m.error_code()->first, 401);
    EXPECT_EQ(m.text(attr::Realm), "switchboard");
    EXPECT_TRUE(m.has(attr::Nonce));
    EXPECT_FALSE(m.has(attr::Software));
    EXPECT_LE(host.clients.back().bytes.size() * 10, bytes.size() * 27); // at most 2.7x
    EXPECT_EQ(server->allocation_count(), 0u);
    EXPECT_TRUE(host.open.empty());
    // The smallest Allocate (28 bytes): the reason phrase is dropped to stay within 2.7x.
    r.fingerprint = false;
    bytes = encode(r, from);
    ASSERT_EQ(bytes.size(), 28u);
    server->on_client(now, from, bytes);
    EXPECT_EQ(last().error_code()->first, 401);
    EXPECT_LE(host.clients.back().bytes.size() * 10, bytes.size() * 27);
}

TEST_F(TurnServerTest, AllocateWithStaticUser) {
    auto from = tuple();
    EXPECT_EQ(send(allocate_req(), from), 200);
    auto m = last();
    EXPECT_EQ(m.xor_address(attr::XorRelayedAddress)->port, 50001);
    EXPECT_EQ(m.u32(attr::Lifetime), 600u);
    EXPECT_EQ(m.xor_address(attr::XorMappedAddress)->to_string(), "192.0.2.10:40000");
    EXPECT_TRUE(m.integrity_ok(stun::long_term_key_md5("alice", "switchboard", "secret")));
    EXPECT_EQ(server->allocation_count(), 1u);
    EXPECT_EQ(server->stats().allocations.get(), 1u);
}

TEST_F(TurnServerTest, AllocateWithRestCredentialsAndRotation) {
    creds.set_secrets({"new-secret", "old-secret"});
    auto from = tuple();
    std::string user = rest_username(now.unix_s + 3600, "carol");
    Request r = allocate_req();
    r.user = user;
    r.password = rest_password("old-secret", user);
    EXPECT_EQ(send(r, from), 200);
    // Expired REST username: 401.
    auto from2 = tuple("192.0.2.11:40000");
    Request old = allocate_req();
    old.user = rest_username(now.unix_s - 1, "carol");
    old.password = rest_password("new-secret", old.user);
    EXPECT_EQ(send(old, from2), 401);
    // Wrong password for a known user: 401.
    Request bad = allocate_req();
    bad.password = "nope";
    EXPECT_EQ(send(bad, from2), 401);
    EXPECT_EQ(server->stats().auth_failures.get(), 2u);
}

TEST_F(TurnServerTest, Sha256IntegrityIsAnsweredInKind) {
    auto from = tuple();
    Request r = allocate_req();
    r.sha256 = true;
    EXPECT_EQ(send(r, from), 200);
    auto m = last();
    EXPECT_TRUE(m.has_integrity_sha256());
    EXPECT_TRUE(m.integrity_sha256_ok(stun::long_term_key_md5("alice", "switchboard", "secret")));
}

TEST_F(TurnServerTest, StaleAndForgedNoncesGet438) {
    auto from = tuple();
    Request r = allocate_req();
    r.nonce = nonce_for(from);
    now.unix_s += NonceMaker::kLifetimeS + 1;
    EXPECT_EQ(send(r, from), 438);
    EXPECT_TRUE(last().has(attr::Nonce));
    Request forged = allocate_req();
    forged.nonce = std::string(24, 'a');
    EXPECT_EQ(send(forged, from), 438);
    // A nonce given to another address is not valid here.
    Request moved = allocate_req();
    moved.nonce = nonce_for(tuple("198.51.100.7:1"));
    EXPECT_EQ(send(moved, from), 438);
    Request realm = allocate_req();
    realm.realm = "other";
    EXPECT_EQ(send(realm, from), 438);
}

TEST_F(TurnServerTest, AllocateErrors) {
    auto from = tuple();
    Request none{stun::Method::Allocate};
    EXPECT_EQ(send(none, from), 400);
    Request sctp{stun::Method::Allocate, {{attr::RequestedTransport, {132, 0, 0, 0}}}};
    EXPECT_EQ(send(sctp, from), 442);
    Request fam = allocate_req();
    fam.attrs.push_back({attr::RequestedAddressFamily, {3, 0, 0, 0}});
    EXPECT_EQ(send(fam, from), 440);
    Request unknown = allocate_req();
    unknown.attrs.push_back({0x0031, {1, 2, 3, 4}});
    EXPECT_EQ(send(unknown, from), 420);
    EXPECT_EQ(last().find(attr::UnknownAttributes)->size(), 2u);
    host.refuse = true;
    EXPECT_EQ(send(allocate_req(), from), 508);
    host.refuse = false;
    EXPECT_EQ(send(allocate_req(), from), 200);
    // A second Allocate on the same 5-tuple (a new transaction) is a mismatch.
    EXPECT_EQ(send(allocate_req(), from), 437);
}

TEST_F(TurnServerTest, RetransmittedAllocateGetsTheSameAnswer) {
    auto from = tuple();
    Request r = allocate_req();
    r.tid = stun::TransactionId{9, 9, 9};
    r.nonce = nonce_for(from);
    EXPECT_EQ(send(r, from), 200);
    auto first = last().xor_address(attr::XorRelayedAddress);
    EXPECT_EQ(send(r, from), 200);
    EXPECT_EQ(last().xor_address(attr::XorRelayedAddress), first);
    EXPECT_EQ(host.open.size(), 1u);
}

TEST_F(TurnServerTest, EvenPortReservation) {
    auto from = tuple();
    Request r = allocate_req();
    r.attrs.push_back({attr::EvenPort, {0x80, 0, 0, 0}}); // R: reserve the next port
    EXPECT_EQ(send(r, from), 200);
    auto m = last();
    auto relayed = *m.xor_address(attr::XorRelayedAddress);
    EXPECT_EQ(relayed.port % 2, 0);
    auto token = m.find(attr::ReservationToken);
    ASSERT_TRUE(token);
    ASSERT_EQ(token->size(), 8u);
    std::vector<std::uint8_t> t(token->begin(), token->end());
    EXPECT_EQ(host.open.size(), 1u);
    EXPECT_EQ(host.reserved.size(), 1u); // the odd port held aside

    auto other = tuple("192.0.2.10:40001");
    Request with_token = allocate_req();
    with_token.attrs.push_back({attr::ReservationToken, t});
    EXPECT_EQ(send(with_token, other), 200);
    EXPECT_EQ(last().xor_address(attr::XorRelayedAddress)->port, relayed.port + 1);
    EXPECT_EQ(host.open.size(), 2u);
    EXPECT_TRUE(host.reserved.empty());
    // A token is good once.
    EXPECT_EQ(send(with_token, tuple("192.0.2.10:40002")), 508);
    Request both = allocate_req();
    both.attrs.push_back({attr::ReservationToken, t});
    both.attrs.push_back({attr::EvenPort, {0, 0, 0, 0}});
    EXPECT_EQ(send(both, tuple("192.0.2.10:40003")), 400);
}

TEST_F(TurnServerTest, TcpAllocationConnectAndBind) {
    ClientTuple control = tuple();
    control.transport = Transport::Tcp;
    control.conn = 1;
    Request tcp_over_udp{stun::Method::Allocate, {{attr::RequestedTransport, {6, 0, 0, 0}}}};
    EXPECT_EQ(send(tcp_over_udp, tuple()), 400); // RFC 6062: TCP relays are controlled over TCP
    Request alloc{stun::Method::Allocate, {{attr::RequestedTransport, {6, 0, 0, 0}}}};
    EXPECT_EQ(send(alloc, control), 200);
    ASSERT_EQ(host.tcp_relays.size(), 1u);
    Request ch{stun::Method::ChannelBind, {{attr::ChannelNumber, {0x40, 0, 0, 0}}}};
    ch.peers.push_back(*Address::parse("127.0.0.1:7000"));
    EXPECT_EQ(send(ch, control), 400); // no channels on a TCP allocation

    Request connect{stun::Method::Connect};
    connect.peers.push_back(*Address::parse("127.0.0.1:7000"));
    EXPECT_EQ(send(connect, control), 0); // answered once the connection is up
    ASSERT_EQ(host.connects.size(), 1u);
    EXPECT_EQ(send(connect, control), 446); // one at a time per peer
    std::uint32_t id = host.connects[0].connection;
    server->on_peer_connected(now, id, true);
    auto ok = last();
    EXPECT_EQ(ok.cls(), stun::Class::Success);
    EXPECT_EQ(ok.u32(attr::ConnectionId), id);
    EXPECT_TRUE(ok.integrity_ok(stun::long_term_key_md5("alice", "switchboard", "secret")));

    ClientTuple data = control;
    data.client.port = 40001;
    data.conn = 2;
    Request bind{stun::Method::ConnectionBind, {{attr::ConnectionId, {0, 0, 0, 0}}}};
    bind.attrs[0].second = {static_cast<std::uint8_t>(id >> 24), static_cast<std::uint8_t>(id >> 16),
                            static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)};
    Request wrong = bind;
    wrong.user = "bob";
    wrong.password = "hunter2";
    EXPECT_EQ(send(wrong, data), 441);
    EXPECT_EQ(send(bind, data), 200);
    ASSERT_EQ(host.binds.size(), 1u);
    EXPECT_EQ(host.binds[0].first, id);
    EXPECT_EQ(send(bind, data), 400); // bound once

    // A failed connect is answered 447.
    Request other{stun::Method::Connect};
    other.peers.push_back(*Address::parse("127.0.0.1:7001"));
    EXPECT_EQ(send(other, control), 0);
    server->on_peer_connected(now, host.connects.back().connection, false);
    EXPECT_EQ(last().error_code()->first, 447);
    Request denied{stun::Method::Connect};
    denied.peers.push_back(*Address::parse("10.0.0.1:80"));
    EXPECT_EQ(send(denied, control), 403); // the deny list applies to Connect too
}

TEST_F(TurnServerTest, TcpPeerConnectingInNeedsAPermission) {
    ClientTuple control = tuple();
    control.transport = Transport::Tcp;
    control.conn = 1;
    Request alloc{stun::Method::Allocate, {{attr::RequestedTransport, {6, 0, 0, 0}}}};
    EXPECT_EQ(send(alloc, control), 200);
    RelayId relay = host.tcp_relays.back();
    EXPECT_FALSE(server->on_peer_accepted(now, relay, *Address::parse("127.0.0.1:7000")));
    EXPECT_EQ(send(permission_req("127.0.0.1:1"), control), 200);
    auto id = server->on_peer_accepted(now, relay, *Address::parse("127.0.0.1:7000"));
    ASSERT_TRUE(id);
    auto attempt = last();
    EXPECT_EQ(attempt.method(), stun::Method::ConnectionAttempt);
    EXPECT_EQ(attempt.u32(attr::ConnectionId), *id);
    EXPECT_EQ(attempt.xor_address(attr::XorPeerAddress)->to_string(), "127.0.0.1:7000");
    // Nobody binds it: closed after 30 s.
    now.mono_ms += 31 * 1000;
    server->tick(now);
    ASSERT_EQ(host.closed_peers.size(), 1u);
    EXPECT_EQ(host.closed_peers[0], *id);
}

TEST_F(TurnServerTest, QuotaPerUser) {
    limits.max_allocations_per_user = 2;
    make_server();
    EXPECT_EQ(send(allocate_req(), tuple("192.0.2.10:1")), 200);
    EXPECT_EQ(send(allocate_req(), tuple("192.0.2.10:2")), 200);
    EXPECT_EQ(send(allocate_req(), tuple("192.0.2.10:3")), 486);
    Request bob = allocate_req();
    bob.user = "bob";
    bob.password = "hunter2";
    EXPECT_EQ(send(bob, tuple("192.0.2.10:3")), 200);
    // Freeing one makes room again.
    Request zero{stun::Method::Refresh, {{attr::Lifetime, {0, 0, 0, 0}}}};
    EXPECT_EQ(send(zero, tuple("192.0.2.10:1")), 200);
    EXPECT_EQ(send(allocate_req(), tuple("192.0.2.10:3")), 437); // bob holds that 5-tuple
    EXPECT_EQ(send(allocate_req(), tuple("192.0.2.10:4")), 200);
}

TEST_F(TurnServerTest, RefreshZeroThenReallocateFromTheSameAddress) {
    auto from = tuple();
    EXPECT_EQ(send(allocate_req(), from), 200);
    Request zero{stun::Method::Refresh, {{attr::Lifetime, {0, 0, 0, 0}}}};
    EXPECT_EQ(send(zero, from), 200);
    EXPECT_EQ(last().u32(attr::Lifetime), 0u);
    EXPECT_EQ(server->allocation_count(), 0u);
    EXPECT_TRUE(host.open.empty());
    EXPECT_EQ(send(allocate_req(), from), 200); // no 437
}

TEST_F(TurnServerTest, RefreshErrors) {
    auto from = tuple();
    Request refresh{stun::Method::Refresh};
    EXPECT_EQ(send(refresh, from), 437);
    EXPECT_EQ(send(allocate_req(), from), 200);
    Request other = refresh;
    other.user = "bob";
    other.password = "hunter2";
    EXPECT_EQ(send(other, from), 441);
    Request fam{stun::Method::Refresh, {{attr::RequestedAddressFamily, {2, 0, 0, 0}}}};
    EXPECT_EQ(send(fam, from), 443);
    Request longer{stun::Method::Refresh, {{attr::Lifetime, {0, 0, 0x27, 0x10}}}}; // 10,000 s
    EXPECT_EQ(send(longer, from), 200);
    EXPECT_EQ(last().u32(attr::Lifetime), 3600u);
}

TEST_F(TurnServerTest, EveryDeniedRangeIsForbiddenByDefault) {
    PeerPolicy strict; // nothing allowed
    Server s(host, creds, strict, quota, limits);
    server.reset();
    auto from = tuple();
    auto run = [&](Request r) {
        auto bytes = encode(r, from);
        std::size_t before = host.clients.size();
        s.on_client(now, from, bytes);
        if (host.clients.size() == before) return 0;
        auto m = last();
        return m.cls() == stun::Class::Success ? 200 : m.error_code()->first;
    };
    // encode() asks the server for a nonce through `server`, so give it one of s's.
    auto nonce = [&] {
        Request r = allocate_req();
        r.integrity = false;
        auto b = encode(r, from);
        s.on_client(now, from, b);
        return std::string(*last().text(attr::Nonce));
    };
    Request a = allocate_req();
    a.nonce = nonce();
    ASSERT_EQ(run(a), 200);
    const char* denied[] = {"127.0.0.1:9", "127.255.0.1:9", "0.0.0.0:9", "10.1.2.3:9", "172.16.0.1:9",
                            "172.31.255.254:9", "192.168.1.1:9", "100.64.0.1:9", "169.254.0.1:9",
                            "169.254.169.254:80", "224.0.0.1:9", "239.255.255.250:1900", "255.255.255.255:9",
                            "240.0.0.1:9", "198.18.0.1:9"};
    for (const char* peer : denied) {
        Request p = permission_req(peer);
        p.nonce = a.nonce;
        EXPECT_EQ(run(p), 403) << peer;
    }
    Request ok = permission_req("203.0.113.5:9");
    ok.nonce = a.nonce;
    EXPECT_EQ(run(ok), 403) << "documentation range is reserved";
    Request pub = permission_req("8.8.8.8:53");
    pub.nonce = a.nonce;
    EXPECT_EQ(run(pub), 200);
    EXPECT_GT(s.stats().denied[static_cast<std::size_t>(Denial::Metadata)].get(), 0u);
    EXPECT_GT(s.stats().denied[static_cast<std::size_t>(Denial::Private)].get(), 0u);
}

TEST_F(TurnServerTest, PolicyJudgesTheCanonicalAddress) {
    PeerPolicy p;
    EXPECT_EQ(p.check(*Address::parse("[::ffff:127.0.0.1]:1")), Denial::Loopback);
    EXPECT_EQ(p.check(*Address::parse("[::ffff:169.254.169.254]:80")), Denial::Metadata);
    EXPECT_EQ(p.check(*Address::parse("[::ffff:10.0.0.1]:1")), Denial::Private);
    EXPECT_EQ(p.check(*Address::parse("[::127.0.0.1]:1")), Denial::Loopback);
    EXPECT_EQ(p.check(*Address::parse("[::1]:1")), Denial::Loopback);
    EXPECT_EQ(p.check(*Address::parse("[::]:1")), Denial::Unspecified);
    EXPECT_EQ(p.check(*Address::parse("[fd00::1]:1")), Denial::Private);
    EXPECT_EQ(p.check(*Address::parse("[fe80::1]:1")), Denial::LinkLocal);
    EXPECT_EQ(p.check(*Address::parse("[ff02::1]:1")), Denial::Multicast);
    EXPECT_EQ(p.check(*Address::parse("[2606:4700::1]:1")), Denial::None);
    p.add_own(*Address::parse("203.0.113.1:3478"));
    p.allow(*stun::Cidr::parse("203.0.113.0/24"));
    EXPECT_EQ(p.check(*Address::parse("203.0.113.1:5")), Denial::None); // the allow-list wins
    PeerPolicy q;
    q.add_own(*Address::parse("8.8.4.4:3478"));
    EXPECT_EQ(q.check(*Address::parse("[::ffff:8.8.4.4]:5")), Denial::Own);
    q.add_own(*Address::parse("127.0.0.1:3478"));
    EXPECT_EQ(q.check(*Address::parse("127.0.0.1:5")), Denial::Loopback); // the more telling reason
}

TEST_F(TurnServerTest, AnotherAllocationsRelayIsReachableButNothingElseAtItsAddress) {
    // Two clients relaying through this server (relay-only ICE on both sides) must reach each
    // other's relayed address, which is one of the server's own; its other ports must not open.
    policy.add_relay(*Address::parse("10.0.0.5:0")); // a private address: denied but for this
    make_server();
    Server& s = *server;
    host.live_relay_ports = {50001};
    auto from = tuple();
    auto with_nonce = [&](Request r) { return send(std::move(r), from); };
    ASSERT_EQ(with_nonce(allocate_req()), 200);
    EXPECT_EQ(policy.check(*Address::parse("10.0.0.5:50001")), Denial::Private);
    EXPECT_EQ(with_nonce(permission_req("10.0.0.6:50001")), 403) << "not a relay address";
    // A permission's port means nothing (clients send 0): the IP earns a relay-only permission.
    EXPECT_EQ(with_nonce(permission_req("10.0.0.5:0")), 200);

    auto indication = [&](std::string_view peer) {
        std::vector<std::uint8_t> b(200);
        stun::Writer w(b, stun::Method::Send, stun::Class::Indication, stun::TransactionId{3});
        w.add_xor_address(attr::XorPeerAddress, *Address::parse(peer));
        w.add(attr::Data, std::string_view("x"));
        b.resize(w.finish());
        s.on_client(now, from, b);
    };
    auto own_denials = [&] { return s.stats().denied[static_cast<std::size_t>(Denial::Own)].get(); };
    indication("10.0.0.5:50001");
    ASSERT_EQ(host.peers.size(), 1u);
    EXPECT_EQ(host.peers[0].peer.to_string(), "10.0.0.5:50001");
    // The permission is per IP, yet another port at that IP stays shut.
    auto before = own_denials();
    indication("10.0.0.5:8080");
    EXPECT_EQ(host.peers.size(), 1u);
    EXPECT_EQ(own_denials(), before + 1);

    auto bind = [&](std::uint8_t low, std::string_view peer) {
        Request r{stun::Method::ChannelBind, {{attr::ChannelNumber, {0x40, low, 0, 0}}}};
        r.peers.push_back(*Address::parse(peer));
        return with_nonce(std::move(r));
    };
    EXPECT_EQ(bind(1, "10.0.0.5:8080"), 403);
    EXPECT_EQ(bind(2, "10.0.0.5:50001"), 200);
    std::uint8_t cd[] = {0x40, 0x02, 0x00, 0x01, 'y', 0, 0, 0};
    s.on_client(now, from, cd);
    ASSERT_EQ(host.peers.size(), 2u);

    // The other relay goes (its port may be anyone's next): nothing more reaches that port.
    host.live_relay_ports.clear();
    s.on_client(now, from, cd);
    indication("10.0.0.5:50001");
    EXPECT_EQ(host.peers.size(), 2u);
    EXPECT_EQ(own_denials(), before + 3);
}

TEST_F(TurnServerTest, PermissionAndChannelErrors) {
    auto from = tuple();
    EXPECT_EQ(send(permission_req("127.0.0.1:5000"), from), 437);
    EXPECT_EQ(send(allocate_req(), from), 200);
    EXPECT_EQ(send(Request{stun::Method::CreatePermission}, from), 400);
    EXPECT_EQ(send(permission_req("[::1]:5000"), from), 443);
    Request bob = permission_req("127.0.0.1:5000");
    bob.user = "bob";
    bob.password = "hunter2";
    EXPECT_EQ(send(bob, from), 441);
    EXPECT_EQ(send(permission_req("127.0.0.1:5000"), from), 200);

    auto bind = [&](std::uint16_t ch, std::string_view peer) {
        Request r{stun::Method::ChannelBind, {{attr::ChannelNumber, {static_cast<std::uint8_t>(ch >> 8), static_cast<std::uint8_t>(ch), 0, 0}}}};
        r.peers.push_back(*Address::parse(peer));
        return r;
    };
    EXPECT_EQ(send(bind(0x3FFF, "127.0.0.1:5000"), from), 400);
    EXPECT_EQ(send(bind(0x8000, "127.0.0.1:5000"), from), 400);
    EXPECT_EQ(send(bind(0x7FFF, "127.0.0.1:5002"), from), 200); // RFC 5766 range still taken
    EXPECT_EQ(send(bind(0x4000, "127.0.0.1:5000"), from), 200);
    EXPECT_EQ(send(bind(0x4000, "127.0.0.1:5000"), from), 200); // refresh
    EXPECT_EQ(send(bind(0x4000, "127.0.0.1:5001"), from), 400); // channel bound to another peer
    EXPECT_EQ(send(bind(0x4001, "127.0.0.1:5000"), from), 400); // peer bound to another channel
    EXPECT_EQ(send(bind(0x4002, "[::1]:5000"), from), 443);
    PeerPolicy strict;
    Server s2(host, creds, strict, quota, limits);
    (void)s2;
}

TEST_F(TurnServerTest, PermissionAndChannelLimits) {
    limits.max_permissions = 2;
    limits.max_channels = 1;
    make_server();
    auto from = tuple();
    EXPECT_EQ(send(allocate_req(), from), 200);
    EXPECT_EQ(send(permission_req("127.0.0.1:1"), from), 200);
    EXPECT_EQ(send(permission_req("127.0.0.2:1"), from), 200);
    EXPECT_EQ(send(permission_req("127.0.0.1:2"), from), 200); // same IP: a refresh
    EXPECT_EQ(send(permission_req("127.0.0.3:1"), from), 508);
    Request two{stun::Method::ChannelBind, {{attr::ChannelNumber, {0x40, 0, 0, 0}}}};
    two.peers.push_back(*Address::parse("127.0.0.1:1"));
    EXPECT_EQ(send(two, from), 200);
    Request three{stun::Method::ChannelBind, {{attr::ChannelNumber, {0x40, 1, 0, 0}}}};
    three.peers.push_back(*Address::parse("127.0.0.2:1"));
    EXPECT_EQ(send(three, from), 508);
}

TEST_F(TurnServerTest, RelaysBothWays) {
    auto from = tuple();
    EXPECT_EQ(send(allocate_req(), from), 200);
    RelayId relay = host.open.back();
    auto peer = *Address::parse("127.0.0.1:5000");

    // Send indication without a permission: dropped.
    auto indication = [&](std::string_view data) {
        std::vector<std::uint8_t> b(200);
        stun::Writer w(b, stun::Method::Send, stun::Class::Indication, stun::TransactionId{3});
        w.add_xor_address(attr::XorPeerAddress, peer);
        w.add(attr::Data, data);
        b.resize(w.finish());
        server->on_client(now, from, b);
    };
    indication("early");
    EXPECT_TRUE(host.peers.empty());
    EXPECT_EQ(server->stats().dropped_no_permission.get(), 1u);
    // And nothing from that peer gets in.
    std::uint8_t hi[] = {'h', 'i'};
    std::size_t answers = host.clients.size();
    server->on_peer(now, relay, peer, hi);
    EXPECT_EQ(host.clients.size(), answers);

    EXPECT_EQ(send(permission_req("127.0.0.1:1"), from), 200); // any port of that IP
    indication("hello");
    ASSERT_EQ(host.peers.size(), 1u);
    EXPECT_EQ(host.peers[0].peer, peer);
    EXPECT_EQ(std::string(host.peers[0].bytes.begin(), host.peers[0].bytes.end()), "hello");

    server->on_peer(now, relay, peer, hi);
    auto data = last();
    EXPECT_EQ(data.method(), stun::Method::Data);
    EXPECT_EQ(data.cls(), stun::Class::Indication);
    EXPECT_EQ(data.xor_address(attr::XorPeerAddress), peer);
    EXPECT_EQ(data.find(attr::Data)->size(), 2u);

    Request bind{stun::Method::ChannelBind, {{attr::ChannelNumber, {0x40, 0x07, 0, 0}}}};
    bind.peers.push_back(peer);
    EXPECT_EQ(send(bind, from), 200);
    std::uint8_t cd[] = {0x40, 0x07, 0x00, 0x03, 'a', 'b', 'c', 0};
    server->on_client(now, from, cd);
    ASSERT_EQ(host.peers.size(), 2u);
    EXPECT_EQ(host.peers[1].bytes.size(), 3u);
    server->on_peer(now, relay, peer, hi);
    auto& framed = host.clients.back().bytes;
    ASSERT_EQ(framed.size(), 6u);
    EXPECT_EQ(framed[0], 0x40);
    EXPECT_EQ(framed[1], 0x07);
    EXPECT_EQ(framed[3], 2);
    // Unbound channel: dropped.
    std::uint8_t other[] = {0x40, 0x08, 0x00, 0x00};
    server->on_client(now, from, other);
    EXPECT_EQ(host.peers.size(), 2u);

    // Permissions expire after 300 s, channels after 600 s.
    now.mono_ms += 301 * 1000;
    server->tick(now);
    server->on_client(now, from, cd);
    EXPECT_EQ(host.peers.size(), 2u);
}

TEST_F(TurnServerTest, StreamClientsGetPaddedChannelData) {
    ClientTuple from = tuple();
    from.transport = Transport::Tcp;
    from.conn = 7;
    EXPECT_EQ(send(allocate_req(), from), 200);
    Request bind{stun::Method::ChannelBind, {{attr::ChannelNumber, {0x40, 0x01, 0, 0}}}};
    bind.peers.push_back(*Address::parse("127.0.0.1:5000"));
    EXPECT_EQ(send(bind, from), 200);
    std::uint8_t five[] = {1, 2, 3, 4, 5};
    server->on_peer(now, host.open.back(), *Address::parse("127.0.0.1:5000"), five);
    EXPECT_EQ(host.clients.back().bytes.size(), 12u);
    server->on_client_closed(from);
    EXPECT_EQ(server->allocation_count(), 0u);
    EXPECT_TRUE(host.open.empty());
}

TEST_F(TurnServerTest, AllocationsExpire) {
    auto from = tuple();
    EXPECT_EQ(send(allocate_req(), from), 200);
    now.mono_ms += 599 * 1000;
    server->tick(now);
    EXPECT_EQ(server->allocation_count(), 1u);
    now.mono_ms += 2000;
    server->tick(now);
    EXPECT_EQ(server->allocation_count(), 0u);
    EXPECT_TRUE(host.open.empty());
}

TEST_F(TurnServerTest, UnauthenticatedAnswersAreRateLimitedPerSource) {
    limits.unauth_per_s = 5;
    make_server();
    auto from = tuple();
    std::uint8_t req[20];
    stun::Writer w(req, stun::Method::Binding, stun::Class::Request, stun::TransactionId{1});
    std::size_t n = w.finish();
    for (int i = 0; i < 20; ++i) server->on_client(now, from, {req, n});
    EXPECT_EQ(host.clients.size(), 5u);
    EXPECT_EQ(server->stats().rate_limited.get(), 15u);
    server->on_client(now, tuple("198.51.100.9:1"), {req, n}); // another source has its own budget
    EXPECT_EQ(host.clients.size(), 6u);
    now.unix_s += 1;
    server->on_client(now, from, {req, n});
    EXPECT_EQ(host.clients.size(), 7u);
}

TEST_F(TurnServerTest, BandwidthCap) {
    limits.bandwidth_bytes_per_s = 1000;
    make_server();
    auto from = tuple();
    EXPECT_EQ(send(allocate_req(), from), 200);
    EXPECT_EQ(send(permission_req("127.0.0.1:1"), from), 200);
    std::vector<std::uint8_t> big(400, 'x');
    for (int i = 0; i < 5; ++i) server->on_peer(now, host.open.back(), *Address::parse("127.0.0.1:9"), big);
    EXPECT_EQ(server->stats().packets_to_client.get(), 2u);
    EXPECT_EQ(server->stats().dropped_bandwidth.get(), 3u);
    now.mono_ms += 1000;
    server->on_peer(now, host.open.back(), *Address::parse("127.0.0.1:9"), big);
    EXPECT_EQ(server->stats().packets_to_client.get(), 3u);
}

TEST_F(TurnServerTest, GarbageGetsNoAnswer) {
    auto from = tuple();
    std::uint8_t junk[] = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
    server->on_client(now, from, junk);
    std::uint8_t bad_fp[28];
    stun::Writer w(bad_fp, stun::Method::Binding, stun::Class::Request, stun::TransactionId{1});
    w.add_fingerprint();
    std::size_t n = w.finish();
    bad_fp[n - 1] ^= 1;
    server->on_client(now, from, {bad_fp, n});
    EXPECT_TRUE(host.clients.empty());
}

} // namespace
} // namespace switchboard::turn
