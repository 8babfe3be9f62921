#include "signal/validate.hpp"

#include "rtc/sdp/sdp.hpp"

namespace switchboard::signal {

// {"candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"..."} or null
bool valid_candidate(json::Value data, std::string& why) {
    if (data.kind == json::Kind::Null) return true; // end of candidates
    if (data.kind != json::Kind::Object) {
        why = "a candidate signal's data is an RTCIceCandidateInit object";
        return false;
    }
    bool ok = true, has_candidate = false;
    json::for_each_member(data, [&](std::string_view k, json::Value v) {
        if (json::key_is(k, "candidate")) {
            std::string text;
            has_candidate = true;
            if (!json::get_string(v, text)) {
                ok = false;
                why = "candidate must be a string";
                return;
            }
            rtc::sdp::Candidate c;
            rtc::sdp::Error e;
            if (!text.empty() && !rtc::sdp::parse_candidate(text, c, e)) {
                ok = false;
                why = "bad candidate: ";
                why += e.what;
            }
        } else if (json::key_is(k, "sdpMid") || json::key_is(k, "usernameFragment")) {
            if (v.kind != json::Kind::Null && v.kind != json::Kind::String) {
                ok = false;
                why = "sdpMid and usernameFragment are strings";
            }
        } else if (json::key_is(k, "sdpMLineIndex")) {
            std::uint64_t n = 0;
            if (v.kind != json::Kind::Null && (!json::get_u64(v, n) || n > 1024)) {
                ok = false;
                why = "sdpMLineIndex is a small number";
            }
        }
    });
    if (ok && !has_candidate) {
        why = "a candidate signal needs data.candidate";
        return false;
    }
    return ok;
}

// {"type":"offer"|"answer","sdp":"v=0..."}: parses and checks the SDP.
bool valid_description(json::Value data, std::string_view kind, bool& sends, std::string& why) {
    if (data.kind != json::Kind::Object) {
        why = "an offer or answer's data is an RTCSessionDescriptionInit object";
        return false;
    }
    std::string type, sdp;
    bool has_sdp = false, ok = true;
    json::for_each_member(data, [&](std::string_view k, json::Value v) {
        if (json::key_is(k, "type")) ok = ok && json::get_string(v, type);
        else if (json::key_is(k, "sdp")) ok = ok && (has_sdp = json::get_string(v, sdp));
    });
    if (!ok || !has_sdp) {
        why = "data needs the strings type and sdp";
        return false;
    }
    if (type != kind && !(kind == "answer" && type == "pranswer")) {
        why = "data.type does not match the signal's kind";
        return false;
    }
    rtc::sdp::Session s;
    rtc::sdp::Error e;
    if (!rtc::sdp::parse(sdp, s, e) || !rtc::sdp::check_webrtc(s, e)) {
        why = rtc::sdp::describe(e);
        return false;
    }
    sends = rtc::sdp::sends_media(s);
    return true;
}

} // namespace switchboard::signal
