#include "rtc/ice/turn_client.hpp"

#include "stun/integrity.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

using namespace switchboard;
using namespace switchboard::rtc::ice;

namespace {

const Address kHost = *Address::parse("10.0.0.1:5000");
const Address kServer = *Address::parse("203.0.113.1:3478");
const Address kRelayed = *Address::parse("203.0.113.1:49152");
const Address kMapped = *Address::parse("198.51.100.7:6000");
const Address kPeer = *Address::parse("192.0.2.9:7000");

struct Fixture {
    std::uint8_t counter = 0;
    TurnClient client{kHost, TurnServer{kServer, "alice", "secret"}, [this] {
                          stun::TransactionId t{};
                          t[0] = ++counter;
                          return t;
                      }};
    std::array<std::uint8_t, 16> key = stun::long_term_key_md5("alice", "example.org", "secret");

    stun::MessageView next_request() {
        std::vector<std::uint8_t> out;
        EXPECT_TRUE(client.poll_transmit(out));
        last = out;
        auto m = stun::parse(last);
        EXPECT_TRUE(m);
        return *m;
    }
    // The server's answer to `req`: 401 with realm and nonce, an error, or a signed success.
    std::vector<std::uint8_t> answer(const stun::MessageView& req, int error, bool with_relay = true) {
        std::vector<std::uint8_t> buf(512);
        stun::Writer w(buf, req.raw_method(), error ? stun::Class::Error : stun::Class::Success, req.transaction_id());
        if (error) {
            w.add_error(error, error == 401 ? "Unauthorized" : error == 438 ? "Stale Nonce" : "Forbidden");
            w.add(stun::attr::Realm, std::string_view("example.org"));
            w.add(stun::attr::Nonce, std::string_view(error == 438 ? "nonce2" : "nonce1"));
        } else {
            if (req.method() == stun::Method::Allocate && with_relay) {
                w.add_xor_address(stun::attr::XorRelayedAddress, kRelayed);
                w.add_xor_address(stun::attr::XorMappedAddress, kMapped);
                w.add_u32(stun::attr::Lifetime, 600);
            }
            w.add_integrity(key);
        }
        buf.resize(w.finish());
        return buf;
    }
    bool feed(const std::vector<std::uint8_t>& d, std::int64_t now) {
        Address peer;
        std::span<const std::uint8_t> payload;
        bool has = false;
        return client.on_datagram(d, now, peer, payload, has);
    }
    void allocate() {
        client.start(0);
        auto first = next_request();
        EXPECT_EQ(first.method(), stun::Method::Allocate);
        EXPECT_FALSE(first.has(stun::attr::Username)) << "the first Allocate goes unsigned";
        EXPECT_TRUE(feed(answer(first, 401), 10));
        auto signed_req = next_request();
        EXPECT_EQ(signed_req.text(stun::attr::Username), "alice");
        EXPECT_EQ(signed_req.text(stun::attr::Nonce), "nonce1");
        EXPECT_TRUE(signed_req.integrity_ok(key));
        EXPECT_TRUE(feed(answer(signed_req, 0), 20));
    }
    std::vector<std::uint8_t> last;
};

} // namespace

TEST(TurnClient, AllocatesWithLongTermCredentials) {
    Fixture f;
    f.allocate();
    EXPECT_EQ(f.client.state(), TurnClient::State::Allocated);
    EXPECT_EQ(f.client.relayed(), kRelayed);
    EXPECT_EQ(f.client.mapped(), kMapped);
    // Refreshed a minute before the lifetime ends.
    ASSERT_TRUE(f.client.next_timeout());
    EXPECT_EQ(*f.client.next_timeout(), 20 + 540 * 1000);
    f.client.on_timeout(20 + 540 * 1000);
    auto refresh = f.next_request();
    EXPECT_EQ(refresh.method(), stun::Method::Refresh);
    EXPECT_TRUE(refresh.integrity_ok(f.key));
}

