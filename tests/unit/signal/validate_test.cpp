#include "signal/validate.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace switchboard;
using namespace switchboard::signal;

namespace {

struct Parsed {
    std::string text;
    json::Value v;
    explicit Parsed(std::string t) : text(std::move(t)) { EXPECT_EQ(json::parse(text, v), json::Error::None) << text; }
};

std::string candidate_why(const std::string& json_text) {
    Parsed p(json_text);
    std::string why;
    return valid_candidate(p.v, why) ? "ok" : why;
}

std::string sdp(bool send) {
    const std::string fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    std::string s = "v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0\\r\\n"
                    "m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\na=ice-ufrag:abcd\\r\\na=ice-pwd:abcdefghijklmnopqrstuvwx\\r\\n"
                    "a=fingerprint:sha-256 " + fp + "\\r\\na=setup:actpass\\r\\na=mid:0\\r\\n";
    s += send ? "a=sendrecv\\r\\na=msid:s t\\r\\n" : "a=recvonly\\r\\n";
    return s + "a=rtpmap:111 opus/48000/2\\r\\n";
}

std::string description_why(const std::string& json_text, std::string_view kind, bool* sends_out = nullptr) {
    Parsed p(json_text);
    std::string why;
    bool sends = false;
    bool ok = valid_description(p.v, kind, sends, why);
    if (sends_out) *sends_out = sends;
    return ok ? "ok" : why;
}

} // namespace

TEST(SignalValidate, Candidates) {
    EXPECT_EQ(candidate_why(R"({"candidate":"candidate:1 1 udp 2113937151 192.0.2.7 50000 typ host","sdpMid":"0","sdpMLineIndex":0})"), "ok");
    EXPECT_EQ(candidate_why(R"({"candidate":"","sdpMid":"0"})"), "ok"); // end of candidates
    EXPECT_EQ(candidate_why("null"), "ok");
    EXPECT_EQ(candidate_why(R"({"candidate":"candidate:1 1 udp 1 192.0.2.7 70000 typ host"})"), "bad candidate: bad candidate port");
    EXPECT_EQ(candidate_why(R"({"sdpMid":"0"})"), "a candidate signal needs data.candidate");
    EXPECT_EQ(candidate_why(R"({"candidate":5})"), "candidate must be a string");
    EXPECT_EQ(candidate_why(R"({"candidate":"","sdpMid":7})"), "sdpMid and usernameFragment are strings");
    EXPECT_EQ(candidate_why(R"({"candidate":"","sdpMLineIndex":99999})"), "sdpMLineIndex is a small number");
    EXPECT_NE(candidate_why(R"("candidate:1 1 udp 1 192.0.2.7 7 typ host")"), "ok");
}

TEST(SignalValidate, Descriptions) {
    bool sends = false;
    EXPECT_EQ(description_why(R"({"type":"offer","sdp":")" + sdp(true) + R"("})", "offer", &sends), "ok");
    EXPECT_TRUE(sends);
    EXPECT_EQ(description_why(R"({"type":"answer","sdp":")" + sdp(false) + R"("})", "answer", &sends), "ok");
    EXPECT_FALSE(sends);
    EXPECT_EQ(description_why(R"({"type":"pranswer","sdp":")" + sdp(false) + R"("})", "answer"), "ok");
    EXPECT_EQ(description_why(R"({"type":"answer","sdp":")" + sdp(false) + R"("})", "offer"),
              "data.type does not match the signal's kind");
    EXPECT_EQ(description_why(R"({"type":"offer"})", "offer"), "data needs the strings type and sdp");
    EXPECT_EQ(description_why(R"("v=0")", "offer"), "an offer or answer's data is an RTCSessionDescriptionInit object");
    EXPECT_EQ(description_why(R"({"type":"offer","sdp":"v=0\r\nx\r\n"})", "offer"), "bad SDP: line 2: not a <type>=<value> line");
    std::string no_mid = sdp(true);
    no_mid.erase(no_mid.find("a=mid:0\\r\\n"), 11);
    EXPECT_EQ(description_why(R"({"type":"offer","sdp":")" + no_mid + R"("})", "offer").substr(0, 15), "bad SDP: line 6");
}
