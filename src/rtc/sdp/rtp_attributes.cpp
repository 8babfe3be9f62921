#include "rtc/sdp/rtp_attributes.hpp"

#include <algorithm>
#include <charconv>

namespace switchboard::rtc::sdp::detail {

namespace {

template <class T> bool number(std::string_view s, T& out, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || s.size() > 10 || ec != std::errc() || p != s.data() + s.size() || v < min || v > max) return false;
    out = static_cast<T>(v);
    return true;
}

std::string_view field(std::string_view& rest) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const auto sp = rest.find(' ');
    const std::string_view f = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    return f;
}

bool visible(std::string_view s, std::size_t max) {
    return !s.empty() && s.size() <= max &&
           std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// RFC 8851 rid-id: alphanumerics, '-' and '_'.
bool rid_id(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

bool simulcast_list(std::string_view list, std::vector<Simulcast::Entry>& out) {
    if (list.empty()) return false;
    while (!list.empty()) {
        const auto semi = list.find(';');
        std::string_view stream = list.substr(0, semi);
        list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
        if (semi != std::string_view::npos && list.empty()) return false; // a trailing ';'
        bool first = true;
        while (true) {
            const auto comma = stream.find(',');
            std::string_view alt = stream.substr(0, comma);
            Simulcast::Entry e;
            e.alternative = !first;
            if (!alt.empty() && alt.front() == '~') {
                e.stream.paused = true;
                alt.remove_prefix(1);
            }
            if (!rid_id(alt) || out.size() >= 16) return false;
            e.stream.rid = alt;
            out.push_back(e);
            first = false;
            if (comma == std::string_view::npos) break;
            stream.remove_prefix(comma + 1);
        }
    }
    return true;
}

} // namespace

int rtp_attribute(std::string_view name, std::string_view v, Media& m, const Limits& limits) {
    auto room = [&](std::size_t n) { return n < limits.max_rtp_attributes; };
    if (name == "fmtp") {
        Fmtp f;
        if (!number(field(v), f.payload_type, 0, 127)) return -1;
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        if (v.empty() || v.size() > 4096 || !room(m.fmtps.size())) return -1;
        f.params = v;
        m.fmtps.push_back(f);
        return 1;
    }
    if (name == "rtcp-fb") {
        RtcpFb f;
        const std::string_view pt = field(v);
        if (pt != "*" && !number(pt, f.payload_type, 0, 127)) return -1;
        f.type = field(v);
        f.subtype = field(v);
        if (!visible(f.type, 64) || (!f.subtype.empty() && !visible(f.subtype, 64)) || !room(m.rtcp_fbs.size())) return -1;
        m.rtcp_fbs.push_back(f);
        return 1;
    }
    if (name == "extmap") {
        Extmap e;
        std::string_view id = field(v);
        if (const auto slash = id.find('/'); slash != std::string_view::npos) {
            const std::string_view dir = id.substr(slash + 1);
            id = id.substr(0, slash);
            if (dir == "sendrecv") e.direction = Direction::SendRecv;
            else if (dir == "sendonly") e.direction = Direction::SendOnly;
            else if (dir == "recvonly") e.direction = Direction::RecvOnly;
            else if (dir == "inactive") e.direction = Direction::Inactive;
            else return -1;
        }
        if (!number(id, e.id, 1, 255) || e.id == 15) return -1; // 15 is reserved (RFC 8285 §4.2)
        e.uri = field(v);
        if (!visible(e.uri, 512) || !room(m.extmaps.size())) return -1;
        for (const auto& x : m.extmaps)
            if (x.id == e.id) return -1; // one meaning per id
        m.extmaps.push_back(e);
        return 1;
    }
    if (name == "ssrc-group") {
        SsrcGroup g;
        g.semantics = field(v);
        if (!visible(g.semantics, 32)) return -1;
        while (!v.empty()) {
            const std::string_view s = field(v);
            if (s.empty()) continue;
            std::uint32_t ssrc = 0;
            if (!number(s, ssrc, 0, 0xffffffffu) || g.ssrcs.size() >= 16) return -1;
            g.ssrcs.push_back(ssrc);
        }
        if (g.ssrcs.empty() || !room(m.ssrc_groups.size())) return -1;
        m.ssrc_groups.push_back(std::move(g));
        return 1;
    }
    if (name == "rid") {
        Rid r;
        r.id = field(v);
        const std::string_view dir = field(v);
        if (!rid_id(r.id) || (dir != "send" && dir != "recv") || m.rids.size() >= 16) return -1;
        r.send = dir == "send";
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        if (v.size() > 1024) return -1;
        r.params = v;
        for (const auto& x : m.rids)
            if (x.id == r.id) return -1;
        m.rids.push_back(r);
        return 1;
    }
    if (name == "simulcast") {
        if (!m.simulcast.send.empty() || !m.simulcast.recv.empty()) return -1; // once per section
        for (int i = 0; i < 2 && !v.empty(); ++i) {
            const std::string_view dir = field(v), list = field(v);
            auto& out = dir == "send" ? m.simulcast.send : m.simulcast.recv;
            if ((dir != "send" && dir != "recv") || !out.empty() || !simulcast_list(list, out)) return -1;
        }
        if (!v.empty() || (m.simulcast.send.empty() && m.simulcast.recv.empty())) return -1;
        return 1;
    }
    return 0;
}

std::string_view check_simulcast(const Media& m) {
    auto declared = [&](std::string_view id, bool send) {
        return std::any_of(m.rids.begin(), m.rids.end(), [&](const Rid& r) { return r.id == id && r.send == send; });
    };
    for (const auto& e : m.simulcast.send)
        if (!declared(e.stream.rid, true)) return "a=simulcast names a send rid without a=rid";
    for (const auto& e : m.simulcast.recv)
        if (!declared(e.stream.rid, false)) return "a=simulcast names a recv rid without a=rid";
    return {};
}

} // namespace switchboard::rtc::sdp::detail
