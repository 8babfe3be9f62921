#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/writer.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace switchboard::rtc::sdp;

namespace {

// Shaped like a Chromium offer with audio, video and a data channel.
const std::string kOffer =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS stream\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0\r\n"
    "a=ice-ufrag:Xb3u\r\n"
    "a=ice-pwd:0123456789abcdefghijklmn\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4C:55:AA:C3:D6:6F:81:2E:D5:C4:E7:99\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream track-a\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=ssrc:1001 cname:x\r\n"
    "a=ssrc:1001 msid:stream track-a\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Xb3u\r\n"
    "a=ice-pwd:0123456789abcdefghijklmn\r\n"
    "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4C:55:AA:C3:D6:6F:81:2E:D5:C4:E7:99\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Xb3u\r\n"
    "a=ice-pwd:0123456789abcdefghijklmn\r\n"
    "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4C:55:AA:C3:D6:6F:81:2E:D5:C4:E7:99\r\n"
    "a=setup:actpass\r\n"
    "a=mid:2\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

Error parse_error(const std::string& text) {
    Session s;
    Error e;
    EXPECT_FALSE(parse(text, s, e)) << text;
    return e;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
}

} // namespace

TEST(SdpTest, ParsesAChromiumOffer) {
    Session s;
    Error e;
    ASSERT_TRUE(parse(kOffer, s, e)) << describe(e);
    EXPECT_TRUE(check_webrtc(s, e)) << describe(e);
    EXPECT_EQ(s.session_id, "4611731400430051336");
    EXPECT_EQ(s.bundle.size(), 3u);
    EXPECT_TRUE(s.media.size() == 3);
    const Media& a = s.media[0];
    EXPECT_EQ(a.kind, "audio");
    EXPECT_EQ(a.port, 9);
    EXPECT_EQ(a.proto, "UDP/TLS/RTP/SAVPF");
    EXPECT_EQ(a.formats.size(), 2u);
    EXPECT_EQ(a.mid, "0");
    EXPECT_EQ(a.ice_ufrag, "Xb3u");
    EXPECT_EQ(a.fingerprint_hash, "sha-256");
    EXPECT_EQ(a.setup, "actpass");
    EXPECT_EQ(a.msid_stream, "stream");
    EXPECT_EQ(a.msid_track, "track-a");
    EXPECT_TRUE(a.rtcp_mux);
    EXPECT_EQ(a.candidates, 1u);
    ASSERT_EQ(a.rtpmaps.size(), 2u);
    EXPECT_EQ(a.rtpmaps[0].encoding, "opus");
    EXPECT_EQ(a.rtpmaps[0].clock_rate, 48000u);
    EXPECT_EQ(a.rtpmaps[0].channels, 2);
    EXPECT_EQ(a.ssrcs, std::vector<std::uint32_t>{1001});
    EXPECT_EQ(s.media[1].direction, Direction::RecvOnly);
    EXPECT_EQ(s.media[2].sctp_port, 5000);
    EXPECT_EQ(s.media[2].max_message_size, 262144u);
    EXPECT_TRUE(sends_media(s));
}

TEST(SdpTest, LineFeedsAloneAreAccepted) {
    std::string lf;
    for (char c : kOffer)
        if (c != '\r') lf += c;
    Session s;
    Error e;
    EXPECT_TRUE(parse(lf, s, e)) << describe(e);
}

TEST(SdpTest, ReceiveOnlySendsNothing) {
    std::string text = replace(kOffer, "a=sendrecv\r\n", "a=recvonly\r\n");
    Session s;
    Error e;
    ASSERT_TRUE(parse(text, s, e));
    EXPECT_FALSE(sends_media(s));
}

