#pragma once
// Extension: commands and server-API methods the hub does not know, handed to a layer above it
// (rooms and WebRTC signalling live in signal/). The hub stays independent of that layer: it
// only calls this interface, which the application installs before the loops start.
#include "hub/messages.hpp"

#include <string_view>

namespace switchboard::hub {

class Client;
class Shard;
struct Command;

class Extension {
  public:
    /// A connected client's command whose op the hub does not know (`c.op_name`), on the
    /// client's loop. False: not this extension's either (the client gets 104).
    virtual bool on_command(Client& client, const Command& c) = 0;
    /// A connected client's connection is gone; called once, on its loop, before it is freed.
    virtual void on_closed(Client& client) = 0;
    /// A server-API method the hub does not know. False: unknown (404). Otherwise `done` is
    /// run later on `shard`'s loop, exactly once.
    virtual bool on_api(Shard& shard, std::string_view method, std::string_view body, ApiDone& done) = 0;

  protected:
    ~Extension() = default;
};

} // namespace switchboard::hub
