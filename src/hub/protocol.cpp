#include "hub/protocol.hpp"

#include "json/reader.hpp"
#include "json/writer.hpp"

namespace switchboard::hub {

namespace {
Op op_from(std::string_view s) noexcept {
    if (s == "publish") return Op::Publish;
    if (s == "subscribe") return Op::Subscribe;
    if (s == "unsubscribe") return Op::Unsubscribe;
    if (s == "connect") return Op::Connect;
    if (s == "history") return Op::History;
    if (s == "presence") return Op::Presence;
    if (s == "presence_stats") return Op::PresenceStats;
    if (s == "ping") return Op::Ping;
    if (s == "refresh") return Op::Refresh;
    return Op::Unknown;
}

bool read_u32(json::Value v, std::uint32_t& out) noexcept {
    std::uint64_t n = 0;
    if (!json::get_u64(v, n) || n > 0xffffffffu) return false;
    out = static_cast<std::uint32_t>(n);
    return true;
}

// {"epoch":"...","offset":N}
bool read_position(json::Value v, Command& c) noexcept {
    if (v.kind != json::Kind::Object) return false;
    bool ok = true, has_offset = false;
    json::for_each_member(v, [&](std::string_view k, json::Value m) {
        if (json::key_is(k, "epoch")) ok = ok && json::plain_string(m, c.epoch);
        else if (json::key_is(k, "offset")) ok = ok && (has_offset = json::get_u64(m, c.offset));
    });
    return ok && has_offset;
}
} // namespace

DecodeError decode_command(json::Value v, Command& c) noexcept {
    if (v.kind != json::Kind::Object) return DecodeError::NotObject;
    c = Command{};
    bool bad = false, has_id = false;
    json::for_each_member(v, [&](std::string_view k, json::Value m) {
        if (k.empty()) return;
        // Dispatch on the first character for speed; a key starting with an escape ("\u0069d")
        // is decoded first so it still matches.
        char first = k[0];
        if (first == '\\') {
            if (k.size() > 16 * 6) return; // no field name of ours is this long, even escaped
            std::string name; // `k` sits between quotes in the parsed text
            if (!json::get_string(json::Value{json::Kind::String, std::string_view(k.data() - 1, k.size() + 2)}, name) ||
                name.empty())
                return;
            first = name[0];
        }
        switch (first) {
        case 'i':
            if (json::key_is(k, "id")) has_id = read_u32(m, c.id) && c.id != 0;
            else if (json::key_is(k, "info")) {} // reserved
            break;
        case 'o':
            if (json::key_is(k, "op")) {
                std::string_view name;
                if (json::plain_string(m, name)) {
                    c.op = op_from(name);
                    c.op_name = name;
                } else {
                    bad = true;
                }
            }
            break;
        case 'c':
            if (json::key_is(k, "channel") && !json::plain_string(m, c.channel)) bad = true;
            break;
        case 'd':
            if (json::key_is(k, "data")) {
                c.data = m;
                c.has_data = true;
            }
            break;
        case 't':
            if (json::key_is(k, "token")) {
                if (!json::plain_string(m, c.token)) bad = true;
            } else if (json::key_is(k, "to")) {
                if (!json::plain_string(m, c.to)) bad = true;
            } else if (json::key_is(k, "tracks")) {
                c.tracks = m;
                c.has_tracks = true;
            }
            break;
        case 'k':
            if (json::key_is(k, "kind") && !json::plain_string(m, c.kind)) bad = true;
            break;
        case 'b':
            if (json::key_is(k, "binary_pubs") && !json::get_bool(m, c.binary_pubs)) bad = true;
            break;
        case 'm':
            if (json::key_is(k, "metadata")) {
                c.metadata = m;
                c.has_metadata = true;
            }
            break;
        case 'n':
            if (json::key_is(k, "name")) {
                if (m.kind == json::Kind::String) c.name = m;
                else bad = true;
            }
            break;
        case 'r':
            if (json::key_is(k, "recover")) {
                if (m.kind == json::Kind::Null) break;
                c.has_recover = true;
                if (!read_position(m, c)) bad = true;
            } else if (json::key_is(k, "reverse")) {
                if (!json::get_bool(m, c.reverse)) bad = true;
            } else if (json::key_is(k, "room")) {
                if (!json::plain_string(m, c.room)) bad = true;
            }
            break;
        case 's':
            if (json::key_is(k, "since")) {
                if (m.kind == json::Kind::Null) break;
                c.has_recover = true;
                if (!read_position(m, c)) bad = true;
            }
            break;
        case 'h':
            if (json::key_is(k, "history") && !read_u32(m, c.history)) bad = true;
            break;
        case 'l':
            if (json::key_is(k, "limit")) {
                if (read_u32(m, c.limit)) c.has_limit = true;
                else bad = true;
            }
            break;
        default: break;
        }
    });
    if (!has_id) return DecodeError::NoId;
    return bad ? DecodeError::BadField : DecodeError::None;
}

void append_result(std::string& out, std::uint32_t id, std::string_view result_json) {
    out += "{\"id\":";
    out += std::to_string(id);
    out += ",\"result\":";
    out += result_json.empty() ? std::string_view("{}") : result_json;
    out += '}';
}

namespace {
// "error":{"code":C,"reason":R}
void append_error_member(std::string& out, ErrorCode code, std::string_view reason) {
    out += "\"error\":{\"code\":";
    out += std::to_string(static_cast<unsigned>(code));
    out += ",\"reason\":";
    json::append_escaped(out, reason.empty() ? std::string_view(error_reason(code)) : reason);
    out += '}';
}
void append_error_member(std::string& out, ErrorCode code) { append_error_member(out, code, {}); }
} // namespace

void append_error(std::string& out, std::uint32_t id, ErrorCode code, std::string_view reason) {
    out += "{\"id\":";
    out += std::to_string(id);
    out += ',';
    append_error_member(out, code, reason);
    out += '}';
}

void append_error_object(std::string& out, ErrorCode code) {
    out += '{';
    append_error_member(out, code);
    out += '}';
}

void append_publication(std::string& out, std::uint64_t offset, std::int64_t time_ms, std::string_view data,
                        std::string_view from_json) {
    out += "{\"offset\":";
    out += std::to_string(offset);
    out += ",\"time\":";
    out += std::to_string(time_ms);
    out += ",\"data\":";
    out += data.empty() ? std::string_view("null") : data;
    if (!from_json.empty()) {
        out += ",\"from\":";
        out += from_json;
    }
    out += '}';
}

void append_client_info(std::string& out, std::string_view user, std::string_view client, std::string_view info) {
    out += "{\"user\":";
    json::append_escaped(out, user);
    out += ",\"client\":";
    json::append_escaped(out, client);
    if (!info.empty()) {
        out += ",\"info\":";
        out += info;
    }
    out += '}';
}

namespace {
// `object` is a JSON object; its members are spliced after the ones already written.
void splice_members(std::string& out, std::string_view object) {
    auto first = object.find_first_not_of(" \t\r\n", 1);
    if (first != std::string_view::npos && object[first] != '}') {
        out += ',';
        out += object.substr(1);
    } else {
        out += '}';
    }
}
} // namespace

void append_pub_push(std::string& out, std::string_view channel, std::string_view publication_json) {
    out += "{\"push\":\"pub\",\"channel\":\"";
    out += channel; // channel names need no escaping (see channel_name.hpp)
    out += '"';
    splice_members(out, publication_json);
}

namespace {
void put_be(std::string& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
} // namespace

bool append_binary_pub(std::string& out, std::string_view channel, std::string_view publication_json) {
    json::Value pub;
    json::Limits limits; // our own text: whatever depth and size the publish was allowed
    limits.max_depth = json::kMaxDepthCeiling;
    limits.max_size = publication_json.size();
    if (channel.size() > 255 || json::parse(publication_json, pub, limits) != json::Error::None ||
        pub.kind != json::Kind::Object)
        return false;
    std::uint64_t offset = 0;
    std::int64_t time_ms = 0;
    std::string_view data = "null", info;
    json::Value from;
    bool has_from = false, ok = true;
    json::for_each_member(pub, [&](std::string_view k, json::Value m) {
        if (json::key_is(k, "offset")) ok = ok && json::get_u64(m, offset);
        else if (json::key_is(k, "time")) ok = ok && json::get_i64(m, time_ms);
        else if (json::key_is(k, "data")) data = m.raw;
        else if (json::key_is(k, "from")) {
            from = m;
            has_from = m.kind == json::Kind::Object;
        }
    });
    // Decoded once per publication, not per subscriber; reused so steady traffic allocates nothing.
    thread_local std::string user, client;
    user.clear();
    client.clear();
    if (has_from) {
        json::for_each_member(from, [&](std::string_view k, json::Value m) {
            if (json::key_is(k, "user")) ok = ok && json::get_string(m, user);
            else if (json::key_is(k, "client")) ok = ok && json::get_string(m, client);
            else if (json::key_is(k, "info")) info = m.raw;
        });
    }
    if (!ok || client.size() > 255 || user.size() > 0xffffffffu || info.size() > 0xffffffffu) return false;
    out += static_cast<char>(1); // a pub push
    out += static_cast<char>(channel.size());
    out += static_cast<char>(client.size());
    out += static_cast<char>(0);
    put_be(out, user.size(), 4);
    put_be(out, info.size(), 4);
    put_be(out, offset, 8);
    put_be(out, static_cast<std::uint64_t>(time_ms), 8);
    out += channel;
    out += client;
    out += user;
    out += info;
    out += data;
    return true;
}

void append_presence_push(std::string& out, bool join, std::string_view channel, std::string_view client_info_json) {
    out += join ? "{\"push\":\"join\",\"channel\":\"" : "{\"push\":\"leave\",\"channel\":\"";
    out += channel;
    out += '"';
    splice_members(out, client_info_json);
}

void append_unsubscribe_push(std::string& out, std::string_view channel, std::uint16_t code, std::string_view reason,
                             bool resubscribe) {
    out += "{\"push\":\"unsubscribe\",\"channel\":\"";
    out += channel;
    out += "\",\"code\":";
    out += std::to_string(code);
    out += ",\"reason\":";
    json::append_escaped(out, reason);
    out += resubscribe ? ",\"resubscribe\":true}" : ",\"resubscribe\":false}";
}

void append_disconnect_push(std::string& out, std::uint16_t code, std::string_view reason, bool reconnect) {
    out += "{\"push\":\"disconnect\",\"code\":";
    out += std::to_string(code);
    out += ",\"reason\":";
    json::append_escaped(out, reason);
    out += reconnect ? ",\"reconnect\":true}" : ",\"reconnect\":false}";
}

} // namespace switchboard::hub
