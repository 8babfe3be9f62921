#pragma once
// What a signal's data must be before it is routed (docs/protocol.md, "signal"): checks of JSON
// the client sent, with the reason for the error reply. No state, no I/O.
#include "json/reader.hpp"

#include <string>
#include <string_view>

namespace switchboard::signal {

/// An RTCIceCandidateInit ({"candidate":"candidate:...","sdpMid":..,"sdpMLineIndex":..,
/// "usernameFragment":..}; candidate "" or data null: the end of candidates) whose candidate
/// parses. False with `why` set otherwise.
bool valid_candidate(json::Value data, std::string& why);

/// An RTCSessionDescriptionInit ({"type":..,"sdp":..}) whose type matches `kind` (offer, or
/// answer/pranswer) and whose SDP parses and could set up a WebRTC connection. `sends` tells
/// whether it sends media with a track. False with `why` set otherwise.
bool valid_description(json::Value data, std::string_view kind, bool& sends, std::string& why);

} // namespace switchboard::signal
