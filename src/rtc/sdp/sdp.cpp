#include "rtc/sdp/sdp.hpp"

#include "rtc/sdp/rtp_attributes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace switchboard::rtc::sdp {

namespace {

bool fail(Error& err, std::uint32_t line, std::string_view what) {
    err.line = line;
    err.what = what;
    return false;
}

template <class T> bool to_number(std::string_view s, T& out, T max) {
    if (s.empty() || s.size() > 20) return false;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
    out = static_cast<T>(v);
    return true;
}

// Splits off the next space-separated field (SDP separates fields with exactly one space, but
// real stacks are lenient about runs of spaces; so are we).
std::string_view next_field(std::string_view& rest) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    auto sp = rest.find(' ');
    std::string_view f = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    return f;
}

bool is_token_char(char c) {
    // RFC 8866 token-char: visible ASCII except a few separators.
    return c > 0x20 && c < 0x7f && c != '"' && c != '(' && c != ')' && c != ',' && c != '/' && c != ':' &&
           c != ';' && c != '<' && c != '=' && c != '>' && c != '?' && c != '@' && c != '[' && c != '\\' &&
           c != ']' && c != '{' && c != '}';
}

bool is_token(std::string_view s) {
    return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), is_token_char);
}

// RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/"
bool is_ice_chars(std::string_view s, std::size_t min, std::size_t max) {
    if (s.size() < min || s.size() > max) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    });
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// "sha-256 AB:CD:..." (RFC 8122 §5)
bool parse_fingerprint(std::string_view v, std::string_view& hash, std::string_view& fp) {
    hash = next_field(v);
    fp = next_field(v);
    if (!v.empty() || !is_token(hash) || fp.size() < 2 || fp.size() > 3 * 64 - 1) return false;
    for (std::size_t i = 0; i < fp.size(); ++i) {
        if (i % 3 == 2) {
            if (fp[i] != ':') return false;
        } else if (!is_hex(fp[i])) {
            return false;
        }
    }
    return fp.size() % 3 == 2;
}

bool valid_setup(std::string_view v) {
    return v == "actpass" || v == "active" || v == "passive" || v == "holdconn";
}

struct Attr {
    std::string_view name, value;
    bool has_value = false;
};

Attr split_attr(std::string_view a) {
    Attr r;
    auto colon = a.find(':');
    r.name = a.substr(0, colon);
    if (colon != std::string_view::npos) {
        r.value = a.substr(colon + 1);
        r.has_value = true;
    }
    return r;
}

// Attributes that may appear at session and media level (ICE, DTLS).
// Returns 1 when handled, 0 when not one of these, -1 on a bad value.
int transport_attr(const Attr& a, std::string_view& ufrag, std::string_view& pwd, std::string_view& hash,
                   std::string_view& fp, std::string_view& setup) {
    if (a.name == "ice-ufrag") {
        ufrag = a.value;
        return is_ice_chars(a.value, 4, 256) ? 1 : -1;
    }
    if (a.name == "ice-pwd") {
        pwd = a.value;
        return is_ice_chars(a.value, 22, 256) ? 1 : -1;
    }
    if (a.name == "fingerprint") return parse_fingerprint(a.value, hash, fp) ? 1 : -1;
    if (a.name == "setup") {
        setup = a.value;
        return valid_setup(a.value) ? 1 : -1;
    }
    return 0;
}

bool parse_media_line(std::string_view v, Media& m, const Limits& limits) {
    m.kind = next_field(v);
    std::string_view port = next_field(v);
    m.proto = next_field(v);
    if (!is_token(m.kind)) return false;
    // "<port>/<count>" is allowed by the grammar; WebRTC never uses it, the count is ignored.
    port = port.substr(0, port.find('/'));
    if (!to_number<std::uint16_t>(port, m.port, 65535)) return false;
    if (m.proto.empty() || m.proto.size() > 64) return false;
    for (char c : m.proto)
        if (!is_token_char(c) && c != '/') return false;
    while (!v.empty()) {
        std::string_view f = next_field(v);
        if (f.empty()) continue;
        if (!is_token(f) || m.formats.size() >= limits.max_formats) return false;
        m.formats.push_back(f);
    }
    return !m.formats.empty();
}

