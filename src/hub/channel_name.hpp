#pragma once
// Channel names (docs/protocol.md, "Channels and namespaces"): `ns:rest` is in namespace `ns`,
// a name without ':' in the default namespace ""; after the last '#' comes the comma-separated
// list of users a personal channel belongs to.
#include <string_view>

namespace switchboard::hub {

inline constexpr std::size_t kMaxChannelName = 255;

struct ChannelName {
    std::string_view ns;    // "" for the default namespace
    std::string_view users; // personal channels: "42" or "alice,bob"; else empty
    bool personal = false;
};

/// False for an empty or too long name, or one with bytes outside printable ASCII, a
/// space, '"' or '\\' (so a name never needs escaping in JSON).
/// A personal channel with an empty user list is invalid too.
bool parse_channel(std::string_view channel, ChannelName& out) noexcept;

/// Whether `user` is in the comma-separated `users` list. An empty user (anonymous) never is.
bool personal_allows(std::string_view users, std::string_view user) noexcept;

} // namespace switchboard::hub
