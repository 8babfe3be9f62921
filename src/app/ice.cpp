#include "app/ice.hpp"

#include "json/writer.hpp"
#include "turn/credentials.hpp"

#include <algorithm>

namespace switchboard::app {

void IceServers::configure(std::vector<std::string> stun_urls, std::vector<std::string> turn_urls, std::uint64_t ttl_s) {
    std::lock_guard lock(mutex_);
    stun_urls_ = std::move(stun_urls);
    turn_urls_ = std::move(turn_urls);
    ttl_s_ = ttl_s;
}

void IceServers::set_secrets(std::vector<std::string> secrets) {
    std::lock_guard lock(mutex_);
    secrets_ = std::move(secrets);
}

std::vector<std::string> IceServers::secrets() const {
    std::lock_guard lock(mutex_);
    return secrets_;
}

std::string IceServers::json(std::string_view identity, std::uint64_t token_expires, std::uint64_t now_unix) const {
    std::lock_guard lock(mutex_);
    if (stun_urls_.empty() && turn_urls_.empty()) return {};
    std::string out;
    json::Writer w(out);
    w.begin_array();
    if (!stun_urls_.empty()) {
        w.begin_object().key("urls").begin_array();
        for (const auto& u : stun_urls_) w.string(u);
        w.end_array().end_object();
    }
    // TURN needs a credential; without a REST secret there is none to mint (static users are
    // the operator's to hand out).
    if (!turn_urls_.empty() && !secrets_.empty()) {
        std::uint64_t expiry = now_unix + ttl_s_;
        if (token_expires) expiry = std::min(expiry, token_expires);
        std::string username = turn::rest_username(expiry, identity);
        w.begin_object().key("urls").begin_array();
        for (const auto& u : turn_urls_) w.string(u);
        w.end_array()
            .key("username").string(username)
            .key("credential").string(turn::rest_password(secrets_.front(), username))
            .end_object();
    }
    w.end_array();
    return out;
}

} // namespace switchboard::app
