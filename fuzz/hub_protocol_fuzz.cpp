// Fuzz target: the client protocol's JSON codec (hub/protocol), channel names
// (hub/channel_name) and the subscribe/history results of a channel (hub/channel). The input is
// one WebSocket text frame. It is split with for_each_line, each line is parsed with json::parse
// and decoded with decode_command, as hub/client.cpp does. For every decoded command:
// - the views it holds are re-encoded into every reply and push (append_result with the raw data,
//   append_error, append_client_info, append_publication, append_pub_push, ...) and each output
//   must parse as one JSON object whose fields read back as what was written;
// - a valid command is written back with json::Writer and must decode to the same command
//   (Pion TryMarshalUnmarshal);
// - its channel, when parse_channel accepts it, must obey the name rules, and personal_allows
//   must agree with a plain reading of the user list;
// - its recover/since position is played against a small channel: a result that says
//   "recovered" must hold exactly the publications after that position, in order.
#include "hub/channel.hpp"
#include "hub/channel_name.hpp"
#include "hub/protocol.hpp"

#include "json/reader.hpp"
#include "json/writer.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {
using namespace switchboard;
using namespace switchboard::hub;

constexpr std::string_view kEpoch = "Zk3q9x"; // the epoch the seeds use

bool is_inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// The encoders nest a command's data up to two levels deeper than the command had it ("from":
// {"info":DATA}), so outputs are read with room above the reader's default depth.
json::Value must_parse_object(std::string_view text) {
    json::Value v;
    SB_FUZZ_CHECK(json::parse(text, v, json::Limits{json::Limits{}.max_depth + 2, json::Limits{}.max_size}) ==
                  json::Error::None);
    SB_FUZZ_CHECK(v.kind == json::Kind::Object);
    return v;
}

// The last member named `key` (escapes decoded), or a Value with empty raw text.
json::Value member(json::Value obj, std::string_view key) {
    json::Value out{json::Kind::Null, {}};
    json::for_each_member(obj, [&](std::string_view k, json::Value m) {
        if (json::key_is(k, key)) out = m;
    });
    return out;
}

std::size_t member_count(json::Value obj) {
    std::size_t n = 0;
    json::for_each_member(obj, [&](std::string_view, json::Value) { ++n; });
    return n;
}

std::string string_of(json::Value v) {
    std::string s;
    SB_FUZZ_CHECK(json::get_string(v, s));
    return s;
}

std::uint64_t u64_of(json::Value v) {
    std::uint64_t n = 0;
    SB_FUZZ_CHECK(json::get_u64(v, n));
    return n;
}

bool bool_of(json::Value v) {
    bool b = false;
    SB_FUZZ_CHECK(json::get_bool(v, b));
    return b;
}

const char* op_name(Op op) {
    switch (op) {
    case Op::Connect: return "connect";
    case Op::Refresh: return "refresh";
    case Op::Subscribe: return "subscribe";
    case Op::Unsubscribe: return "unsubscribe";
    case Op::Publish: return "publish";
    case Op::History: return "history";
    case Op::Presence: return "presence";
    case Op::PresenceStats: return "presence_stats";
    case Op::Ping: return "ping";
    case Op::Unknown: break;
    }
    return nullptr;
}

void check_views(const Command& c, std::string_view line) {
    for (std::string_view s : {c.channel, c.token, c.epoch})
        SB_FUZZ_CHECK(s.empty() || is_inside(s, line));
    if (c.has_data) SB_FUZZ_CHECK(is_inside(c.data.raw, line) && !c.data.raw.empty());
    if (c.name.kind == json::Kind::String) SB_FUZZ_CHECK(is_inside(c.name.raw, line));
    // Borrowed unescaped strings: JSON-safe as they are (no '"', '\' or control characters).
    for (std::string_view s : {c.channel, c.token, c.epoch})
        for (char ch : s)
            SB_FUZZ_CHECK(static_cast<unsigned char>(ch) >= 0x20 && ch != '"' && ch != '\\');
}

