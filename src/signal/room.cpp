#include "signal/room.hpp"

#include "json/writer.hpp"

#include <algorithm>

namespace switchboard::signal {

bool valid_room_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
    });
}

std::string chat_channel(std::string_view room) {
    std::string ch = "room:";
    ch += room;
    return ch;
}

Participant* Room::find(std::string_view sid) noexcept {
    for (auto& p : members_)
        if (p.sid == sid) return &p;
    return nullptr;
}

Participant* Room::find_identity(std::string_view identity) noexcept {
    for (auto& p : members_)
        if (p.identity == identity) return &p;
    return nullptr;
}

Participant& Room::add(Participant p) {
    members_.push_back(std::move(p));
    return members_.back();
}

bool Room::remove(std::string_view sid) {
    auto it = std::find_if(members_.begin(), members_.end(), [&](const Participant& p) { return p.sid == sid; });
    if (it == members_.end()) return false;
    members_.erase(it);
    return true;
}

void Room::append_participant(std::string& out, const Participant& p) {
    json::Writer w(out);
    w.begin_object().key("sid").string(p.sid).key("identity").string(p.identity);
    if (!p.info.empty()) w.key("info").raw(p.info);
    if (!p.metadata.empty()) w.key("metadata").raw(p.metadata);
    w.key("grants")
        .begin_object()
        .key("publish").boolean(p.grants.publish)
        .key("subscribe").boolean(p.grants.subscribe)
        .key("data").boolean(p.grants.data)
        .end_object();
    w.key("tracks").raw(p.tracks).key("joined").number(p.joined_ms).end_object();
}

void Room::append_participants(std::string& out, std::string_view except) const {
    out += '[';
    bool first = true;
    for (const auto& p : members_) {
        if (p.sid == except) continue;
        if (!first) out += ',';
        first = false;
        append_participant(out, p);
    }
    out += ']';
}

std::string Room::join_push(const Participant& p) const {
    std::string out = "{\"push\":\"room_join\",\"room\":\"" + name_ + "\",\"participant\":";
    append_participant(out, p);
    out += '}';
    return out;
}

std::string Room::update_push(const Participant& p) const {
    std::string out = "{\"push\":\"room_update\",\"room\":\"" + name_ + "\",\"participant\":";
    append_participant(out, p);
    out += '}';
    return out;
}

std::string Room::leave_push(std::string_view sid, std::string_view cause) const {
    std::string out;
    json::Writer w(out);
    w.begin_object().key("push").string("room_leave").key("room").string(name_).key("sid").string(sid);
    w.key("cause").string(cause).end_object();
    return out;
}

std::string Room::left_push(std::string_view cause, std::string_view reason) const {
    std::string out;
    json::Writer w(out);
    w.begin_object().key("push").string("room_left").key("room").string(name_);
    w.key("cause").string(cause).key("reason").string(reason).end_object();
    return out;
}

std::string Room::signal_push(std::string_view from, std::string_view kind, std::string_view data_json) const {
    std::string out;
    json::Writer w(out);
    w.begin_object().key("push").string("signal").key("room").string(name_).key("from").string(from);
    w.key("kind").string(kind).key("data").raw(data_json).end_object();
    return out;
}

} // namespace switchboard::signal
