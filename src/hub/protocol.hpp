#pragma once
// The client protocol's JSON codec (docs/protocol.md), sans-I/O: a frame's text in, borrowed
// command views out; replies and pushes appended to a std::string. Nothing here knows about
// connections or loops.
#include "hub/errors.hpp"
#include "json/reader.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::hub {

enum class Op : std::uint8_t {
    Unknown,
    Connect,
    Refresh,
    Subscribe,
    Unsubscribe,
    Publish,
    History,
    Presence,
    PresenceStats,
    Ping,
};

/// One command; string views borrow the frame's text (valid only while it lives).
struct Command {
    std::uint32_t id = 0;
    Op op = Op::Unknown;
    std::string_view channel; // without quotes; channel names never need escapes
    std::string_view token;   // JWTs are base64url and dots: never escaped
    json::Value name;         // connect: free text (may hold escapes)
    json::Value data;         // publish: any JSON
    bool has_data = false;
    bool has_recover = false; // subscribe: "recover"; history: "since"
    std::string_view epoch;
    std::uint64_t offset = 0;
    std::uint32_t history = 0; // subscribe: newest N publications
    std::uint32_t limit = 0;   // history
    bool has_limit = false;
    bool reverse = false;
    // Rooms (handled above the hub, see Extension): the op's name when the hub does not know it.
    std::string_view op_name;
    std::string_view room;     // room name (never escaped: a restricted character set)
    std::string_view to;       // a participant id
    std::string_view kind;     // signal kind
    json::Value metadata;      // room_join / room_update: any JSON
    bool has_metadata = false;
    json::Value tracks;        // room_tracks: an array
    bool has_tracks = false;
    bool binary_pubs = false;  // connect: pub pushes as binary frames (docs/protocol.md)
};

enum class DecodeError : std::uint8_t {
    None,
    NotObject, // the connection is closed: 4500
    NoId,      // the connection is closed: 4500
    BadField,  // a field has the wrong type: error 107 for this command
};

/// Reads a command from one parsed JSON value. On BadField, `out.id` is set (to reply).
DecodeError decode_command(json::Value v, Command& out) noexcept;

/// Calls f(std::string_view line) for each non-blank '\n'-separated part of a frame. Raw
/// newlines cannot occur inside JSON strings, so this split is exact.
template <class F> void for_each_line(std::string_view text, F&& f) {
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (line.find_first_not_of(" \t\r") != std::string_view::npos) f(line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

// Encoders. They append one JSON object (no trailing newline).
void append_result(std::string& out, std::uint32_t id, std::string_view result_json);
/// `reason` "" is the code's standard reason.
void append_error(std::string& out, std::uint32_t id, ErrorCode code, std::string_view reason = {});
/// {"error":{"code":C,"reason":R}}: the error without a command id (server API answers).
void append_error_object(std::string& out, ErrorCode code);
/// {"offset":N,"time":T,"data":DATA[,"from":FROM]} — stored in history and sent as is.
void append_publication(std::string& out, std::uint64_t offset, std::int64_t time_ms, std::string_view data,
                        std::string_view from_json);
/// {"user":U,"client":C[,"info":INFO]}
void append_client_info(std::string& out, std::string_view user, std::string_view client, std::string_view info);
/// {"push":"pub","channel":CH,...publication's fields}
void append_pub_push(std::string& out, std::string_view channel, std::string_view publication_json);
/// The same push in the binary layout of docs/protocol.md ("Binary pub pushes"), from a
/// publication written by append_publication(). False (and `out` unchanged) if it is not one.
bool append_binary_pub(std::string& out, std::string_view channel, std::string_view publication_json);
/// {"push":"join"|"leave","channel":CH,...client info's fields}
void append_presence_push(std::string& out, bool join, std::string_view channel, std::string_view client_info_json);
void append_unsubscribe_push(std::string& out, std::string_view channel, std::uint16_t code, std::string_view reason,
                             bool resubscribe);
void append_disconnect_push(std::string& out, std::uint16_t code, std::string_view reason, bool reconnect);

} // namespace switchboard::hub