// Writes a valid command back as JSON; it must decode to the same command.
void check_round_trip(const Command& c) {
    std::string text;
    json::Writer w(text);
    w.begin_object().key("id").number(c.id);
    if (const char* op = op_name(c.op)) w.key("op").string(op);
    if (!c.channel.empty()) w.key("channel").string(c.channel);
    if (!c.token.empty()) w.key("token").string(c.token);
    if (c.name.kind == json::Kind::String) w.key("name").raw(c.name.raw);
    if (c.has_data) w.key("data").raw(c.data.raw);
    if (c.has_recover)
        w.key("recover").begin_object().key("epoch").string(c.epoch).key("offset").number(c.offset).end_object();
    if (c.history) w.key("history").number(c.history);
    if (c.has_limit) w.key("limit").number(c.limit);
    if (c.reverse) w.key("reverse").boolean(true);
    w.end_object();

    const json::Value v = must_parse_object(text);
    Command d;
    SB_FUZZ_CHECK(decode_command(v, d) == DecodeError::None);
    SB_FUZZ_CHECK(d.id == c.id && d.op == c.op);
    SB_FUZZ_CHECK(d.channel == c.channel && d.token == c.token);
    SB_FUZZ_CHECK(d.name.kind == c.name.kind && d.name.raw == c.name.raw);
    SB_FUZZ_CHECK(d.has_data == c.has_data && d.data.kind == c.data.kind && d.data.raw == c.data.raw);
    SB_FUZZ_CHECK(d.has_recover == c.has_recover && d.epoch == c.epoch && d.offset == c.offset);
    SB_FUZZ_CHECK(d.history == c.history);
    SB_FUZZ_CHECK(d.has_limit == c.has_limit && d.limit == c.limit);
    SB_FUZZ_CHECK(d.reverse == c.reverse);
}

// Re-encodes the command's views into every reply and push.
void check_encoders(const Command& c, DecodeError e) {
    std::string name; // connect's free text, decoded
    if (c.name.kind == json::Kind::String) SB_FUZZ_CHECK(json::get_string(c.name, name));
    const std::string_view data = c.has_data ? c.data.raw : std::string_view{};

    std::string out;
    append_result(out, c.id, data);
    json::Value v = must_parse_object(out);
    SB_FUZZ_CHECK(u64_of(member(v, "id")) == c.id);
    SB_FUZZ_CHECK(member(v, "result").raw == (data.empty() ? std::string_view("{}") : data));

    const ErrorCode code = e == DecodeError::BadField ? ErrorCode::BadRequest
                           : c.op == Op::Unknown      ? ErrorCode::UnknownOp
                                                      : static_cast<ErrorCode>(100 + c.id % 17);
    out.clear();
    append_error(out, c.id, code);
    v = must_parse_object(out);
    SB_FUZZ_CHECK(u64_of(member(v, "id")) == c.id);
    const json::Value err = member(v, "error");
    SB_FUZZ_CHECK(u64_of(member(err, "code")) == static_cast<unsigned>(code));
    SB_FUZZ_CHECK(string_of(member(err, "reason")) == error_reason(code));

    // {"user":name,"client":token[,"info":data]}
    std::string info;
    append_client_info(info, name, c.token, data);
    v = must_parse_object(info);
    SB_FUZZ_CHECK(string_of(member(v, "user")) == name);
    SB_FUZZ_CHECK(string_of(member(v, "client")) == c.token);
    SB_FUZZ_CHECK(member(v, "info").raw == data);

    const auto time_ms = static_cast<std::int64_t>(c.offset ^ (std::uint64_t{c.history} << 32));
    std::string pub;
    append_publication(pub, c.offset, time_ms, data, c.reverse ? std::string_view{} : std::string_view(info));
    v = must_parse_object(pub);
    SB_FUZZ_CHECK(u64_of(member(v, "offset")) == c.offset);
    std::int64_t t = 0;
    SB_FUZZ_CHECK(json::get_i64(member(v, "time"), t) && t == time_ms);
    SB_FUZZ_CHECK(member(v, "data").raw == (data.empty() ? std::string_view("null") : data));
    SB_FUZZ_CHECK(member(v, "from").raw == (c.reverse ? std::string_view{} : std::string_view(info)));

    out.clear();
    append_pub_push(out, c.channel, pub);
    v = must_parse_object(out);
    SB_FUZZ_CHECK(string_of(member(v, "push")) == "pub");
    SB_FUZZ_CHECK(string_of(member(v, "channel")) == c.channel);
    SB_FUZZ_CHECK(u64_of(member(v, "offset")) == c.offset);
    SB_FUZZ_CHECK(member(v, "data").raw == member(must_parse_object(pub), "data").raw);
    SB_FUZZ_CHECK(member_count(v) == 2 + member_count(must_parse_object(pub)));

    // Any object splices, not only compact ones built by append_publication.
    if (c.has_data && c.data.kind == json::Kind::Object) {
        out.clear();
        append_pub_push(out, c.channel, c.data.raw);
        v = must_parse_object(out);
        SB_FUZZ_CHECK(member_count(v) == 2 + member_count(c.data));
    }

    out.clear();
    append_presence_push(out, c.reverse, c.channel, info);
    v = must_parse_object(out);
    SB_FUZZ_CHECK(string_of(member(v, "push")) == (c.reverse ? "join" : "leave"));
    SB_FUZZ_CHECK(string_of(member(v, "channel")) == c.channel);
    SB_FUZZ_CHECK(string_of(member(v, "user")) == name);
    SB_FUZZ_CHECK(string_of(member(v, "client")) == c.token);

    const auto code16 = static_cast<std::uint16_t>(c.limit);
    out.clear();
    append_unsubscribe_push(out, c.channel, code16, name, c.has_limit);
    v = must_parse_object(out);
    SB_FUZZ_CHECK(member_count(v) == 5);
    SB_FUZZ_CHECK(string_of(member(v, "push")) == "unsubscribe");
    SB_FUZZ_CHECK(string_of(member(v, "channel")) == c.channel);
    SB_FUZZ_CHECK(u64_of(member(v, "code")) == code16);
    SB_FUZZ_CHECK(string_of(member(v, "reason")) == name);
    SB_FUZZ_CHECK(bool_of(member(v, "resubscribe")) == c.has_limit);

    out.clear();
    append_disconnect_push(out, code16, name, disconnect::reconnect(code16));
    v = must_parse_object(out);
    SB_FUZZ_CHECK(member_count(v) == 4);
    SB_FUZZ_CHECK(string_of(member(v, "push")) == "disconnect");
    SB_FUZZ_CHECK(u64_of(member(v, "code")) == code16);
    SB_FUZZ_CHECK(string_of(member(v, "reason")) == name);
    SB_FUZZ_CHECK(bool_of(member(v, "reconnect")) == (code16 < 4500));
}

