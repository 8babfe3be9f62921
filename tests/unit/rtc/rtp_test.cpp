#include "rtc/rtp/rtcp.hpp"
#include "rtc/rtp/rtp.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace switchboard::rtc;

TEST(RtpTest, WriteThenParseWithOneByteExtensions) {
    const std::vector<std::uint8_t> level{0x85}, mid{'0'}, payload{1, 2, 3, 4, 5};
    std::vector<rtp::Extension> ext{{1, level}, {3, mid}};
    std::vector<std::uint8_t> pkt;
    rtp::write({true, 111, 65535, 960, 0xdeadbeef}, ext, payload, pkt);
    EXPECT_TRUE(rtp::looks_like_rtp_or_rtcp(pkt));
    EXPECT_FALSE(rtp::looks_like_rtcp(pkt));
    rtp::Packet p;
    ASSERT_TRUE(rtp::parse(pkt, p));
    EXPECT_TRUE(p.marker);
    EXPECT_EQ(p.payload_type, 111);
    EXPECT_EQ(p.sequence, 65535);
    EXPECT_EQ(p.timestamp, 960u);
    EXPECT_EQ(p.ssrc, 0xdeadbeefu);
    EXPECT_EQ(p.extension_profile, 0xBEDE);
    EXPECT_EQ(std::vector<std::uint8_t>(p.payload.begin(), p.payload.end()), payload);
    auto got = rtp::find_extension(p, 3);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], '0');
    EXPECT_TRUE(rtp::find_extension(p, 2).empty());

    rtp::set_sequence(pkt, 7);
    rtp::set_ssrc(pkt, 42);
    rtp::set_payload_type(pkt, 96);
    ASSERT_TRUE(rtp::parse(pkt, p));
    EXPECT_EQ(p.sequence, 7);
    EXPECT_EQ(p.ssrc, 42u);
    EXPECT_EQ(p.payload_type, 96);
    EXPECT_TRUE(p.marker);
}

TEST(RtpTest, TwoByteExtensionsForLongValues) {
    std::vector<std::uint8_t> long_value(20, 9), payload{7};
    std::vector<rtp::Extension> ext{{20, long_value}};
    std::vector<std::uint8_t> pkt;
    rtp::write({false, 96, 1, 2, 3}, ext, payload, pkt);
    rtp::Packet p;
    ASSERT_TRUE(rtp::parse(pkt, p));
    EXPECT_EQ(p.extension_profile & 0xfff0, 0x1000);
    EXPECT_EQ(rtp::find_extension(p, 20).size(), 20u);
}

TEST(RtpTest, MalformedPacketsAreRefused) {
    rtp::Packet p;
    std::vector<std::uint8_t> pkt;
    rtp::write({false, 96, 1, 2, 3}, {}, std::vector<std::uint8_t>{1, 2, 3}, pkt);
    ASSERT_TRUE(rtp::parse(pkt, p));
    auto bad = pkt;
    bad[0] = 0x40; // version 1
    EXPECT_FALSE(rtp::parse(bad, p));
    bad = pkt;
    bad[0] |= 0x0f; // 15 CSRCs that are not there
    EXPECT_FALSE(rtp::parse(bad, p));
    bad = pkt;
    bad[0] |= 0x20; // padding of 3 (the last byte) leaves no payload: allowed
    EXPECT_TRUE(rtp::parse(bad, p));
    EXPECT_TRUE(p.payload.empty());
    bad.back() = 200; // padding longer than the packet
    EXPECT_FALSE(rtp::parse(bad, p));
    bad = pkt;
    bad[0] |= 0x10; // an extension header beyond the end
    EXPECT_FALSE(rtp::parse(std::span(bad).first(13), p));
    EXPECT_FALSE(rtp::parse(std::span(pkt).first(11), p));
}

TEST(RtpTest, SequenceArithmetic) {
    EXPECT_TRUE(rtp::seq_newer(1, 65535));
    EXPECT_FALSE(rtp::seq_newer(65535, 1));
    EXPECT_FALSE(rtp::seq_newer(5, 5));
}

TEST(RtcpTest, CompoundReportsRoundTrip) {
    rtcp::Report sr;
    sr.ssrc = 1;
    sr.sender = true;
    sr.info = {0x0102030405060708ull, 9, 10, 11};
    sr.blocks.push_back({2, 25, -3, 70000, 12, 13, 14});
    rtcp::Report rr;
    rr.ssrc = 5;
    std::vector<std::uint8_t> pkt;
    rtcp::write_report(sr, pkt);
    rtcp::write_report(rr, pkt);
    rtcp::write_pli(5, 2, pkt);
    EXPECT_TRUE(rtp::looks_like_rtcp(pkt));
    std::vector<rtcp::View> views;
    ASSERT_TRUE(rtcp::for_each(pkt, [&](const rtcp::View& v) { views.push_back(v); }));
    ASSERT_EQ(views.size(), 3u);
    rtcp::Report got;
    ASSERT_TRUE(rtcp::parse_report(views[0], got));
    EXPECT_TRUE(got.sender);
    EXPECT_EQ(got.info.ntp, sr.info.ntp);
    EXPECT_EQ(got.info.octets, 11u);
    ASSERT_EQ(got.blocks.size(), 1u);
    EXPECT_EQ(got.blocks[0].cumulative_lost, -3);
    EXPECT_EQ(got.blocks[0].fraction_lost, 25);
    EXPECT_EQ(got.blocks[0].highest_sequence, 70000u);
    ASSERT_TRUE(rtcp::parse_report(views[1], got));
    EXPECT_FALSE(got.sender);
    EXPECT_EQ(got.ssrc, 5u);
    rtcp::Pli pli;
    ASSERT_TRUE(rtcp::parse_pli(views[2], pli));
    EXPECT_EQ(pli.media, 2u);
}

