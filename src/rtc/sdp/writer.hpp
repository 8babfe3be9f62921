#pragma once
// Writing SDP: the descriptions a native peer offers or answers: one data-channel section
// (m=application, UDP/DTLS/SCTP) with ICE and DTLS attributes, as JSEP (RFC 8829 §5.2, §5.3)
// lays it out, and in answers a rejected section (port 0) for each audio/video section of the
// offer, in the offer's order; what it writes parses with sdp::parse() and passes check_webrtc().
// And RTP sections (audio, video) with codecs, feedback, header extensions, SSRCs and simulcast
// rids, for the SFU to compose its descriptions from.
#include "rtc/sdp/sdp.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::rtc::sdp {

/// An m-section of the offer that the answer turns down (a data-only peer receives no media).
struct RejectedSection {
    std::string kind;   // "audio", "video", ...
    std::string proto;  // as offered
    std::string format; // the first format offered (an m-line needs one)
    std::string mid;
};

struct ApplicationDescription {
    std::uint64_t session_id = 0;    // o= line; random per peer connection
    std::uint64_t session_version = 1; // increments with every new offer/answer
    std::string ice_ufrag, ice_pwd;
    std::string fingerprint;         // "sha-256 AB:CD:..."
    std::string setup = "actpass";   // offers: actpass; answers: active or passive
    std::string mid = "0";
    std::uint16_t sctp_port = 5000;
    std::uint32_t max_message_size = 256 * 1024;
    bool ice_lite = false;
    std::vector<std::string> candidates; // "candidate:..." attribute values, already formatted
    bool end_of_candidates = false;
    /// Answers only: the offer's other sections, each with its place among all of them;
    /// `application_index` is where the data-channel section goes.
    std::vector<RejectedSection> rejected;
    std::size_t application_index = 0;
};

std::string write(const ApplicationDescription& d);

struct Codec {
    std::uint8_t payload_type = 96;
    std::string encoding = "VP8";
    std::uint32_t clock_rate = 90000;
    std::uint8_t channels = 0; // audio: 2 for opus
    std::string fmtp;          // "" or the parameters
    std::vector<std::string> rtcp_fb; // "nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"
};

struct SourceSsrc {
    std::uint32_t ssrc = 0;
    std::string cname;
};

struct RtpSection {
    std::string kind = "video"; // or "audio"
    std::string mid;
    Direction direction = Direction::SendRecv;
    std::vector<Codec> codecs;
    std::vector<std::pair<std::uint16_t, std::string>> extmaps; // id, URI
    std::string msid_stream, msid_track; // "" for none
    std::vector<SourceSsrc> ssrcs;
    std::vector<std::pair<std::string, std::vector<std::uint32_t>>> ssrc_groups; // "FID", {media, rtx}
    std::vector<std::string> send_rids; // simulcast layers this side sends (a=rid + a=simulcast)
    std::vector<std::string> recv_rids; // ... or receives
};

struct TransportAttributes {
    std::string ice_ufrag, ice_pwd, fingerprint, setup;
    std::vector<std::string> candidates; // "candidate:..." values
};

/// Appends an RTP m-section (rtcp-mux, the transport attributes given) to `out`.
void append_rtp_section(std::string& out, const RtpSection& m, const TransportAttributes& t);

/// A candidate attribute value (RFC 8839 §5.1): "candidate:<foundation> <component> udp
/// <priority> <address> <port> typ <type>[ raddr <addr> rport <port>]".
std::string format_candidate(std::string_view foundation, std::uint32_t priority, std::string_view address,
                             std::uint16_t port, std::string_view type, std::string_view related_address = {},
                             std::uint16_t related_port = 0);

} // namespace switchboard::rtc::sdp
