#include "hub/namespaces.hpp"

#include "hub/channel_name.hpp"

#include <charconv>
#include <stdexcept>

namespace switchboard::hub {

namespace {
bool parse_bool(std::string_view key, std::string_view v) {
    if (v == "true" || v == "on" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "off" || v == "0" || v == "no") return false;
    throw std::invalid_argument("namespace option " + std::string(key) + ": expected true or false, got '" +
                                std::string(v) + "'");
}

std::uint32_t parse_u32(std::string_view key, std::string_view v, std::uint32_t max) {
    std::uint32_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || p != v.data() + v.size() || n > max)
        throw std::invalid_argument("namespace option " + std::string(key) + ": expected a number up to " +
                                    std::to_string(max) + ", got '" + std::string(v) + "'");
    return n;
}

bool valid_namespace_name(std::string_view n) {
    for (char c : n)
        if (c <= ' ' || c > '~' || c == ':' || c == '#') return false;
    return n.size() <= 64;
}
} // namespace

void set_namespace_option(NamespaceOptions& ns, std::string_view key, std::string_view value) {
    if (key == "history_size") ns.history_size = parse_u32(key, value, kMaxHistorySize);
    else if (key == "history_ttl") ns.history_ttl = parse_u32(key, value, 10u * 365 * 24 * 3600);
    else if (key == "durable") ns.durable = parse_bool(key, value);
    else if (key == "presence") ns.presence = parse_bool(key, value);
    else if (key == "join_leave") ns.join_leave = parse_bool(key, value);
    else if (key == "publish") ns.publish = parse_bool(key, value);
    else if (key == "subscribe_token") ns.subscribe_token = parse_bool(key, value);
    else if (key == "anonymous") ns.anonymous = parse_bool(key, value);
    else throw std::invalid_argument("unknown namespace option '" + std::string(key) + "'");
}

NamespaceOptions parse_namespace_spec(std::string_view spec) {
    NamespaceOptions ns;
    auto colon = spec.find(':');
    ns.name = std::string(spec.substr(0, colon));
    if (!valid_namespace_name(ns.name)) throw std::invalid_argument("bad namespace name '" + ns.name + "'");
    if (colon == std::string_view::npos) return ns;
    std::string_view rest = spec.substr(colon + 1);
    while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (item.empty()) continue;
        auto eq = item.find('=');
        if (eq == std::string_view::npos) set_namespace_option(ns, item, "true");
        else set_namespace_option(ns, item.substr(0, eq), item.substr(eq + 1));
    }
    if (ns.durable && ns.history_size == 0)
        throw std::invalid_argument("namespace " + ns.name + ": durable needs history_size > 0");
    return ns;
}

Namespaces Namespaces::defaults() {
    Namespaces n;
    n.set(NamespaceOptions{});
    NamespaceOptions chat;
    chat.name = "chat";
    chat.history_size = 1000;
    chat.history_ttl = 0;
    chat.durable = true;
    chat.presence = chat.join_leave = chat.publish = chat.anonymous = true;
    n.set(chat);
    NamespaceOptions typing;
    typing.name = "typing";
    typing.publish = typing.anonymous = true;
    n.set(typing);
    // A WebRTC room's chat (signal/): members are granted room:<name> when they join.
    NamespaceOptions room;
    room.name = "room";
    room.history_size = 200;
    room.history_ttl = 3600;
    room.publish = room.anonymous = room.subscribe_token = true;
    n.set(room);
    return n;
}

void Namespaces::set(NamespaceOptions ns) {
    for (auto& existing : list_)
        if (existing.name == ns.name) {
            existing = std::move(ns);
            return;
        }
    list_.push_back(std::move(ns));
}

const NamespaceOptions* Namespaces::find(std::string_view name) const noexcept {
    for (const auto& ns : list_)
        if (ns.name == name) return &ns;
    return nullptr;
}

const NamespaceOptions* Namespaces::of_channel(std::string_view channel) const noexcept {
    ChannelName cn;
    return parse_channel(channel, cn) ? find(cn.ns) : nullptr;
}

bool Namespaces::any_durable() const noexcept {
    for (const auto& ns : list_)
        if (ns.durable) return true;
    return false;
}

} // namespace switchboard::hub
