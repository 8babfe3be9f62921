#include "rtc/sdp/writer.hpp"

#include <algorithm>
#include <string_view>

namespace switchboard::rtc::sdp {

std::string write(const ApplicationDescription& d) {
    std::string s;
    s.reserve(512 + 120 * d.candidates.size());
    auto line = [&](std::string_view a, std::string_view b = {}, std::string_view c = {}) {
        s += a;
        s += b;
        s += c;
        s += "\r\n";
    };
    line("v=0");
    line("o=- ", std::to_string(d.session_id) + " " + std::to_string(d.session_version), " IN IP4 0.0.0.0");
    line("s=-");
    line("t=0 0");
    line("a=group:BUNDLE ", d.mid);
    line("a=msid-semantic: WMS");
    if (d.ice_lite) line("a=ice-lite");
    auto transport = [&] {
        line("a=ice-ufrag:", d.ice_ufrag);
        line("a=ice-pwd:", d.ice_pwd);
        line("a=ice-options:trickle");
        line("a=fingerprint:", d.fingerprint);
        line("a=setup:", d.setup);
    };
    auto rejected = [&](const RejectedSection& r) {
        // Port 0 rejects it (RFC 8829 §5.3.1); outside the BUNDLE group, no direction to agree on.
        line("m=", r.kind + " 0 " + r.proto + " ", r.format.empty() ? "0" : r.format);
        line("c=IN IP4 0.0.0.0");
        transport();
        line("a=mid:", r.mid);
        line("a=inactive");
    };
    const std::size_t app_at = std::min(d.application_index, d.rejected.size());
    for (std::size_t i = 0; i < app_at; ++i) rejected(d.rejected[i]);
    line("m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
    line("c=IN IP4 0.0.0.0");
    for (const auto& c : d.candidates) line("a=", c);
    if (d.end_of_candidates) line("a=end-of-candidates");
    transport();
    line("a=mid:", d.mid);
    line("a=sctp-port:", std::to_string(d.sctp_port));
    line("a=max-message-size:", std::to_string(d.max_message_size));
    for (std::size_t i = app_at; i < d.rejected.size(); ++i) rejected(d.rejected[i]);
    return s;
}

void append_rtp_section(std::string& s, const RtpSection& m, const TransportAttributes& t) {
    // Every line is appended piece by piece: g++ 12 at -O3 warns (-Wrestrict, falsely) about
    // "literal" + std::string temporaries.
    auto line = [&](auto&&... parts) {
        (s.append(std::string_view(parts)), ...);
        s += "\r\n";
    };
    s += "m=";
    s += m.kind;
    s += " 9 UDP/TLS/RTP/SAVPF";
    for (const auto& c : m.codecs) {
        s += ' ';
        s += std::to_string(c.payload_type);
    }
    s += "\r\n";
    line("c=IN IP4 0.0.0.0");
    line("a=rtcp:9 IN IP4 0.0.0.0");
    for (const auto& c : t.candidates) line("a=", c);
    line("a=ice-ufrag:", t.ice_ufrag);
    line("a=ice-pwd:", t.ice_pwd);
    line("a=ice-options:trickle");
    line("a=fingerprint:", t.fingerprint);
    line("a=setup:", t.setup);
    line("a=mid:", m.mid);
    for (const auto& [id, uri] : m.extmaps) line("a=extmap:", std::to_string(id), " ", uri);
    static constexpr const char* kDirection[] = {"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"};
    line(kDirection[static_cast<int>(m.direction)]);
    if (!m.msid_stream.empty()) line("a=msid:", m.msid_stream, " ", m.msid_track);
    line("a=rtcp-mux");
    line("a=rtcp-rsize");
    for (const auto& c : m.codecs) {
        const std::string pt = std::to_string(c.payload_type);
        if (c.channels) line("a=rtpmap:", pt, " ", c.encoding, "/", std::to_string(c.clock_rate), "/", std::to_string(c.channels));
        else line("a=rtpmap:", pt, " ", c.encoding, "/", std::to_string(c.clock_rate));
        for (const auto& fb : c.rtcp_fb) line("a=rtcp-fb:", pt, " ", fb);
        if (!c.fmtp.empty()) line("a=fmtp:", pt, " ", c.fmtp);
    }
    for (const auto& [semantics, ssrcs] : m.ssrc_groups) {
        s += "a=ssrc-group:";
        s += semantics;
        for (auto x : ssrcs) {
            s += ' ';
            s += std::to_string(x);
        }
        s += "\r\n";
    }
    for (const auto& x : m.ssrcs) line("a=ssrc:", std::to_string(x.ssrc), " cname:", x.cname);
    for (const auto& r : m.send_rids) line("a=rid:", r, " send");
    for (const auto& r : m.recv_rids) line("a=rid:", r, " recv");
    if (m.send_rids.empty() && m.recv_rids.empty()) return;
    s += "a=simulcast:";
    auto list = [&](const char* dir, const std::vector<std::string>& ids) {
        if (ids.empty()) return;
        if (s.back() != ':') s += ' ';
        s += dir;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            s += i ? ';' : ' ';
            s += ids[i];
        }
    };
    list("send", m.send_rids);
    list("recv", m.recv_rids);
    s += "\r\n";
}

std::string format_candidate(std::string_view foundation, std::uint32_t priority, std::string_view address,
                             std::uint16_t port, std::string_view type, std::string_view related_address,
                             std::uint16_t related_port) {
    std::string c = "candidate:";
    c += foundation;
    c += " 1 udp ";
    c += std::to_string(priority);
    c += ' ';
    c += address;
    c += ' ';
    c += std::to_string(port);
    c += " typ ";
    c += type;
    if (!related_address.empty()) {
        c += " raddr ";
        c += related_address;
        c += " rport ";
        c += std::to_string(related_port);
    }
    return c;
}

} // namespace switchboard::rtc::sdp