// Whether `user` is one of the comma-separated `users`, read the obvious way.
bool listed(std::string_view users, std::string_view user) {
    if (user.empty() || user.find(',') != std::string_view::npos) return false;
    const std::string list = "," + std::string(users) + ",";
    return list.find("," + std::string(user) + ",") != std::string::npos;
}

void check_channel(std::string_view channel, std::string_view user) {
    SB_FUZZ_CHECK(personal_allows(channel, user) == listed(channel, user));
    ChannelName n;
    if (!parse_channel(channel, n)) return;
    SB_FUZZ_CHECK(!channel.empty() && channel.size() <= kMaxChannelName);
    for (char ch : channel) SB_FUZZ_CHECK(ch > ' ' && ch <= '~' && ch != '"' && ch != '\\');
    // The namespace is empty or the part before the first ':'.
    SB_FUZZ_CHECK(n.ns.find(':') == std::string_view::npos);
    if (!n.ns.empty())
        SB_FUZZ_CHECK(n.ns.data() == channel.data() && channel.size() > n.ns.size() && channel[n.ns.size()] == ':');
    const auto hash = channel.rfind('#');
    SB_FUZZ_CHECK(n.personal == (hash != std::string_view::npos));
    if (n.personal) {
        SB_FUZZ_CHECK(!n.users.empty() && n.users == channel.substr(hash + 1));
        SB_FUZZ_CHECK(!personal_allows(n.users, ""));
        SB_FUZZ_CHECK(personal_allows(n.users, user) == listed(n.users, user));
    } else {
        SB_FUZZ_CHECK(n.users.empty());
    }
    // A valid name needs no escaping.
    const std::string quoted = "\"" + std::string(channel) + "\"";
    json::Value v;
    SB_FUZZ_CHECK(json::parse(quoted, v) == json::Error::None);
    std::string_view plain;
    SB_FUZZ_CHECK(json::plain_string(v, plain) && plain == channel);
}

struct Pubs {
    std::vector<std::uint64_t> offsets;
    bool has_recovered = false, recovered = false;
    std::string epoch;
    std::uint64_t top = 0;
};

Pubs read_result(std::string_view out) {
    Pubs p;
    const json::Value v = must_parse_object(out);
    p.epoch = string_of(member(v, "epoch"));
    p.top = u64_of(member(v, "offset"));
    const json::Value rec = member(v, "recovered");
    p.has_recovered = !rec.raw.empty();
    if (p.has_recovered) p.recovered = bool_of(rec);
    const json::Value list = member(v, "publications");
    SB_FUZZ_CHECK(list.kind == json::Kind::Array);
    json::for_each_element(list, [&](json::Value e) {
        SB_FUZZ_CHECK(e.kind == json::Kind::Object);
        p.offsets.push_back(u64_of(member(e, "offset")));
    });
    return p;
}

