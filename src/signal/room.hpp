#pragma once
// Room: a WebRTC room as its owner loop keeps it — who is in it, what each participant may do
// and publishes — and the JSON the room's events are told with (docs/protocol.md, "Rooms").
// No I/O and no loops here: rooms.cpp routes what this decides.
#include "hub/messages.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::signal {

struct Grants {
    bool publish = true;   // may send audio/video
    bool subscribe = true; // may receive audio/video
    bool data = true;      // may send data messages and files
};

struct Participant {
    std::string sid;      // participant id: its connection's client id (unique per join)
    std::string identity; // the room token's sub, else the connection's user or client id
    hub::ClientRef conn;
    std::string info;          // raw JSON (token info claim or connection info), "" if none
    std::string metadata;      // raw JSON set by the participant, "" if none
    std::string tracks = "[]"; // raw JSON array of the tracks it publishes
    Grants grants;
    std::int64_t joined_ms = 0;
};

/// Room names: 1-64 characters of [A-Za-z0-9_.-] (they are also part of a channel name).
bool valid_room_name(std::string_view name) noexcept;

/// The chat channel of a room: "room:<name>".
std::string chat_channel(std::string_view room);

/// Not thread-safe; lives on the loop that owns it.
class Room {
  public:
    Room(std::string name, std::int64_t now_ms) : name_(std::move(name)), created_ms_(now_ms) {}

    const std::string& name() const noexcept { return name_; }
    std::int64_t created_ms() const noexcept { return created_ms_; }
    const std::vector<Participant>& participants() const noexcept { return members_; }
    std::size_t size() const noexcept { return members_.size(); }
    bool empty() const noexcept { return members_.empty(); }

    Participant* find(std::string_view sid) noexcept;
    Participant* find_identity(std::string_view identity) noexcept;
    Participant& add(Participant p);
    /// Removes `sid`; false if it was not in the room.
    bool remove(std::string_view sid);

    /// {"sid":..,"identity":..,"info":..,"metadata":..,"grants":{..},"tracks":[..],"joined":ms}
    static void append_participant(std::string& out, const Participant& p);
    /// [participant, ...] without `except` ("" for all).
    void append_participants(std::string& out, std::string_view except) const;

    // Pushes (docs/protocol.md). Each is one JSON object.
    std::string join_push(const Participant& p) const;
    std::string update_push(const Participant& p) const;
    std::string leave_push(std::string_view sid, std::string_view cause) const;
    std::string left_push(std::string_view cause, std::string_view reason) const;
    std::string signal_push(std::string_view from, std::string_view kind, std::string_view data_json) const;

  private:
    std::string name_;
    std::int64_t created_ms_;
    std::vector<Participant> members_;
};

} // namespace switchboard::signal
