#pragma once
// The server API (docs/api.md): JSON commands from application back ends, already
// authenticated by the HTTP layer. Each call starts on the loop that received the request and
// completes there, possibly after asking the owners of the channels it names.
#include "hub/messages.hpp"

#include <string_view>

namespace switchboard::hub {

class Shard;

/// Runs API `method` with the JSON `body` (an object; "" is read as {}). `done` runs on this
/// shard's loop exactly once, with the result object or an error. `body` is borrowed for the
/// call only.
void call_api(Shard& shard, std::string_view method, std::string_view body, ApiDone done);

/// The HTTP status that goes with an API error.
int api_http_status(ErrorCode e) noexcept;

} // namespace switchboard::hub
