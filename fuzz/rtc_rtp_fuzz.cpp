// Fuzz target: the RTP and RTCP codecs (rtc/rtp). RTP that parses is written again from what
// was read and must parse to the same fields and payload; every RTCP packet of a compound is
// tried with every parser, and what parses as NACK, REMB or a report is written and read back.
#include "rtc/rtp/rtcp.hpp"
#include "rtc/rtp/rtp.hpp"

#include "fuzz_check.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace switchboard::rtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    rtp::Packet p;
    if (rtp::parse(in, p)) {
        SB_FUZZ_CHECK(p.header_size + p.payload.size() + p.padding == size);
        std::array<rtp::Extension, 16> ext;
        std::size_t n = 0;
        std::vector<std::uint8_t> again;
        if (rtp::extensions(p, ext, n)) {
            for (std::size_t i = 0; i < n; ++i) SB_FUZZ_CHECK(ext[i].data.data() >= data && ext[i].data.data() + ext[i].data.size() <= data + size);
            // Two-byte ids of 0 are padding on the wire: only elements with ids write back.
            std::vector<rtp::Extension> keep;
            for (std::size_t i = 0; i < n; ++i)
                if (ext[i].id != 0 && !ext[i].data.empty()) keep.push_back(ext[i]);
            rtp::write({p.marker, p.payload_type, p.sequence, p.timestamp, p.ssrc}, keep, p.payload, again);
            rtp::Packet q;
            SB_FUZZ_CHECK(rtp::parse(again, q));
            SB_FUZZ_CHECK(q.sequence == p.sequence && q.ssrc == p.ssrc && q.payload_type == p.payload_type && q.marker == p.marker);
            SB_FUZZ_CHECK(std::equal(q.payload.begin(), q.payload.end(), p.payload.begin(), p.payload.end()));
        }
    }
    rtcp::for_each(in, [&](const rtcp::View& v) {
        rtcp::Report r;
        rtcp::Nack nack;
        rtcp::Pli pli;
        rtcp::Fir fir;
        rtcp::Remb remb;
        rtcp::TransportCc twcc;
        std::vector<std::uint8_t> out;
        if (rtcp::parse_report(v, r)) {
            rtcp::write_report(r, out);
            rtcp::for_each(out, [&](const rtcp::View& w) {
                rtcp::Report r2;
                SB_FUZZ_CHECK(rtcp::parse_report(w, r2) && r2.blocks.size() == r.blocks.size() && r2.ssrc == r.ssrc);
            });
        }
        if (rtcp::parse_nack(v, nack)) {
            rtcp::write_nack(nack.sender, nack.media, nack.lost, out);
            std::vector<std::uint16_t> want = nack.lost;
            std::sort(want.begin(), want.end());
            want.erase(std::unique(want.begin(), want.end()), want.end());
            rtcp::for_each(out, [&](const rtcp::View& w) {
                rtcp::Nack n2;
                if (!rtcp::parse_nack(w, n2)) return;
                std::sort(n2.lost.begin(), n2.lost.end());
                SB_FUZZ_CHECK(n2.lost == want);
            });
        }
        (void)rtcp::parse_pli(v, pli);
        (void)rtcp::parse_fir(v, fir);
        if (rtcp::parse_remb(v, remb)) {
            std::vector<std::uint8_t> o2;
            rtcp::write_remb(remb.sender, remb.bitrate, remb.ssrcs, o2);
            rtcp::for_each(o2, [&](const rtcp::View& w) {
                rtcp::Remb r2;
                SB_FUZZ_CHECK(rtcp::parse_remb(w, r2) && r2.bitrate == remb.bitrate && r2.ssrcs == remb.ssrcs);
            });
        }
        if (rtcp::parse_transport_cc(v, twcc)) SB_FUZZ_CHECK(twcc.packets.size() <= 8192);
    });
    return 0;
}
