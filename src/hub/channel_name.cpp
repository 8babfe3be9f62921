#include "hub/channel_name.hpp"

namespace switchboard::hub {

bool parse_channel(std::string_view channel, ChannelName& out) noexcept {
    if (channel.empty() || channel.size() > kMaxChannelName) return false;
    for (char c : channel)
        if (c <= ' ' || c > '~' || c == '"' || c == '\\') return false; // JSON-safe as is
    ChannelName n;
    auto colon = channel.find(':');
    if (colon != std::string_view::npos) n.ns = channel.substr(0, colon);
    auto hash = channel.rfind('#');
    if (hash != std::string_view::npos) {
        n.personal = true;
        n.users = channel.substr(hash + 1);
        if (n.users.empty()) return false;
        // "ns#users" without a ':' before the '#': the namespace is still only before a ':'.
        if (colon != std::string_view::npos && colon > hash) n.ns = {};
    }
    out = n;
    return true;
}

bool personal_allows(std::string_view users, std::string_view user) noexcept {
    if (user.empty()) return false;
    while (!users.empty()) {
        auto comma = users.find(',');
        std::string_view one = users.substr(0, comma);
        if (one == user) return true;
        if (comma == std::string_view::npos) break;
        users.remove_prefix(comma + 1);
    }
    return false;
}

} // namespace switchboard::hub