// a=rtpmap:<pt> <encoding>/<clock>[/<channels>]
bool parse_rtpmap(std::string_view v, Rtpmap& r) {
    std::string_view pt = next_field(v);
    if (!to_number<std::uint8_t>(pt, r.payload_type, 127)) return false;
    std::string_view enc = next_field(v);
    if (!v.empty()) return false;
    auto s1 = enc.find('/');
    if (s1 == std::string_view::npos) return false;
    r.encoding = enc.substr(0, s1);
    std::string_view rest = enc.substr(s1 + 1);
    auto s2 = rest.find('/');
    if (!is_token(r.encoding) || !to_number<std::uint32_t>(rest.substr(0, s2), r.clock_rate, 10000000)) return false;
    if (s2 != std::string_view::npos && !to_number<std::uint8_t>(rest.substr(s2 + 1), r.channels, 255)) return false;
    return true;
}

bool media_attr(const Attr& a, Media& m, const Limits& limits) {
    switch (int t = transport_attr(a, m.ice_ufrag, m.ice_pwd, m.fingerprint_hash, m.fingerprint, m.setup)) {
    case 1: return true;
    case -1: return false;
    default: (void)t; break;
    }
    const std::string_view n = a.name;
    if (n == "mid") {
        m.mid = a.value;
        return is_token(a.value);
    }
    if (n == "sendrecv" || n == "sendonly" || n == "recvonly" || n == "inactive") {
        if (a.has_value) return false;
        m.direction = n == "sendrecv" ? Direction::SendRecv
                      : n == "sendonly" ? Direction::SendOnly
                      : n == "recvonly" ? Direction::RecvOnly
                                        : Direction::Inactive;
        m.has_direction = true;
        return true;
    }
    if (n == "rtcp-mux" || n == "end-of-candidates") {
        (n == "rtcp-mux" ? m.rtcp_mux : m.end_of_candidates) = true;
        return !a.has_value;
    }
    if (n == "candidate") {
        Candidate c;
        Error e;
        if (!parse_candidate_value(a.value, c, e)) return false;
        ++m.candidates;
        return true;
    }
    if (n == "msid") {
        std::string_view v = a.value;
        std::string_view stream = next_field(v), track = next_field(v);
        if (stream.empty() || stream.size() > 64 || track.size() > 64 || !v.empty()) return false;
        if (m.msid_stream.empty()) {
            m.msid_stream = stream;
            m.msid_track = track;
        }
        return true;
    }
    if (n == "sctp-port") return to_number<std::uint16_t>(a.value, m.sctp_port, 65535);
    if (n == "max-message-size") return to_number<std::uint32_t>(a.value, m.max_message_size, 0xffffffffu);
    if (n == "rtpmap") {
        Rtpmap r;
        if (!parse_rtpmap(a.value, r)) return false;
        if (m.rtpmaps.size() < limits.max_formats) m.rtpmaps.push_back(r);
        return true;
    }
    if (int r = detail::rtp_attribute(n, a.value, m, limits); r != 0) return r > 0;
    if (n == "ssrc") {
        std::string_view v = a.value;
        std::uint32_t ssrc = 0;
        if (!to_number<std::uint32_t>(next_field(v), ssrc, 0xffffffffu)) return false;
        if (std::find(m.ssrcs.begin(), m.ssrcs.end(), ssrc) == m.ssrcs.end()) {
            if (m.ssrcs.size() >= limits.max_ssrcs) return false;
            m.ssrcs.push_back(ssrc);
        }
        return true;
    }
    return true; // unknown attributes are ignored (RFC 8866 §5.13)
}