TEST(RtcpTest, NackGroupsAcrossTheWrap) {
    std::vector<std::uint8_t> pkt;
    rtcp::write_nack(1, 2, {65534, 3, 65535, 0, 20, 3}, pkt);
    rtcp::Nack n;
    bool seen = false;
    ASSERT_TRUE(rtcp::for_each(pkt, [&](const rtcp::View& v) { seen = rtcp::parse_nack(v, n); }));
    ASSERT_TRUE(seen);
    EXPECT_EQ(n.lost, (std::vector<std::uint16_t>{65534, 65535, 0, 3, 20}));
    EXPECT_EQ(pkt.size(), 12u + 8); // two PID/BLP items: 65534 (+1, +2, +5) and 20
}

TEST(RtcpTest, FirAndRemb) {
    std::vector<std::uint8_t> pkt;
    std::vector<rtcp::Fir::Entry> entries{{7, 3}};
    rtcp::write_fir(1, entries, pkt);
    std::vector<std::uint32_t> ssrcs{7, 8};
    rtcp::write_remb(1, 2'500'000, ssrcs, pkt);
    rtcp::Fir fir;
    rtcp::Remb remb;
    int n = 0;
    ASSERT_TRUE(rtcp::for_each(pkt, [&](const rtcp::View& v) {
        n += rtcp::parse_fir(v, fir);
        n += rtcp::parse_remb(v, remb);
    }));
    EXPECT_EQ(n, 2);
    ASSERT_EQ(fir.entries.size(), 1u);
    EXPECT_EQ(fir.entries[0].sequence, 3);
    EXPECT_EQ(remb.ssrcs, ssrcs);
    EXPECT_NEAR(static_cast<double>(remb.bitrate), 2'500'000.0, 2'500'000.0 / 100000);
}

TEST(RtcpTest, TransportCcFeedback) {
    // base 100, 5 packets: run of 2 "small delta", then a two-bit vector: lost, large, small.
    std::vector<std::uint8_t> pkt{0x8f, 205, 0, 0,                   // header, length later
                                  0, 0, 0, 1, 0, 0, 0, 2,            // sender, media
                                  0, 100, 0, 5,                      // base sequence, status count
                                  0xff, 0xff, 0xfe, 9,               // reference time -2 (x64 ms), fb count 9
                                  0x20, 0x02,                        // run length: symbol 1, 2 packets
                                  0xc9, 0x00,                        // two-bit vector: 0, 2, 1 (then unused symbols)
                                  4, 8,                              // small deltas: 1 ms, 2 ms
                                  0xff, 0xfc,                        // large delta: -1 ms
                                  40,                                // small delta: 10 ms
                                  0, 0, 0};
    pkt[3] = static_cast<std::uint8_t>(pkt.size() / 4 - 1);
    rtcp::TransportCc t;
    bool ok = false;
    ASSERT_TRUE(rtcp::for_each(pkt, [&](const rtcp::View& v) { ok = rtcp::parse_transport_cc(v, t); }));
    ASSERT_TRUE(ok);
    EXPECT_EQ(t.base_sequence, 100);
    EXPECT_EQ(t.reference_time, -2);
    EXPECT_EQ(t.feedback_count, 9);
    ASSERT_EQ(t.packets.size(), 5u);
    EXPECT_TRUE(t.packets[0].received);
    EXPECT_EQ(t.packets[0].delta_us, 1000);
    EXPECT_EQ(t.packets[1].delta_us, 2000);
    EXPECT_FALSE(t.packets[2].received);
    EXPECT_EQ(t.packets[3].delta_us, -1000);
    EXPECT_EQ(t.packets[4].sequence, 104);
    EXPECT_EQ(t.packets[4].delta_us, 10000);
}

TEST(RtcpTest, MalformedCompoundsStop) {
    std::vector<std::uint8_t> pkt;
    rtcp::write_pli(1, 2, pkt);
    pkt[3] = 9; // a length beyond the data
    int n = 0;
    EXPECT_FALSE(rtcp::for_each(pkt, [&](const rtcp::View&) { ++n; }));
    EXPECT_EQ(n, 0);
    EXPECT_FALSE(rtcp::for_each(std::vector<std::uint8_t>{0x80, 200, 0}, [&](const rtcp::View&) { ++n; }));
    rtcp::Report r;
    EXPECT_FALSE(rtcp::parse_report(rtcp::View{200, 3, {}}, r));
}
