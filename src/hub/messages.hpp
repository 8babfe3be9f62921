#pragma once
// What the loops' hub shards say to each other. Each loop has one inbox; messages from one
// loop to another arrive in the order they were sent, and that FIFO is what keeps a channel's
// order total: the owner sends a subscribe reply and the publications after it down the same
// queue, so a subscriber sees exactly the publications after the position in its reply.
#include "hub/errors.hpp"
#include "ws/connection.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <variant>

namespace switchboard::hub {

class Shard;
struct LocalChannel;

/// A client connection somewhere: its loop and its id there (ids are never reused).
struct ClientRef {
    unsigned loop = 0;
    std::uint64_t id = 0;
};

/// Completion of a server-API call, run on the loop that made the call.
using ApiDone = std::function<void(ErrorCode, std::string result_json)>;

namespace msg {

/// Owner -> subscriber loop: one framed publication (or join/leave) for every local subscriber.
/// `binary` is the publication in the binary layout, framed once too, when some subscriber of
/// the channel asked for binary pub pushes (empty otherwise, and for join/leave).
struct Deliver {
    LocalChannel* lc;
    ws::FramedMessage frame;
    ws::FramedMessage binary;
};

struct Subscribe {
    std::string channel;
    LocalChannel* lc;
    ClientRef client;
    std::uint32_t cmd;
    std::string client_id;
    std::string client_info; // {"user":..,"client":..,"info":..}
    bool recover = false;
    std::string epoch;
    std::uint64_t offset = 0;
    std::uint32_t history = 0;
    bool binary = false; // the client takes pub pushes as binary frames
};

struct SubscribeDone {
    LocalChannel* lc;
    std::uint64_t client;
    std::uint32_t cmd;
    ErrorCode error;
    std::string result;
};

struct Unsubscribe {
    std::string channel;
    LocalChannel* lc;
    unsigned loop; // the sender, where `lc` lives
    std::string client_id;
    bool binary = false;
};

/// Owner -> subscriber loop: the owner forgot `lc`; the loop may free it if still unused.
struct Release {
    LocalChannel* lc;
};

struct Publish {
    std::string channel;
    std::string data;
    std::string from; // client info JSON, "" for the server API
    ClientRef reply;
    std::uint32_t cmd = 0;
    ApiDone api; // set for the server API instead of a client reply
};

enum class QueryKind : std::uint8_t { History, Presence, PresenceStats };

struct Query {
    QueryKind kind = QueryKind::History;
    std::string channel;
    ClientRef reply;
    std::uint32_t cmd = 0;
    bool since = false;
    std::string epoch;
    std::uint64_t offset = 0;
    std::uint32_t limit = 0;
    bool reverse = false;
    ApiDone api;
};

struct Reply {
    std::uint64_t client;
    std::uint32_t cmd;
    ErrorCode error;
    std::string result;
};

/// Anything rare (server API fan-in, commits from the store): a closure run on the loop.
struct Task {
    std::function<void(Shard&)> fn;
};

} // namespace msg

using Message = std::variant<msg::Deliver, msg::Subscribe, msg::SubscribeDone, msg::Unsubscribe, msg::Release,
                             msg::Publish, msg::Query, msg::Reply, msg::Task>;

} // namespace switchboard::hub
