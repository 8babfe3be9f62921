// Fuzz target: the SDP parser and the ICE candidate parser (rtc/sdp). Every input is parsed with
// small limits and the default ones; whatever parses must give views inside the input, counts
// within the limits, and check_webrtc/sends_media/describe must run on it without fault.
#include "rtc/sdp/sdp.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace switchboard::rtc::sdp;

namespace {
bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    Limits small;
    small.max_media = 4;
    small.max_formats = 4;
    small.max_ssrcs = 2;
    small.max_lines = 64;
    small.max_rtp_attributes = 3;
    for (const Limits& limits : {Limits{}, small}) {
        Session s;
        Error e;
        if (!parse(text, s, e, limits)) {
            SB_FUZZ_CHECK(!describe(e).empty());
            continue;
        }
        SB_FUZZ_CHECK(s.media.size() <= limits.max_media);
        SB_FUZZ_CHECK(inside(s.session_id, text) && inside(s.ice_ufrag, text) && inside(s.fingerprint, text));
        for (const Media& m : s.media) {
            SB_FUZZ_CHECK(!m.formats.empty() && m.formats.size() <= limits.max_formats);
            SB_FUZZ_CHECK(m.ssrcs.size() <= limits.max_ssrcs);
            SB_FUZZ_CHECK(inside(m.kind, text) && inside(m.mid, text) && inside(m.msid_track, text));
            for (auto f : m.formats) SB_FUZZ_CHECK(inside(f, text));
            SB_FUZZ_CHECK(m.fmtps.size() <= limits.max_rtp_attributes && m.rtcp_fbs.size() <= limits.max_rtp_attributes &&
                          m.extmaps.size() <= limits.max_rtp_attributes && m.ssrc_groups.size() <= limits.max_rtp_attributes);
            SB_FUZZ_CHECK(m.rids.size() <= 16 && m.simulcast.send.size() <= 16 && m.simulcast.recv.size() <= 16);
            for (const auto& x : m.extmaps) SB_FUZZ_CHECK(x.id >= 1 && x.id <= 255 && x.id != 15 && inside(x.uri, text));
            for (const auto& r : m.rids) SB_FUZZ_CHECK(!r.id.empty() && inside(r.id, text) && inside(r.params, text));
            for (const auto& x : m.simulcast.send) SB_FUZZ_CHECK(inside(x.stream.rid, text));
        }
        Error w;
        (void)check_webrtc(s, w);
        (void)sends_media(s);
    }
    Candidate c;
    Error e;
    if (parse_candidate(text, c, e)) {
        SB_FUZZ_CHECK(c.component >= 1 && c.component <= 256);
        SB_FUZZ_CHECK(inside(c.address, text) && !c.address.empty());
        SB_FUZZ_CHECK(c.type == "host" || c.type == "srflx" || c.type == "prflx" || c.type == "relay");
    }
    return 0;
}