bool session_attr(const Attr& a, Session& s) {
    switch (int t = transport_attr(a, s.ice_ufrag, s.ice_pwd, s.fingerprint_hash, s.fingerprint, s.setup)) {
    case 1: return true;
    case -1: return false;
    default: (void)t; break;
    }
    if (a.name == "group") {
        std::string_view v = a.value;
        std::string_view semantics = next_field(v);
        if (!is_token(semantics)) return false;
        if (semantics != "BUNDLE") return true;
        s.bundle.clear();
        while (!v.empty()) {
            std::string_view mid = next_field(v);
            if (mid.empty()) continue;
            if (!is_token(mid) || s.bundle.size() >= 256) return false;
            s.bundle.push_back(mid);
        }
        return true;
    }
    if (a.name == "ice-lite") {
        s.ice_lite = true;
        return !a.has_value;
    }
    if (a.name == "ice-options") {
        std::string_view v = a.value;
        while (!v.empty())
            if (next_field(v) == "trickle") s.ice_trickle = true;
        return true;
    }
    return true;
}

} // namespace

bool parse(std::string_view text, Session& s, Error& err, const Limits& limits) {
    s = Session{};
    err = Error{};
    if (text.size() > limits.max_size) return fail(err, 0, "description too large");
    if (text.empty()) return fail(err, 0, "empty description");
    std::uint32_t n = 0;
    bool seen_o = false, seen_s = false, seen_t = false;
    Media* m = nullptr;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (++n > limits.max_lines) return fail(err, n, "too many lines");
        if (line.empty()) {
            // A trailing line break leaves one empty "line"; an empty line elsewhere is an error.
            if (text.empty()) break;
            return fail(err, n, "empty line");
        }
        if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
            return fail(err, n, "not a <type>=<value> line");
        for (char c : line)
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return fail(err, n, "control character");
        const char type = line[0];
        std::string_view v = line.substr(2);
        if (n == 1) {
            if (type != 'v' || v != "0") return fail(err, n, "must begin with v=0");
            continue;
        }
        switch (type) {
        case 'v': return fail(err, n, "a second v= line");
        case 'o': {
            if (seen_o || m) return fail(err, n, "o= out of place");
            seen_o = true;
            s.origin_user = next_field(v);
            s.session_id = next_field(v);
            s.session_version = next_field(v);
            std::string_view nettype = next_field(v), addrtype = next_field(v);
            s.origin_address = next_field(v);
            if (s.origin_address.empty() || !v.empty() || nettype.empty() || addrtype.empty())
                return fail(err, n, "o= needs six fields");
            break;
        }
        case 's':
            if (seen_s || m) return fail(err, n, "s= out of place");
            seen_s = true;
            s.name = v;
            break;
        case 't':
            if (m) return fail(err, n, "t= out of place");
            seen_t = true;
            break;
        case 'm': {
            if (!seen_o || !seen_s || !seen_t) return fail(err, n, "m= before o=, s= and t=");
            if (s.media.size() >= limits.max_media) return fail(err, n, "too many m= sections");
            s.media.emplace_back();
            m = &s.media.back();
            m->line = n;
            if (!parse_media_line(v, *m, limits)) return fail(err, n, "bad m= line");
            break;
        }
        case 'a': {
            Attr a = split_attr(v);
            if (a.name.empty() || !is_token(a.name)) return fail(err, n, "bad attribute name");
            if (m ? !media_attr(a, *m, limits) : !session_attr(a, s)) return fail(err, n, "bad attribute value");
            break;
        }
        default: break; // c=, b=, i=, u=, e=, p=, r=, z=, k=: not used by WebRTC
        }
    }
    if (!seen_o) return fail(err, 0, "no o= line");
    if (!seen_s) return fail(err, 0, "no s= line");
    if (!seen_t) return fail(err, 0, "no t= line");
    return true;
}

