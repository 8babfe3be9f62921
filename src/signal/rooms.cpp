#include "signal/rooms.hpp"

#include "auth/jwt.hpp"
#include "hub/client.hpp"
#include "hub/hub.hpp"
#include "hub/protocol.hpp"
#include "hub/shard.hpp"
#include "json/writer.hpp"
#include "signal/validate.hpp"

#include <algorithm>
#include <functional>

namespace switchboard::signal {

using hub::Client;
using hub::ClientRef;
using hub::Command;
using hub::ErrorCode;
using hub::Shard;
using hub::token_error_code;

struct Rooms::JoinRequest {
    std::string room, sid, identity, info, metadata;
    Grants grants;
    ClientRef conn;
    std::uint32_t cmd = 0;
    std::int64_t expires = 0;
};

namespace {

constexpr std::size_t kMaxTracksJson = 4096;

// Runs `fn` on the loop of `to` with its Client, if it is still connected.
void at_client(Shard& from, ClientRef to, std::function<void(Client&)> fn) {
    from.send(to.loop, hub::msg::Task{[to, fn = std::move(fn)](Shard& s) {
        Client* c = s.client(to.id);
        if (c && c->connected() && !c->closed()) fn(*c);
    }});
}

std::string mesh_full_reason(std::uint32_t limit) {
    std::string r = "room full: a peer-to-peer room holds at most ";
    r += std::to_string(limit);
    r += " participants (rooms beyond that need the SFU, not available yet)";
    return r;
}

} // namespace

Rooms::Rooms(hub::Hub& hub, RoomsConfig cfg, unsigned loops) : hub_(hub), cfg_(cfg) {
    for (unsigned i = 0; i < loops; ++i) loops_.push_back(std::make_unique<Loop>());
}

Rooms::~Rooms() = default;

Rooms::Loop& Rooms::loop(Shard& s) noexcept { return *loops_[s.index()]; }

unsigned Rooms::owner_of(std::string_view room) const noexcept { return hub_.owner_of(chat_channel(room)); }

Rooms::Joined* Rooms::joined(Client& c, std::string_view room) {
    Loop& l = loop(c.shard());
    auto it = l.clients.find(c.ref().id);
    if (it == l.clients.end()) return nullptr;
    for (auto& j : it->second.rooms)
        if (j.room == room) return &j;
    return nullptr;
}

bool Rooms::take_signal_token(Client& c) {
    if (cfg_.signal_rate == 0) return true;
    ClientState& cs = loop(c.shard()).clients[c.ref().id];
    const std::int64_t now = c.shard().now_ms();
    const double burst = 2.0 * cfg_.signal_rate;
    cs.tokens = std::min(burst, cs.tokens + static_cast<double>(now - cs.refilled_ms) * cfg_.signal_rate / 1000.0);
    cs.refilled_ms = now;
    if (cs.tokens < 1.0) return false;
    cs.tokens -= 1.0;
    return true;
}

bool Rooms::on_command(Client& c, const Command& cmd) {
    const std::string_view op = cmd.op_name;
    if (op == "room_join") join(c, cmd);
    else if (op == "room_leave") leave(c, cmd);
    else if (op == "signal") signal(c, cmd);
    else if (op == "room_tracks") set_tracks(c, cmd);
    else if (op == "room_update") set_metadata(c, cmd);
    else return false;
    return true;
}

void Rooms::on_closed(Client& c) {
    Loop& l = loop(c.shard());
    auto it = l.clients.find(c.ref().id);
    if (it == l.clients.end()) return;
    for (const auto& j : it->second.rooms) {
        std::string room = j.room, sid = c.client_id();
        c.shard().send(owner_of(room), hub::msg::Task{[this, room, sid](Shard& s) {
            owner_leave(s, room, sid, "disconnected");
        }});
    }
    l.clients.erase(it);
}

// ---------------------------------------------------------------- a participant's loop

void Rooms::join(Client& c, const Command& cmd) {
    if (!valid_room_name(cmd.room))
        return c.reply_error(cmd.id, ErrorCode::BadRequest, "bad room name: 1-64 characters of A-Z a-z 0-9 _ . -");
    if (joined(c, cmd.room)) return c.reply_error(cmd.id, ErrorCode::BadRequest, "already in this room");
    ClientState& cs = loop(c.shard()).clients[c.ref().id];
    if (cs.rooms.size() >= cfg_.max_rooms_per_connection)
        return c.reply_error(cmd.id, ErrorCode::LimitExceeded, "too many rooms on one connection");
    const std::int64_t now_ms = c.shard().now_ms();
    JoinRequest r;
    r.room = std::string(cmd.room);
    r.sid = c.client_id();
    r.identity = c.user().empty() ? c.client_id() : c.user();
    r.info = c.info();
    r.conn = c.ref();
    r.cmd = cmd.id;
    r.expires = c.expires();
    if (!cmd.token.empty()) {
        auto claims = hub_.verifier().verify(cmd.token, now_ms / 1000);
        if (!claims) return c.reply_error(cmd.id, token_error_code(claims.error()), auth::token_error_text(claims.error()));
        if (claims->room != cmd.room)
            return c.reply_error(cmd.id, ErrorCode::PermissionDenied, "the room token is for another room");
        if (!claims->sub.empty()) r.identity = claims->sub;
        if (!claims->info.empty()) r.info = claims->info;
        r.grants = Grants{claims->may_publish, claims->may_subscribe, claims->may_send_data};
        if (claims->exp && (!r.expires || claims->exp < r.expires)) r.expires = claims->exp;
    } else if (cfg_.token_required) {
        return c.reply_error(cmd.id, ErrorCode::Unauthorized, "a room token is required");
    }
    if (r.identity.size() > 256) return c.reply_error(cmd.id, ErrorCode::BadRequest, "identity too long");
    if (cmd.has_metadata) {
        if (cmd.metadata.raw.size() > cfg_.max_metadata_size)
            return c.reply_error(cmd.id, ErrorCode::TooLarge, "metadata too large");
        r.metadata = std::string(cmd.metadata.raw);
    }
    if (cs.refilled_ms == 0) {
        cs.tokens = 2.0 * cfg_.signal_rate;
        cs.refilled_ms = now_ms;
    }
    cs.rooms.push_back(Joined{r.room, r.identity, r.grants, true});
    const unsigned owner = owner_of(r.room); // before r is moved into the task
    c.shard().send(owner, hub::msg::Task{[this, r = std::move(r)](Shard& s) mutable { owner_join(s, r); }});
}

void Rooms::leave(Client& c, const Command& cmd) {
    Loop& l = loop(c.shard());
    auto it = l.clients.find(c.ref().id);
    if (it == l.clients.end()) return c.reply_error(cmd.id, ErrorCode::NotInRoom);
    auto& rooms = it->second.rooms;
    auto j = std::find_if(rooms.begin(), rooms.end(), [&](const Joined& x) { return x.room == cmd.room; });
    if (j == rooms.end()) return c.reply_error(cmd.id, ErrorCode::NotInRoom);
    std::string room = j->room, sid = c.client_id();
    rooms.erase(j);
    c.revoke_channel(chat_channel(room));
    c.shard().send(owner_of(room), hub::msg::Task{[this, room, sid](Shard& s) { owner_leave(s, room, sid, "left"); }});
    c.reply_ok(cmd.id, "{}");
}

void Rooms::signal(Client& c, const Command& cmd) {
    Joined* j = joined(c, cmd.room);
    if (!j || j->pending) return c.reply_error(cmd.id, ErrorCode::NotInRoom);
    if (cmd.to.empty() || cmd.to.size() > 64)
        return c.reply_error(cmd.id, ErrorCode::BadRequest, "a signal needs 'to': a participant id");
    if (cmd.to == c.client_id()) return c.reply_error(cmd.id, ErrorCode::BadRequest, "a signal to oneself");
    const std::string_view kind = cmd.kind;
    if (kind != "offer" && kind != "answer" && kind != "candidate")
        return c.reply_error(cmd.id, ErrorCode::BadRequest, "kind must be offer, answer or candidate");
    if (!cmd.has_data) return c.reply_error(cmd.id, ErrorCode::BadRequest, "a signal needs data");
    if (cmd.data.raw.size() > cfg_.max_signal_size) return c.reply_error(cmd.id, ErrorCode::TooLarge, "signal too large");
    if (!take_signal_token(c)) return c.reply_error(cmd.id, ErrorCode::TooManyRequests, "too many signals");
    bool sends = false;
    std::string why;
    if (kind == "candidate" ? !valid_candidate(cmd.data, why) : !valid_description(cmd.data, kind, sends, why))
        return c.reply_error(cmd.id, ErrorCode::BadRequest, why);
    if (sends && !j->grants.publish)
        return c.reply_error(cmd.id, ErrorCode::PermissionDenied, "this participant may not publish media");
    std::string room = j->room, from = c.client_id(), to(cmd.to), k(kind), data(cmd.data.raw);
    const ClientRef back = c.ref();
    const std::uint32_t id = cmd.id;
    c.shard().send(owner_of(room), hub::msg::Task{[this, room, from, to, k, data, sends, back, id](Shard& s) {
        auto it = loop(s).owned.find(room);
        Room* r = it == loop(s).owned.end() ? nullptr : it->second.get();
        const Participant* sender = r ? r->find(from) : nullptr;
        const Participant* target = r ? r->find(to) : nullptr;
        if (!sender) return at_client(s, back, [id](Client& who) { who.reply_error(id, ErrorCode::NotInRoom); });
        if (!target) return at_client(s, back, [id](Client& who) { who.reply_error(id, ErrorCode::UnknownParticipant); });
        if (sends && !target->grants.subscribe)
            return at_client(s, back, [id](Client& who) {
                who.reply_error(id, ErrorCode::PermissionDenied, "the participant may not receive media");
            });
        at_client(s, target->conn, [push = r->signal_push(from, k, data)](Client& who) { who.send_push(push); });
        at_client(s, back, [id](Client& who) { who.reply_ok(id, "{}"); });
    }});
}

void Rooms::set_tracks(Client& c, const Command& cmd) {
    Joined* j = joined(c, cmd.room);
    if (!j || j->pending) return c.reply_error(cmd.id, ErrorCode::NotInRoom);
    if (!take_signal_token(c)) return c.reply_error(cmd.id, ErrorCode::TooManyRequests, "too many room updates");
    if (!cmd.has_tracks || cmd.tracks.kind != json::Kind::Array)
        return c.reply_error(cmd.id, ErrorCode::BadRequest, "tracks must be an array");
    if (cmd.tracks.raw.size() > kMaxTracksJson) return c.reply_error(cmd.id, ErrorCode::TooLarge, "tracks too large");
    std::uint32_t n = 0;
    bool objects = true;
    json::for_each_element(cmd.tracks, [&](json::Value v) {
        ++n;
        objects = objects && v.kind == json::Kind::Object;
    });
    if (!objects || n > cfg_.max_tracks)
        return c.reply_error(cmd.id, ErrorCode::BadRequest, "tracks: at most 16 objects");
    if (n > 0 && !j->grants.publish)
        return c.reply_error(cmd.id, ErrorCode::PermissionDenied, "this participant may not publish media");
    std::string room = j->room, sid = c.client_id(), tracks(cmd.tracks.raw);
    const ClientRef back = c.ref();
    const std::uint32_t id = cmd.id;
    c.shard().send(owner_of(room), hub::msg::Task{[this, room, sid, tracks, back, id](Shard& s) {
        auto it = loop(s).owned.find(room);
        Participant* p = it == loop(s).owned.end() ? nullptr : it->second->find(sid);
        if (!p) return at_client(s, back, [id](Client& who) { who.reply_error(id, ErrorCode::NotInRoom); });
        p->tracks = tracks;
        broadcast(s, *it->second, it->second->update_push(*p), sid);
        at_client(s, back, [id](Client& who) { who.reply_ok(id, "{}"); });
    }});
}

void Rooms::set_metadata(Client& c, const Command& cmd) {
    Joined* j = joined(c, cmd.room);
    if (!j || j->pending) return c.reply_error(cmd.id, ErrorCode::NotInRoom);
    if (!take_signal_token(c)) return c.reply_error(cmd.id, ErrorCode::TooManyRequests, "too many room updates");
    if (!cmd.has_metadata) return c.reply_error(cmd.id, ErrorCode::BadRequest, "room_update needs metadata");
    if (cmd.metadata.raw.size() > cfg_.max_metadata_size)
        return c.reply_error(cmd.id, ErrorCode::TooLarge, "metadata too large");
    std::string room = j->room, sid = c.client_id(), metadata(cmd.metadata.raw);
    const ClientRef back = c.ref();
    const std::uint32_t id = cmd.id;
    c.shard().send(owner_of(room), hub::msg::Task{[this, room, sid, metadata, back, id](Shard& s) {
        auto it = loop(s).owned.find(room);
        Participant* p = it == loop(s).owned.end() ? nullptr : it->second->find(sid);
        if (!p) return at_client(s, back, [id](Client& who) { who.reply_error(id, ErrorCode::NotInRoom); });
        p->metadata = metadata == "null" ? std::string() : metadata;
        broadcast(s, *it->second, it->second->update_push(*p), sid);
        at_client(s, back, [id](Client& who) { who.reply_ok(id, "{}"); });
    }});
}

void Rooms::on_removed(Client& c, const std::string& room, const std::string& push) {
    Loop& l = loop(c.shard());
    auto it = l.clients.find(c.ref().id);
    if (it == l.clients.end()) return;
    auto& rooms = it->second.rooms;
    auto j = std::find_if(rooms.begin(), rooms.end(), [&](const Joined& x) { return x.room == room; });
    if (j == rooms.end()) return;
    rooms.erase(j);
    c.revoke_channel(chat_channel(room));
    c.send_push(push);
}

// ---------------------------------------------------------------- the owner loop

void Rooms::owner_join(Shard& s, JoinRequest& r) {
    auto& slot = loop(s).owned[r.room];
    if (!slot) slot = std::make_unique<Room>(r.room, s.now_ms());
    Room& room = *slot;
    // One identity, one seat: the newer join wins (a reload, a second tab).
    if (Participant* old = room.find_identity(r.identity))
        remove(s, room, old->sid, "replaced", "the same identity joined from another connection");
    if (room.size() >= cfg_.mesh_limit) {
        at_client(s, r.conn, [this, room_name = r.room, id = r.cmd, reason = mesh_full_reason(cfg_.mesh_limit)](Client& c) {
            Loop& l = loop(c.shard());
            if (auto it = l.clients.find(c.ref().id); it != l.clients.end())
                std::erase_if(it->second.rooms, [&](const Joined& x) { return x.room == room_name && x.pending; });
            c.reply_error(id, ErrorCode::RoomFull, reason);
        });
        return drop_if_empty(s, r.room);
    }
    std::string others;
    room.append_participants(others, "");
    Participant& p = room.add(Participant{r.sid, r.identity, r.conn, r.info, r.metadata, "[]", r.grants, s.now_ms()});
    std::string me;
    Room::append_participant(me, p);
    broadcast(s, room, room.join_push(p), p.sid);
    at_client(s, r.conn, [this, room_name = r.room, identity = r.identity, expires = r.expires, id = r.cmd,
                          me = std::move(me), others = std::move(others)](Client& c) {
        Joined* j = joined(c, room_name);
        if (!j || !j->pending) return c.reply_error(id, ErrorCode::NotInRoom, "left the room before joining it");
        j->pending = false;
        const std::string chat = chat_channel(room_name);
        c.grant_channel(chat);
        std::string result;
        json::Writer w(result);
        w.begin_object()
            .key("room").string(room_name)
            .key("participant").raw(me)
            .key("participants").raw(others)
            .key("chat").string(chat)
            .key("mesh_limit").number(std::uint64_t{cfg_.mesh_limit})
            .key("expires").number(expires);
        const auto& hub_cfg = hub_.config();
        if (hub_cfg.ice_servers) {
            std::string ice = hub_cfg.ice_servers(identity, static_cast<std::uint64_t>(expires),
                                                  static_cast<std::uint64_t>(c.shard().now_ms() / 1000));
            if (!ice.empty()) w.key("ice_servers").raw(ice);
        }
        w.end_object();
        c.reply_ok(id, result);
    });
}

void Rooms::owner_leave(Shard& s, const std::string& room, const std::string& sid, std::string_view cause) {
    auto it = loop(s).owned.find(room);
    if (it == loop(s).owned.end()) return;
    if (it->second->remove(sid)) broadcast(s, *it->second, it->second->leave_push(sid, cause), {});
    drop_if_empty(s, room);
}

void Rooms::remove(Shard& s, Room& room, std::string sid, std::string_view cause, std::string_view reason) {
    const Participant* p = room.find(sid);
    if (!p) return;
    const ClientRef conn = p->conn;
    room.remove(sid);
    broadcast(s, room, room.leave_push(sid, cause), {});
    at_client(s, conn, [this, name = room.name(), push = room.left_push(cause, reason)](Client& c) {
        on_removed(c, name, push);
    });
}

void Rooms::broadcast(Shard& s, const Room& room, std::string push, std::string_view except) {
    auto shared = std::make_shared<const std::string>(std::move(push));
    for (const auto& p : room.participants())
        if (p.sid != except) at_client(s, p.conn, [shared](Client& c) { c.send_push(*shared); });
}

void Rooms::drop_if_empty(Shard& s, const std::string& room) {
    auto it = loop(s).owned.find(room);
    if (it != loop(s).owned.end() && it->second->empty()) loop(s).owned.erase(it);
}

} // namespace switchboard::signal
