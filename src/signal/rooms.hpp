#pragma once
// Rooms: WebRTC rooms over the hub's connections (docs/protocol.md, "Rooms"). A room is owned
// by the loop its chat channel hashes to, like a channel: joins, leaves and signalling between
// its participants are decided there, so they are totally ordered per room. A participant's
// own loop checks its commands first (membership, grants, sizes, rate, SDP) and hands only
// well-formed ones to the owner; the owner forwards to the target's loop. Media never passes
// through here: the topology is a peer-to-peer mesh up to `mesh_limit` participants.
#include "hub/extension.hpp"
#include "signal/room.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard::hub {
class Hub;
}

namespace switchboard::signal {

struct RoomsConfig {
    std::uint32_t mesh_limit = 4;          // participants; a join beyond gets 117
    bool token_required = false;           // room_join must carry a room token
    std::uint32_t max_rooms_per_connection = 4;
    std::uint32_t max_signal_size = 64 * 1024; // bytes of one signal's data
    std::uint32_t max_metadata_size = 1024;
    std::uint32_t max_tracks = 16;
    std::uint32_t signal_rate = 100;       // signals and room updates per second per connection, bursts of twice
};

class Rooms final : public hub::Extension {
  public:
    /// `loops`: the hub's shard count. Thread-safe as the hub is: each loop touches its part.
    Rooms(hub::Hub& hub, RoomsConfig cfg, unsigned loops);
    ~Rooms();

    bool on_command(hub::Client& client, const hub::Command& c) override;
    void on_closed(hub::Client& client) override;
    bool on_api(hub::Shard& shard, std::string_view method, std::string_view body, hub::ApiDone& done) override;

    const RoomsConfig& config() const noexcept { return cfg_; }

  private:
    struct Joined {
        std::string room;
        std::string identity;
        Grants grants;
        bool pending = true; // the owner has not answered the join yet
    };
    struct ClientState {
        std::vector<Joined> rooms;
        double tokens = 0;
        std::int64_t refilled_ms = 0;
    };
    struct Loop {
        std::unordered_map<std::string, std::unique_ptr<Room>> owned;
        std::unordered_map<std::uint64_t, ClientState> clients; // by the client's id on this loop
    };
    struct JoinRequest;

    Loop& loop(hub::Shard& s) noexcept;
    unsigned owner_of(std::string_view room) const noexcept;
    Joined* joined(hub::Client& c, std::string_view room);
    bool take_signal_token(hub::Client& c);

    void join(hub::Client& c, const hub::Command& cmd);
    void leave(hub::Client& c, const hub::Command& cmd);
    void signal(hub::Client& c, const hub::Command& cmd);
    void set_tracks(hub::Client& c, const hub::Command& cmd);
    void set_metadata(hub::Client& c, const hub::Command& cmd);

    // On the owner loop.
    void owner_join(hub::Shard& s, JoinRequest& r);
    void owner_leave(hub::Shard& s, const std::string& room, const std::string& sid, std::string_view cause);
    /// Tells the participant it is out (its loop forgets the room) and the others that it left.
    void remove(hub::Shard& s, Room& room, std::string sid, std::string_view cause, std::string_view reason);
    void broadcast(hub::Shard& s, const Room& room, std::string push, std::string_view except);
    void drop_if_empty(hub::Shard& s, const std::string& room);

    // On a participant's loop.
    void on_removed(hub::Client& c, const std::string& room, const std::string& push);

    hub::Hub& hub_;
    RoomsConfig cfg_;
    std::vector<std::unique_ptr<Loop>> loops_;
};

} // namespace switchboard::signal
