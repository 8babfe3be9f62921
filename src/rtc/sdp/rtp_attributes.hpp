#pragma once
// The media-level attributes of RTP sections (rtc/sdp/sdp.cpp hands them over): a=fmtp,
// a=rtcp-fb, a=extmap (RFC 8285), a=ssrc-group (RFC 5576), a=rid (RFC 8851), a=simulcast
// (RFC 8853). Internal to the parser.
#include "rtc/sdp/sdp.hpp"

namespace switchboard::rtc::sdp::detail {

/// 1: parsed into `m`; 0: not one of these; -1: a bad value.
int rtp_attribute(std::string_view name, std::string_view value, Media& m, const Limits& limits);

/// "" or why the simulcast description does not hold together.
std::string_view check_simulcast(const Media& m);

} // namespace switchboard::rtc::sdp::detail