// Plays the command's position against a channel whose shape comes from the command itself.
void check_recovery(const Command& c) {
    NamespaceOptions ns;
    ns.name = "chat";
    ns.history_size = c.id % 9;         // 0: no history
    ns.history_ttl = (c.id >> 4) % 3;   // seconds; 0: no TTL
    OwnedChannel ch;
    ch.name = "chat:x";
    ch.ns = &ns;
    ch.epoch = std::string(kEpoch);
    ch.history.configure(ns.history_size, std::int64_t{ns.history_ttl} * 1000);
    const unsigned n = (c.id >> 8) % 24;
    const unsigned gap_at = (c.id >> 16) % 32; // an offset with no history entry restarts the window
    for (unsigned i = 1; i <= n; ++i) {
        ++ch.top;
        if (i == gap_at) continue;
        std::string json;
        append_publication(json, ch.top, std::int64_t{i} * 500, "{}", "");
        ch.history.append(ch.top, std::int64_t{i} * 500, std::move(json));
    }
    if (ns.history_ttl) ch.history.expire(std::int64_t{n} * 500 + (c.id >> 24) * 100);
    const bool window_ok = ch.history.empty() || ch.history.last_offset() == ch.top;

    // Whether every offset in (seen, top] is still in the window, computed independently.
    auto exact = [&](std::string_view epoch, std::uint64_t seen) {
        if (epoch != ch.epoch || seen > ch.top) return false;
        for (std::uint64_t o = seen + 1; o <= ch.top && o != 0; ++o)
            if (ch.history.index_of(o) == engine::MemoryHistory::npos || !window_ok) return false;
        return true;
    };

    std::string out;
    ch.subscribe_result(out, c.has_recover, c.epoch, c.offset, c.history);
    Pubs p = read_result(out);
    SB_FUZZ_CHECK(p.epoch == kEpoch && p.top == ch.top);
    SB_FUZZ_CHECK(p.has_recovered == c.has_recover);
    SB_FUZZ_CHECK(ch.recoverable_from(c.epoch, c.offset) == exact(c.epoch, c.offset));
    if (p.recovered) {
        SB_FUZZ_CHECK(exact(c.epoch, c.offset));
        SB_FUZZ_CHECK(p.offsets.size() == ch.top - c.offset);
        for (std::size_t i = 0; i < p.offsets.size(); ++i) SB_FUZZ_CHECK(p.offsets[i] == c.offset + 1 + i);
    } else {
        if (c.has_recover) SB_FUZZ_CHECK(!exact(c.epoch, c.offset));
        // The newest N, oldest first, ending at the top.
        SB_FUZZ_CHECK(p.offsets.size() <= c.history);
        for (std::size_t i = 0; i < p.offsets.size(); ++i)
            SB_FUZZ_CHECK(p.offsets[i] == ch.top - p.offsets.size() + 1 + i);
    }

    out.clear();
    const bool ok = ch.history_result(out, c.has_recover, c.epoch, c.offset, c.limit, c.reverse);
    SB_FUZZ_CHECK(ok == (!c.has_recover || exact(c.epoch, c.offset)));
    if (!ok) {
        SB_FUZZ_CHECK(out.empty());
        return;
    }
    p = read_result(out);
    SB_FUZZ_CHECK(!p.has_recovered && p.top == ch.top);
    SB_FUZZ_CHECK(p.offsets.size() <= c.limit);
    const bool backwards = c.reverse && !c.has_recover;
    for (std::size_t i = 1; i < p.offsets.size(); ++i)
        SB_FUZZ_CHECK(p.offsets[i] == (backwards ? p.offsets[i - 1] - 1 : p.offsets[i - 1] + 1));
    if (!p.offsets.empty()) {
        if (c.has_recover) SB_FUZZ_CHECK(p.offsets.front() == c.offset + 1);
        else SB_FUZZ_CHECK((backwards ? p.offsets.front() : p.offsets.back()) == ch.top);
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view frame(reinterpret_cast<const char*>(data), size);
    for_each_line(frame, [&](std::string_view line) {
        SB_FUZZ_CHECK(!line.empty() && is_inside(line, frame));
        SB_FUZZ_CHECK(line.find('\n') == std::string_view::npos);
        SB_FUZZ_CHECK(line.find_first_not_of(" \t\r") != std::string_view::npos);

        json::Value v;
        if (json::parse(line, v) != json::Error::None) return;
        Command c;
        const DecodeError e = decode_command(v, c);
        if (e == DecodeError::NotObject) {
            SB_FUZZ_CHECK(v.kind != json::Kind::Object);
            return;
        }
        SB_FUZZ_CHECK(v.kind == json::Kind::Object);
        if (e != DecodeError::NoId) SB_FUZZ_CHECK(c.id != 0); // a reply needs an id
        check_views(c, line);
        check_encoders(c, e);
        check_channel(c.channel, c.token);
        if (e != DecodeError::None) return;
        check_round_trip(c);
        check_recovery(c);
    });
    return 0;
}
