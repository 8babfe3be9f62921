#include "rtc/dtls/transport.hpp"
#include "rtc/rtp/rtcp.hpp"
#include "rtc/rtp/rtp.hpp"
#include "rtc/srtp/session.hpp"

#include <gtest/gtest.h>

using namespace switchboard::rtc;

namespace {

// Keys the way a call gets them: from a DTLS handshake between two ends.
struct Keys {
    dtls::SrtpKeys client, server;
};

Keys handshake() {
    auto ca = dtls::Certificate::generate(), cb = dtls::Certificate::generate();
    dtls::Transport c(ca, dtls::Role::Client, cb->fingerprint()), s(cb, dtls::Role::Server, ca->fingerprint());
    c.start();
    std::vector<std::uint8_t> d;
    for (int i = 0; i < 10; ++i) {
        while (c.poll_transmit(d)) s.on_datagram(d);
        while (s.poll_transmit(d)) c.on_datagram(d);
    }
    EXPECT_NE(c.srtp_keys(), nullptr);
    return {*c.srtp_keys(), *s.srtp_keys()};
}

std::vector<std::uint8_t> rtp_packet(std::uint16_t seq) {
    std::vector<std::uint8_t> payload(160, 0x55), out;
    rtp::write({false, 111, seq, 960u * seq, 0x1234}, {}, payload, out);
    return out;
}

} // namespace

TEST(SrtpSession, RoundTripsRtpAndRtcpWithDtlsKeys) {
    Keys k = handshake();
    srtp::Session a(k.client.profile, k.client.local, k.client.remote);
    srtp::Session b(k.server.profile, k.server.local, k.server.remote);
    auto plain = rtp_packet(1);
    auto p = plain;
    ASSERT_EQ(a.protect_rtp(p), srtp::Result::Ok);
    EXPECT_GT(p.size(), plain.size());
    EXPECT_NE(std::vector<std::uint8_t>(p.begin() + 12, p.begin() + 40), std::vector<std::uint8_t>(plain.begin() + 12, plain.begin() + 40));
    ASSERT_EQ(b.unprotect_rtp(p), srtp::Result::Ok);
    EXPECT_EQ(p, plain);

    std::vector<std::uint8_t> rtcp;
    rtcp::write_pli(1, 0x1234, rtcp);
    auto c = rtcp;
    ASSERT_EQ(b.protect_rtcp(c), srtp::Result::Ok);
    ASSERT_EQ(a.unprotect_rtcp(c), srtp::Result::Ok);
    EXPECT_EQ(c, rtcp);
}

TEST(SrtpSession, TamperingAndReplaysAreRefused) {
    Keys k = handshake();
    srtp::Session a(k.client.profile, k.client.local, k.client.remote);
    srtp::Session b(k.server.profile, k.server.local, k.server.remote);
    auto p = rtp_packet(7);
    ASSERT_EQ(a.protect_rtp(p), srtp::Result::Ok);
    auto tampered = p;
    tampered[20] ^= 1;
    EXPECT_EQ(b.unprotect_rtp(tampered), srtp::Result::AuthFailed);
    auto first = p;
    ASSERT_EQ(b.unprotect_rtp(first), srtp::Result::Ok);
    auto again = p;
    EXPECT_EQ(b.unprotect_rtp(again), srtp::Result::Replay);
    std::vector<std::uint8_t> tiny{0x80, 0x60, 0};
    EXPECT_EQ(b.unprotect_rtp(tiny), srtp::Result::Malformed);
    // The wrong direction's key cannot read it.
    auto mine = rtp_packet(8);
    ASSERT_EQ(a.protect_rtp(mine), srtp::Result::Ok);
    EXPECT_NE(a.unprotect_rtp(mine), srtp::Result::Ok);
}

TEST(SrtpSession, BothProfilesAndKeySizesAreChecked) {
    std::vector<std::uint8_t> k30(30, 1), k28(28, 2);
    srtp::Session cm("SRTP_AES128_CM_SHA1_80", k30, k30);
    auto p = rtp_packet(3);
    ASSERT_EQ(cm.protect_rtp(p), srtp::Result::Ok);
    EXPECT_EQ(p.size(), rtp_packet(3).size() + 10); // an 80-bit tag
    EXPECT_THROW(srtp::Session("SRTP_NULL", k30, k30), std::invalid_argument);
    EXPECT_THROW(srtp::Session("SRTP_AEAD_AES_128_GCM", k30, k30), std::invalid_argument);
    srtp::Session gcm("SRTP_AEAD_AES_128_GCM", k28, k28);
}
