// The server API's room methods (docs/api.md): rooms, room_participants, room_kick, room_close.
#include "hub/shard.hpp"
#include "json/reader.hpp"
#include "json/writer.hpp"
#include "signal/rooms.hpp"

#include <memory>

namespace switchboard::signal {

using hub::ErrorCode;
using hub::Shard;

namespace {

constexpr std::size_t kMaxReason = 100;

struct ApiArgs {
    std::string room, identity, reason;
};

bool parse_api_args(std::string_view body, ApiArgs& a) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) body = "{}";
    json::Value v;
    if (json::parse(body, v) != json::Error::None || v.kind != json::Kind::Object) return false;
    bool ok = true;
    json::for_each_member(v, [&](std::string_view k, json::Value m) {
        if (json::key_is(k, "room")) ok = ok && json::get_string(m, a.room);
        else if (json::key_is(k, "identity")) ok = ok && json::get_string(m, a.identity);
        else if (json::key_is(k, "reason")) ok = ok && json::get_string(m, a.reason);
    });
    if (a.reason.size() > kMaxReason) a.reason.resize(kMaxReason);
    return ok;
}

} // namespace

bool Rooms::on_api(Shard& shard, std::string_view method, std::string_view body, hub::ApiDone& done) {
    if (method != "rooms" && method != "room_participants" && method != "room_close" && method != "room_kick")
        return false;
    ApiArgs a;
    if (!parse_api_args(body, a)) {
        done(ErrorCode::BadRequest, {});
        return true;
    }
    const unsigned back = shard.index();
    if (method == "rooms") {
        // Each loop lists the rooms it owns; the answers are joined back here.
        struct Gather {
            std::vector<std::string> parts;
            unsigned left;
            hub::ApiDone done;
        };
        const unsigned n = static_cast<unsigned>(loops_.size());
        auto st = std::make_shared<Gather>(Gather{std::vector<std::string>(n), n, std::move(done)});
        for (unsigned i = 0; i < n; ++i)
            shard.send(i, hub::msg::Task{[this, st, i, back](Shard& s) {
                std::string part;
                for (const auto& [name, room] : loop(s).owned) {
                    if (!part.empty()) part += ',';
                    json::Writer w(part);
                    w.begin_object()
                        .key("room").string(name)
                        .key("participants").number(std::uint64_t{room->size()})
                        .key("created").number(room->created_ms())
                        .end_object();
                }
                s.send(back, hub::msg::Task{[st, i, part = std::move(part)](Shard&) mutable {
                    st->parts[i] = std::move(part);
                    if (--st->left) return;
                    std::string all = "{\"rooms\":[";
                    bool first = true;
                    for (auto& p : st->parts) {
                        if (p.empty()) continue;
                        if (!first) all += ',';
                        first = false;
                        all += p;
                    }
                    all += "]}";
                    st->done(ErrorCode::None, std::move(all));
                }});
            }});
        return true;
    }
    if (!valid_room_name(a.room)) {
        done(ErrorCode::BadRequest, {});
        return true;
    }
    if (method == "room_kick" && a.identity.empty()) {
        done(ErrorCode::BadRequest, {});
        return true;
    }
    auto finish = [back](Shard& s, hub::ApiDone d, std::string result) {
        s.send(back, hub::msg::Task{[d = std::move(d), result = std::move(result)](Shard&) { d(ErrorCode::None, result); }});
    };
    shard.send(owner_of(a.room), hub::msg::Task{[this, a, m = std::string(method), done = std::move(done), finish](Shard& s) {
        auto it = loop(s).owned.find(a.room);
        Room* room = it == loop(s).owned.end() ? nullptr : it->second.get();
        if (m == "room_participants") {
            std::string out = "{\"room\":";
            json::append_escaped(out, a.room);
            out += ",\"participants\":";
            if (room) room->append_participants(out, "");
            else out += "[]";
            out += '}';
            return finish(s, done, std::move(out));
        }
        std::vector<std::string> hits;
        if (room)
            for (const auto& p : room->participants())
                if (m == "room_close" || p.identity == a.identity) hits.push_back(p.sid);
        const bool close = m == "room_close";
        std::string reason = a.reason.empty() ? (close ? "the room was closed" : "removed from the room") : a.reason;
        for (auto& sid : hits) remove(s, *room, sid, close ? "closed" : "kicked", reason);
        if (room) drop_if_empty(s, a.room);
        finish(s, done, std::string(close ? "{\"closed\":" : "{\"kicked\":") + std::to_string(hits.size()) + "}");
    }});
    return true;
}

} // namespace switchboard::signal