TEST(SdpTest, GrammarErrorsNameTheLine) {
    EXPECT_EQ(parse_error("").line, 0u);
    EXPECT_EQ(parse_error("v=1\r\n").line, 1u);
    EXPECT_EQ(parse_error("v=0\r\nhello\r\n").line, 2u);
    EXPECT_EQ(parse_error("v=0\r\no=- 1 2 IN IP4\r\n").line, 2u);
    EXPECT_EQ(parse_error(replace(kOffer, "m=audio 9 ", "m=audio 99999 ")).line, 8u);
    EXPECT_EQ(parse_error(replace(kOffer, "a=ice-ufrag:Xb3u\r\n", "a=ice-ufrag:X\r\n")).line, 12u);
    EXPECT_EQ(parse_error(replace(kOffer, "a=setup:actpass\r\n", "a=setup:maybe\r\n")).line, 16u);
    EXPECT_EQ(parse_error(replace(kOffer, "a=fingerprint:sha-256 4A:", "a=fingerprint:sha-256 4G:")).line, 15u);
    EXPECT_EQ(parse_error(replace(kOffer, "a=rtpmap:111 opus/48000/2", "a=rtpmap:300 opus/48000/2")).line, 21u);
    EXPECT_EQ(parse_error(replace(kOffer, "a=mid:0\r\n", "a=mid:0\r\n\r\n")).line, 18u);
    EXPECT_EQ(parse_error(replace(kOffer, "s=-\r\n", "s=-\x01\r\n")).line, 3u);
    EXPECT_EQ(parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\n").line, 2u); // m= before o=
    EXPECT_EQ(describe(Error{7, "bad m= line"}), "bad SDP: line 7: bad m= line");
}

TEST(SdpTest, LimitsAreEnforced) {
    Limits small;
    small.max_size = 100;
    Session s;
    Error e;
    EXPECT_FALSE(parse(kOffer, s, e, small));
    EXPECT_EQ(std::string(e.what), "description too large");
    small = Limits{};
    small.max_media = 2;
    EXPECT_FALSE(parse(kOffer, s, e, small));
    EXPECT_EQ(e.line, 36u); // the third m= line
}

TEST(SdpTest, WebRtcChecks) {
    auto fails = [](const std::string& text) {
        Session s;
        Error e;
        EXPECT_TRUE(parse(text, s, e)) << describe(e);
        return !check_webrtc(s, e) ? std::string(e.what) : std::string();
    };
    EXPECT_EQ(fails(replace(kOffer, "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1")), "m= section outside the BUNDLE group");
    EXPECT_EQ(fails(replace(kOffer, "a=mid:1\r\n", "a=mid:0\r\n")), "duplicate a=mid");
    EXPECT_EQ(fails(replace(kOffer, "a=mid:1\r\n", "")), "m= section without a=mid");
    std::string no_fp = kOffer;
    for (auto at = no_fp.find("a=fingerprint"); at != std::string::npos; at = no_fp.find("a=fingerprint"))
        no_fp.erase(at, no_fp.find('\n', at) - at + 1);
    EXPECT_EQ(fails(no_fp), "no a=fingerprint");
    EXPECT_EQ(fails("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"), "no m= section");
    // A rejected section (port 0) needs no transport.
    std::string rejected = replace(kOffer, "m=video 9 ", "m=video 0 ");
    EXPECT_EQ(fails(rejected), "");
}

TEST(SdpTest, Candidates) {
    Candidate c;
    Error e;
    ASSERT_TRUE(parse_candidate("candidate:842163049 1 udp 1677729535 203.0.113.7 50000 typ srflx raddr 0.0.0.0 "
                                "rport 0 generation 0 ufrag Xb3u network-cost 999",
                                c, e));
    EXPECT_EQ(c.foundation, "842163049");
    EXPECT_EQ(c.component, 1);
    EXPECT_EQ(c.transport, "udp");
    EXPECT_EQ(c.priority, 1677729535u);
    EXPECT_EQ(c.address, "203.0.113.7");
    EXPECT_EQ(c.port, 50000);
    EXPECT_EQ(c.type, "srflx");
    EXPECT_TRUE(parse_candidate("a=candidate:1 1 TCP 1 fe80::1%eth0 9 typ host tcptype active", c, e));
    EXPECT_TRUE(parse_candidate("candidate:1 1 udp 1 4b3c8d1e-1f2a-4c3b-9d8e-7f6a5b4c3d2e.local 9 typ host", c, e));
    EXPECT_FALSE(parse_candidate("candidate:1 1 udp 1 127.0.0.1 70000 typ host", c, e));
    EXPECT_FALSE(parse_candidate("candidate:1 0 udp 1 127.0.0.1 7 typ host", c, e));
    EXPECT_FALSE(parse_candidate("candidate:1 1 udp 1 127.0.0.1 7 typ nope", c, e));
    EXPECT_FALSE(parse_candidate("candidate:1 1 udp 1 127.0.0.1 7", c, e));
    EXPECT_FALSE(parse_candidate("candidate:1 1 udp 1 <script> 7 typ host", c, e));
    EXPECT_FALSE(parse_candidate("nope", c, e));
}

TEST(SdpWriter, AnApplicationOfferParsesAndPassesTheWebRtcChecks) {
    ApplicationDescription d;
    d.session_id = 4611731400430051336ull;
    d.ice_ufrag = "Xb3u";
    d.ice_pwd = "0123456789abcdefghijklmn";
    d.fingerprint = "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4C:55:AA:C3:D6:6F:81:2E:D5:C4:E7:99";
    d.candidates.push_back(format_candidate("1", 2130706431, "192.0.2.7", 50000, "host"));
    d.candidates.push_back(format_candidate("2", 1694498815, "203.0.113.9", 61000, "srflx", "192.0.2.7", 50000));
    d.end_of_candidates = true;
    const std::string text = write(d);
    Session s;
    Error e;
    ASSERT_TRUE(parse(text, s, e)) << describe(e) << "\n" << text;
    ASSERT_TRUE(check_webrtc(s, e)) << describe(e);
    ASSERT_EQ(s.media.size(), 1u);
    const Media& m = s.media[0];
    EXPECT_EQ(m.kind, "application");
    EXPECT_EQ(m.sctp_port, 5000);
    EXPECT_EQ(m.max_message_size, 262144u);
    EXPECT_EQ(m.candidates, 2u);
    EXPECT_TRUE(m.end_of_candidates);
    EXPECT_EQ(m.setup, "actpass");
    EXPECT_EQ(std::string(m.fingerprint_hash) + " " + std::string(m.fingerprint), d.fingerprint);
    EXPECT_EQ(s.bundle, std::vector<std::string_view>{"0"});
    Candidate c;
    ASSERT_TRUE(parse_candidate(d.candidates[1], c, e));
    EXPECT_EQ(c.type, "srflx");
    EXPECT_EQ(c.port, 61000);
}

namespace {

// A Chromium-style video section sending three simulcast layers with RTX.
const char* kSimulcastOffer =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 AB:CD:EF\r\na=setup:actpass\r\na=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:3/sendonly http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
    "a=sendonly\r\na=msid:stream track\r\na=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:* ccm fir\r\n"
    "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    "a=ssrc-group:FID 1111 2222\r\na=ssrc:1111 cname:x\r\na=ssrc:2222 cname:x\r\n"
    "a=rid:q send\r\na=rid:h send max-width=640\r\na=rid:f send\r\n"
    "a=simulcast:send q;h;~f\r\n";

} // namespace

TEST(SdpRtp, ReadsFeedbackExtensionsGroupsRidsAndSimulcast) {
    Session s;
    Error e;
    ASSERT_TRUE(parse(kSimulcastOffer, s, e)) << describe(e);
    ASSERT_TRUE(check_webrtc(s, e)) << describe(e);
    const Media& m = s.media.at(0);
    ASSERT_EQ(m.rtcp_fbs.size(), 5u);
    EXPECT_EQ(m.rtcp_fbs[3].payload_type, 96);
    EXPECT_EQ(m.rtcp_fbs[3].type, "nack");
    EXPECT_EQ(m.rtcp_fbs[3].subtype, "pli");
    EXPECT_EQ(m.rtcp_fbs[4].payload_type, -1);
    ASSERT_EQ(m.fmtps.size(), 1u);
    EXPECT_EQ(m.fmtps[0].payload_type, 97);
    EXPECT_EQ(m.fmtps[0].params, "apt=96");
    ASSERT_EQ(m.extmaps.size(), 3u);
    EXPECT_EQ(m.extmaps[1].id, 3);
    EXPECT_EQ(m.extmaps[1].direction, Direction::SendOnly);
    EXPECT_EQ(m.extmaps[2].uri, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
    ASSERT_EQ(m.ssrc_groups.size(), 1u);
    EXPECT_EQ(m.ssrc_groups[0].semantics, "FID");
    EXPECT_EQ(m.ssrc_groups[0].ssrcs, (std::vector<std::uint32_t>{1111, 2222}));
    ASSERT_EQ(m.rids.size(), 3u);
    EXPECT_EQ(m.rids[1].params, "max-width=640");
    ASSERT_EQ(m.simulcast.send.size(), 3u);
    EXPECT_EQ(m.simulcast.send[0].stream.rid, "q");
    EXPECT_TRUE(m.simulcast.send[2].stream.paused);
    EXPECT_TRUE(m.simulcast.recv.empty());
}

TEST(SdpRtp, BadRtpAttributesAreRefusedWithTheirLine) {
    auto refused = [](const std::string& from, const std::string& to) {
        std::string text = kSimulcastOffer;
        const auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
        Session s;
        Error e;
        const bool ok = parse(text, s, e) && check_webrtc(s, e);
        EXPECT_FALSE(ok) << to;
        return e.line;
    };
    EXPECT_EQ(refused("a=extmap:1 ", "a=extmap:15 "), 13u) << "id 15 is reserved";
    refused("a=extmap:10 ", "a=extmap:1 ");                 // one meaning per id
    refused("a=fmtp:97 apt=96", "a=fmtp:128 apt=96");
    refused("a=rtcp-fb:96 goog-remb", "a=rtcp-fb:96");
    refused("a=rid:q send", "a=rid:q sideways");
    refused("a=rid:f send", "a=rid:q send");                 // a rid declared twice
    refused("a=simulcast:send q;h;~f", "a=simulcast:send q;h;z"); // z has no a=rid
    refused("a=simulcast:send q;h;~f", "a=simulcast:send q;;f");
    refused("a=ssrc-group:FID 1111 2222", "a=ssrc-group:FID");
}

TEST(SdpRtp, WrittenRtpSectionsReadBackTheSame) {
    RtpSection v;
    v.mid = "1";
    v.direction = Direction::SendOnly;
    Codec vp8;
    vp8.rtcp_fb = {"nack", "nack pli", "transport-cc"};
    Codec rtx{97, "rtx", 90000, 0, "apt=96", {}};
    v.codecs = {vp8, rtx};
    v.extmaps = {{3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"}};
    v.msid_stream = "s";
    v.msid_track = "t";
    v.ssrcs = {{1111, "c"}, {2222, "c"}};
    v.ssrc_groups = {{"FID", {1111, 2222}}};
    v.send_rids = {"q", "h", "f"};
    RtpSection a;
    a.kind = "audio";
    a.mid = "2";
    a.codecs = {Codec{111, "opus", 48000, 2, "minptime=10;useinbandfec=1", {"transport-cc"}}};
    TransportAttributes t{"abcd", "abcdefghijklmnopqrstuvwx", "sha-256 AB:CD:EF", "actpass", {}};

    ApplicationDescription d;
    d.ice_ufrag = t.ice_ufrag;
    d.ice_pwd = t.ice_pwd;
    d.fingerprint = t.fingerprint;
    std::string text = write(d);
    text.replace(text.find("a=group:BUNDLE 0"), 16, "a=group:BUNDLE 0 1 2");
    append_rtp_section(text, v, t);
    append_rtp_section(text, a, t);
    Session s;
    Error e;
    ASSERT_TRUE(parse(text, s, e)) << describe(e) << "\n" << text;
    ASSERT_TRUE(check_webrtc(s, e)) << describe(e);
    ASSERT_EQ(s.media.size(), 3u);
    const Media& mv = s.media[1];
    EXPECT_EQ(mv.kind, "video");
    EXPECT_EQ(mv.direction, Direction::SendOnly);
    EXPECT_EQ(mv.formats, (std::vector<std::string_view>{"96", "97"}));
    ASSERT_EQ(mv.rtpmaps.size(), 2u);
    EXPECT_EQ(mv.rtpmaps[1].encoding, "rtx");
    EXPECT_EQ(mv.rtcp_fbs.size(), 3u);
    EXPECT_EQ(mv.fmtps.at(0).params, "apt=96");
    EXPECT_EQ(mv.extmaps.at(0).id, 3);
    EXPECT_EQ(mv.ssrcs, (std::vector<std::uint32_t>{1111, 2222}));
    EXPECT_EQ(mv.ssrc_groups.at(0).ssrcs.size(), 2u);
    EXPECT_EQ(mv.simulcast.send.size(), 3u);
    EXPECT_EQ(mv.msid_track, "t");
    EXPECT_TRUE(mv.rtcp_mux);
    const Media& ma = s.media[2];
    EXPECT_EQ(ma.rtpmaps.at(0).channels, 2);
    EXPECT_EQ(ma.fmtps.at(0).params, "minptime=10;useinbandfec=1");
    EXPECT_TRUE(sends_media(s)) << "a=msid with sendonly sends media";
}