TEST(TurnClient, PermissionsThenSendAndDataIndications) {
    Fixture f;
    f.client.permit(kPeer, 0); // before the allocation: asked once it exists
    f.allocate();
    auto perm = f.next_request();
    EXPECT_EQ(perm.method(), stun::Method::CreatePermission);
    auto peer_ip = perm.xor_address(stun::attr::XorPeerAddress);
    ASSERT_TRUE(peer_ip);
    EXPECT_EQ(peer_ip->port, 0);
    EXPECT_TRUE(f.feed(f.answer(perm, 0), 30));
    f.client.permit(*Address::parse("192.0.2.9:7001"), 40); // same IP: nothing new
    std::vector<std::uint8_t> none;
    EXPECT_FALSE(f.client.poll_transmit(none));

    const std::vector<std::uint8_t> hello{'h', 'i'};
    std::vector<std::uint8_t> wrapped;
    ASSERT_TRUE(f.client.wrap(kPeer, hello, wrapped));
    auto send = stun::parse(wrapped);
    ASSERT_TRUE(send);
    EXPECT_EQ(send->method(), stun::Method::Send);
    EXPECT_EQ(send->cls(), stun::Class::Indication);
    EXPECT_EQ(send->xor_address(stun::attr::XorPeerAddress), kPeer);

    std::vector<std::uint8_t> buf(128);
    stun::Writer w(buf, stun::Method::Data, stun::Class::Indication, stun::TransactionId{});
    w.add_xor_address(stun::attr::XorPeerAddress, kPeer);
    w.add(stun::attr::Data, std::span<const std::uint8_t>(hello));
    buf.resize(w.finish());
    Address from;
    std::span<const std::uint8_t> payload;
    bool has = false;
    ASSERT_TRUE(f.client.on_datagram(buf, 50, from, payload, has));
    ASSERT_TRUE(has);
    EXPECT_EQ(from, kPeer);
    EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()), hello);

    // Permissions are refreshed before their five minutes run out.
    f.client.on_timeout(20 + 240000);
    bool refreshed = false;
    std::vector<std::uint8_t> out;
    while (f.client.poll_transmit(out))
        refreshed |= stun::parse(out) && stun::parse(out)->method() == stun::Method::CreatePermission;
    EXPECT_TRUE(refreshed);
}

TEST(TurnClient, StaleNonceRetriesAndWrongCredentialsFail) {
    Fixture f;
    f.client.start(0);
    auto first = f.next_request();
    f.feed(f.answer(first, 401), 1);
    auto signed_req = f.next_request();
    f.feed(f.answer(signed_req, 438), 2);
    auto again = f.next_request();
    EXPECT_EQ(again.text(stun::attr::Nonce), "nonce2");
    f.feed(f.answer(again, 401), 3); // a signed request refused: the password is wrong
    EXPECT_EQ(f.client.state(), TurnClient::State::Failed);
    EXPECT_NE(f.client.error().find("401"), std::string::npos) << f.client.error();
}

TEST(TurnClient, AnUnsignedSuccessIsIgnoredAndSilenceFails) {
    Fixture f;
    f.client.start(0);
    auto first = f.next_request();
    f.feed(f.answer(first, 401), 1);
    auto signed_req = f.next_request();
    std::vector<std::uint8_t> forged(256);
    stun::Writer w(forged, stun::Method::Allocate, stun::Class::Success, signed_req.transaction_id());
    w.add_xor_address(stun::attr::XorRelayedAddress, kPeer);
    forged.resize(w.finish());
    f.feed(forged, 2);
    EXPECT_EQ(f.client.state(), TurnClient::State::Allocating) << "an answer without the key's signature is not the server's";
    std::int64_t now = 2;
    for (int i = 0; i < 20 && f.client.state() == TurnClient::State::Allocating; ++i) {
        now = *f.client.next_timeout();
        f.client.on_timeout(now);
        std::vector<std::uint8_t> out;
        while (f.client.poll_transmit(out)) {}
    }
    EXPECT_EQ(f.client.state(), TurnClient::State::Failed);
    EXPECT_NE(f.client.error().find("no answer"), std::string::npos);
    EXPECT_LT(now, 60000) << "it gives up within a minute";
}