bool check_webrtc(const Session& s, Error& err) {
    if (s.media.empty()) return fail(err, 0, "no m= section");
    std::vector<std::string_view> mids;
    for (const Media& m : s.media) {
        if (m.mid.empty()) return fail(err, m.line, "m= section without a=mid");
        if (std::find(mids.begin(), mids.end(), m.mid) != mids.end()) return fail(err, m.line, "duplicate a=mid");
        mids.push_back(m.mid);
        if (m.port == 0) continue;
        const bool bundled = std::find(s.bundle.begin(), s.bundle.end(), m.mid) != s.bundle.end();
        if (s.media.size() > 1 && !bundled) return fail(err, m.line, "m= section outside the BUNDLE group");
        if ((m.ice_ufrag.empty() ? s.ice_ufrag : m.ice_ufrag).empty() ||
            (m.ice_pwd.empty() ? s.ice_pwd : m.ice_pwd).empty())
            return fail(err, m.line, "no a=ice-ufrag/a=ice-pwd");
        if ((m.fingerprint.empty() ? s.fingerprint : m.fingerprint).empty())
            return fail(err, m.line, "no a=fingerprint");
        if ((m.setup.empty() ? s.setup : m.setup).empty()) return fail(err, m.line, "no a=setup");
        if (m.kind == "application") {
            if (m.proto.find("SCTP") == std::string_view::npos) return fail(err, m.line, "application m= is not SCTP");
        } else if (m.proto.find("RTP") == std::string_view::npos) {
            return fail(err, m.line, "media m= is not RTP");
        }
        if (std::string_view why = detail::check_simulcast(m); !why.empty()) return fail(err, m.line, why);
    }
    return true;
}

bool sends_media(const Session& s) noexcept {
    for (const Media& m : s.media)
        if (m.port != 0 && m.kind != "application" && !m.msid_stream.empty() &&
            (m.direction == Direction::SendRecv || m.direction == Direction::SendOnly))
            return true;
    return false;
}

std::string describe(const Error& e) {
    std::string out = "bad SDP: ";
    if (e.line) {
        out += "line ";
        out += std::to_string(e.line);
        out += ": ";
    }
    out += e.what;
    return out;
}

bool parse_candidate(std::string_view text, Candidate& c, Error& err) {
    if (text.substr(0, 2) == "a=") text.remove_prefix(2);
    if (text.substr(0, 10) != "candidate:") {
        c = Candidate{};
        return fail(err, 0, "not a candidate attribute");
    }
    return parse_candidate_value(text.substr(10), c, err);
}

bool parse_candidate_value(std::string_view text, Candidate& c, Error& err) {
    c = Candidate{};
    err = Error{};
    if (text.size() > 1024) return fail(err, 0, "candidate too long");
    for (char ch : text)
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
            return fail(err, 0, "control character in candidate");
    c.foundation = next_field(text);
    if (!is_ice_chars(c.foundation, 1, 32)) return fail(err, 0, "bad candidate foundation");
    if (!to_number<std::uint16_t>(next_field(text), c.component, 256) || c.component == 0)
        return fail(err, 0, "bad candidate component");
    c.transport = next_field(text);
    if (!is_token(c.transport) || c.transport.size() > 16) return fail(err, 0, "bad candidate transport");
    if (!to_number<std::uint32_t>(next_field(text), c.priority, 0xffffffffu)) return fail(err, 0, "bad candidate priority");
    c.address = next_field(text);
    if (c.address.empty() || c.address.size() > 255) return fail(err, 0, "bad candidate address");
    for (char ch : c.address)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == ':' || ch == '-' || ch == '%' ||
              ch == '_'))
            return fail(err, 0, "bad candidate address");
    if (!to_number<std::uint16_t>(next_field(text), c.port, 65535)) return fail(err, 0, "bad candidate port");
    if (next_field(text) != "typ") return fail(err, 0, "candidate without typ");
    c.type = next_field(text);
    if (c.type != "host" && c.type != "srflx" && c.type != "prflx" && c.type != "relay")
        return fail(err, 0, "bad candidate type");
    // The rest is name/value extensions (raddr, rport, tcptype, generation, ufrag, ...): free.
    return true;
}

} // namespace switchboard::rtc::sdp
