#include "rtc/dtls/transport.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard::rtc::dtls;

namespace {

Options fast() {
    Options o;
    o.initial_timeout_ms = 20;
    return o;
}

// Moves datagrams between the two ends until neither has anything to send. `drop` may discard
// a datagram (by its index in the whole exchange).
template <class Drop> int pump(Transport& a, Transport& b, Drop drop) {
    static int index = 0;
    int moved = 0;
    for (bool any = true; any;) {
        any = false;
        std::vector<std::uint8_t> d;
        while (a.poll_transmit(d)) {
            any = true;
            ++moved;
            if (!drop(index++)) b.on_datagram(d);
        }
        while (b.poll_transmit(d)) {
            any = true;
            ++moved;
            if (!drop(index++)) a.on_datagram(d);
        }
    }
    return moved;
}

int pump(Transport& a, Transport& b) {
    return pump(a, b, [](int) { return false; });
}

struct Pair {
    std::shared_ptr<const Certificate> ca = Certificate::generate("a"), cb = Certificate::generate("b");
    Transport client{ca, Role::Client, cb->fingerprint(), fast()};
    Transport server{cb, Role::Server, ca->fingerprint(), fast()};
};

} // namespace

TEST(DtlsCertificate, FingerprintIsSha256Hex) {
    auto c = Certificate::generate();
    const std::string& fp = c->fingerprint();
    ASSERT_EQ(fp.substr(0, 8), "sha-256 ");
    EXPECT_EQ(fp.size(), 8u + 32 * 3 - 1);
    EXPECT_NE(fp, Certificate::generate()->fingerprint());
    EXPECT_TRUE(same_fingerprint("ab:CD", "AB:cd"));
    EXPECT_FALSE(same_fingerprint("AB:CD", "AB:CE"));
    EXPECT_FALSE(same_fingerprint("", ""));
}

TEST(DtlsTransport, HandshakeExportsMatchingSrtpKeysAndCarriesData) {
    Pair p;
    EXPECT_TRUE(looks_like_dtls(std::vector<std::uint8_t>{22}));
    p.client.start();
    pump(p.client, p.server);
    ASSERT_EQ(p.client.state(), State::Connected) << p.client.error();
    ASSERT_EQ(p.server.state(), State::Connected) << p.server.error();
    ASSERT_NE(p.client.srtp_keys(), nullptr);
    ASSERT_NE(p.server.srtp_keys(), nullptr);
    EXPECT_EQ(p.client.srtp_keys()->profile, "SRTP_AEAD_AES_128_GCM");
    EXPECT_EQ(p.client.srtp_keys()->local.size(), 16u + 12);
    EXPECT_EQ(p.client.srtp_keys()->local, p.server.srtp_keys()->remote);
    EXPECT_EQ(p.client.srtp_keys()->remote, p.server.srtp_keys()->local);
    EXPECT_NE(p.client.srtp_keys()->local, p.client.srtp_keys()->remote);

    std::vector<std::uint8_t> big(1100, 0x5a), small{1, 2, 3}, got;
    ASSERT_TRUE(p.client.send(big));
    ASSERT_TRUE(p.server.send(small));
    pump(p.client, p.server);
    ASSERT_TRUE(p.server.poll_received(got));
    EXPECT_EQ(got, big);
    ASSERT_TRUE(p.client.poll_received(got));
    EXPECT_EQ(got, small);
    EXPECT_FALSE(p.client.poll_received(got));

    p.client.close();
    pump(p.client, p.server);
    EXPECT_EQ(p.server.state(), State::Closed);
    EXPECT_FALSE(p.client.send(small));
}

TEST(DtlsTransport, DatagramsStayWithinTheMtu) {
    Pair p;
    p.client.start();
    std::size_t largest = 0;
    pump(p.client, p.server, [&](int) { return false; });
    ASSERT_EQ(p.client.state(), State::Connected);
    std::vector<std::uint8_t> d;
    ASSERT_TRUE(p.client.send(std::vector<std::uint8_t>(1000, 1)));
    while (p.client.poll_transmit(d)) largest = std::max(largest, d.size());
    EXPECT_LE(largest, 1200u);
}

TEST(DtlsTransport, AWrongFingerprintFailsTheHandshake) {
    auto ca = Certificate::generate(), cb = Certificate::generate(), other = Certificate::generate();
    Transport client(ca, Role::Client, other->fingerprint(), fast());
    Transport server(cb, Role::Server, ca->fingerprint(), fast());
    client.start();
    pump(client, server);
    EXPECT_EQ(client.state(), State::Failed);
    EXPECT_NE(client.error().find("does not match the fingerprint"), std::string::npos) << client.error();
    EXPECT_NE(server.state(), State::Connected);
}

TEST(DtlsTransport, OnlySha256FingerprintsAreAccepted) {
    auto ca = Certificate::generate(), cb = Certificate::generate();
    std::string sha1 = "sha-1 " + cb->fingerprint().substr(8, 59);
    Transport client(ca, Role::Client, sha1, fast());
    Transport server(cb, Role::Server, ca->fingerprint(), fast());
    client.start();
    pump(client, server);
    EXPECT_EQ(client.state(), State::Failed);
}

TEST(DtlsTransport, ALostFlightIsRetransmittedAfterTheTimer) {
    Pair p;
    p.client.start();
    pump(p.client, p.server, [](int i) { return i == 0; }); // the ClientHello is lost
    EXPECT_EQ(p.client.state(), State::Handshaking);
    for (int round = 0; round < 20 && p.client.state() != State::Connected; ++round) {
        auto t = p.client.timeout_ms();
        ASSERT_TRUE(t.has_value());
        std::this_thread::sleep_for(std::chrono::milliseconds(*t + 1));
        p.client.on_timeout();
        pump(p.client, p.server);
    }
    EXPECT_EQ(p.client.state(), State::Connected) << p.client.error();
    EXPECT_EQ(p.server.state(), State::Connected) << p.server.error();
    EXPECT_FALSE(p.client.timeout_ms().has_value());
}

TEST(DtlsTransport, GarbageNeverConnectsNorCrashes) {
    auto cb = Certificate::generate();
    Transport server(cb, Role::Server, Certificate::generate()->fingerprint(), fast());
    std::vector<std::uint8_t> junk(300);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 37);
    junk[0] = 22; // a handshake record's content type
    server.on_datagram(junk);
    server.on_datagram(std::vector<std::uint8_t>{22, 254, 253});
    EXPECT_NE(server.state(), State::Connected);
    std::vector<std::uint8_t> d;
    EXPECT_FALSE(server.send(std::vector<std::uint8_t>{1}));
    while (server.poll_transmit(d)) {}
}

TEST(DtlsTransport, WithoutSrtpThereAreNoKeys) {
    auto ca = Certificate::generate(), cb = Certificate::generate();
    Options o = fast();
    o.srtp = false;
    Transport client(ca, Role::Client, cb->fingerprint(), o);
    Transport server(cb, Role::Server, ca->fingerprint(), o);
    client.start();
    pump(client, server);
    ASSERT_EQ(client.state(), State::Connected);
    EXPECT_EQ(client.srtp_keys(), nullptr);
}
