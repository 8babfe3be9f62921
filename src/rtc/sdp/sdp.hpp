#pragma once
// SDP (RFC 8866) as WebRTC uses it (RFC 8829 JSEP, RFC 8843 BUNDLE, RFC 8839 ICE attributes,
// RFC 8122 fingerprints, RFC 8841 SCTP). Sans-I/O: parse() reads a description into a Session
// whose string views borrow the text; nothing here knows about connections.
//
// Parsing checks the grammar of every line (a type letter, '=', no control characters) and of
// the attributes WebRTC relies on; attributes it does not know are kept out of the model, as
// RFC 8866 §5.13 asks. check_webrtc() adds what a description must hold to set up a connection.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::rtc::sdp {

enum class Direction : std::uint8_t { SendRecv, SendOnly, RecvOnly, Inactive };

struct Rtpmap {
    std::uint8_t payload_type = 0;
    std::string_view encoding; // "opus", "VP8", ...
    std::uint32_t clock_rate = 0;
    std::uint8_t channels = 0; // 0: absent
};

struct Fmtp {
    std::uint8_t payload_type = 0;
    std::string_view params; // "minptime=10;useinbandfec=1"
};

struct RtcpFb {
    int payload_type = -1; // -1: "*" (every payload type)
    std::string_view type, subtype; // "nack" "pli", "transport-cc" ""
};

struct Extmap {
    std::uint16_t id = 0; // 1-14 one-byte, up to 255 two-byte headers (RFC 8285)
    std::string_view uri;
    Direction direction = Direction::SendRecv;
};

struct SsrcGroup {
    std::string_view semantics; // "FID" (RTX), "SIM", ...
    std::vector<std::uint32_t> ssrcs;
};

struct Rid {
    std::string_view id;
    bool send = true;        // "send" or "recv"
    std::string_view params; // "max-width=1280;pt=96", may be empty
};

struct SimulcastStream {
    std::string_view rid;
    bool paused = false; // "~rid"
};

/// a=simulcast (RFC 8853): the streams of each direction in order; alternatives (',') are kept
/// as separate entries with `alternative` set.
struct Simulcast {
    struct Entry {
        SimulcastStream stream;
        bool alternative = false; // an alternative to the entry before it
    };
    std::vector<Entry> send, recv;
};

struct Media {
    std::string_view kind;   // "audio", "video", "application", or another token
    std::uint16_t port = 0;  // 0: rejected or stopped m-section
    std::string_view proto;  // "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ...
    std::vector<std::string_view> formats;
    std::string_view mid;
    Direction direction = Direction::SendRecv;
    bool has_direction = false;
    std::string_view ice_ufrag, ice_pwd, fingerprint_hash, fingerprint, setup;
    std::string_view msid_stream, msid_track; // a=msid (the first one)
    bool rtcp_mux = false;
    bool end_of_candidates = false;
    std::uint16_t sctp_port = 0;
    std::uint32_t max_message_size = 0;
    std::uint32_t candidates = 0;
    std::vector<Rtpmap> rtpmaps;
    std::vector<Fmtp> fmtps;
    std::vector<RtcpFb> rtcp_fbs;
    std::vector<Extmap> extmaps;
    std::vector<std::uint32_t> ssrcs; // distinct, in order of appearance
    std::vector<SsrcGroup> ssrc_groups;
    std::vector<Rid> rids;
    Simulcast simulcast;
    std::uint32_t line = 0;           // the m= line's number, for errors
};

struct Session {
    std::string_view origin_user, session_id, session_version, origin_address;
    std::string_view name;
    std::vector<std::string_view> bundle; // a=group:BUNDLE mids
    std::string_view ice_ufrag, ice_pwd, fingerprint_hash, fingerprint, setup;
    bool ice_lite = false;
    bool ice_trickle = false; // a=ice-options:trickle
    std::vector<Media> media;
};

struct Limits {
    std::size_t max_size = 64 * 1024;
    std::uint32_t max_lines = 4000;
    std::uint32_t max_media = 64;
    std::uint32_t max_formats = 128;   // per m-line
    std::uint32_t max_ssrcs = 64;      // per m-section
    std::uint32_t max_rtp_attributes = 256; // fmtp, rtcp-fb, extmap, ssrc-group, rid: each, per m-section
};

struct Error {
    std::uint32_t line = 0; // 1-based; 0: the description as a whole
    std::string_view what; // static text
};

/// Parses `text` into `out` (cleared first). On failure returns false and sets `err`.
bool parse(std::string_view text, Session& out, Error& err, const Limits& limits = {});

/// What a description must hold before it can set up a WebRTC connection: at least one
/// m-section; for each one in use ICE credentials, a fingerprint and a setup role (at media or
/// session level), a mid, and a matching BUNDLE group when there are several; every rid that
/// a=simulcast names declared by an a=rid of that direction.
bool check_webrtc(const Session& s, Error& err);

/// "line 12: bad a=fingerprint" / "bad SDP: ..." for an error reply.
std::string describe(const Error& e);

/// True when some m-section in use sends media with a track (a=msid and sendrecv/sendonly).
bool sends_media(const Session& s) noexcept;

/// An ICE candidate attribute (RFC 8839 §5.1) as trickled: "candidate:..." (the "a=" prefix is
/// accepted too). Views borrow the text.
struct Candidate {
    std::string_view foundation;
    std::uint16_t component = 0;
    std::string_view transport; // "udp" or "tcp", as written
    std::uint32_t priority = 0;
    std::string_view address; // IP literal or an mDNS/host name
    std::uint16_t port = 0;
    std::string_view type; // host, srflx, prflx, relay
};

bool parse_candidate(std::string_view text, Candidate& out, Error& err);
/// The same without the "candidate:" prefix (an a=candidate line's value).
bool parse_candidate_value(std::string_view text, Candidate& out, Error& err);

} // namespace switchboard::rtc::sdp
