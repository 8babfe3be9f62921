#include "hub/api.hpp"

#include "hub/client.hpp"
#include "hub/extension.hpp"
#include "hub/hub.hpp"
#include "hub/protocol.hpp"
#include "hub/shard.hpp"
#include "json/writer.hpp"

#include <memory>
#include <vector>

namespace switchboard::hub {

namespace {

constexpr std::size_t kMaxBroadcastChannels = 10000;

struct Args {
    std::string_view channel;
    json::Value data;
    bool has_data = false;
    std::vector<std::string_view> channels;
    bool channels_ok = true;
    std::string_view user;
    std::uint32_t limit = 0;
    bool has_limit = false;
    bool reverse = false;
    bool since = false;
    std::string_view epoch;
    std::uint64_t offset = 0;
    std::uint64_t code = 0;
    std::string reason;
    bool reconnect = true;
    bool has_reconnect = false;
    std::string_view pattern;
    bool bad = false;
};

bool parse_args(std::string_view body, Args& a) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) body = "{}";
    json::Value v;
    if (json::parse(body, v) != json::Error::None || v.kind != json::Kind::Object) return false;
    json::for_each_member(v, [&](std::string_view k, json::Value m) {
        if (json::key_is(k, "channel")) a.bad |= !json::plain_string(m, a.channel);
        else if (json::key_is(k, "data")) {
            a.data = m;
            a.has_data = true;
        } else if (json::key_is(k, "channels")) {
            if (m.kind != json::Kind::Array) a.bad = true;
            json::for_each_element(m, [&](json::Value e) {
                std::string_view s;
                if (!json::plain_string(e, s) || a.channels.size() >= kMaxBroadcastChannels) a.channels_ok = false;
                else a.channels.push_back(s);
            });
        } else if (json::key_is(k, "user")) a.bad |= !json::plain_string(m, a.user);
        else if (json::key_is(k, "limit")) {
            std::uint64_t n = 0;
            a.bad |= !json::get_u64(m, n);
            a.limit = n > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(n);
            a.has_limit = true;
        } else if (json::key_is(k, "reverse")) a.bad |= !json::get_bool(m, a.reverse);
        else if (json::key_is(k, "since")) {
            if (m.kind != json::Kind::Object) {
                a.bad = true;
                return;
            }
            a.since = true;
            bool has_offset = false;
            json::for_each_member(m, [&](std::string_view k2, json::Value m2) {
                if (json::key_is(k2, "epoch")) a.bad |= !json::plain_string(m2, a.epoch);
                else if (json::key_is(k2, "offset")) has_offset = json::get_u64(m2, a.offset);
            });
            a.bad |= !has_offset;
        } else if (json::key_is(k, "code")) a.bad |= !json::get_u64(m, a.code);
        else if (json::key_is(k, "reason")) a.bad |= !json::get_string(m, a.reason);
        else if (json::key_is(k, "reconnect")) {
            a.bad |= !json::get_bool(m, a.reconnect);
            a.has_reconnect = true;
        } else if (json::key_is(k, "pattern")) a.bad |= !json::plain_string(m, a.pattern);
    });
    return true;
}

const NamespaceOptions* namespace_of(Shard& shard, std::string_view channel) {
    return shard.hub().config().namespaces.of_channel(channel);
}

// Runs `per_shard` on every shard and `finish` with all of their answers, back on `origin`.
void gather(Shard& origin, std::function<std::string(Shard&)> per_shard,
            std::function<void(std::vector<std::string>&)> finish) {
    struct State {
        std::vector<std::string> parts;
        unsigned left;
        std::function<void(std::vector<std::string>&)> finish;
    };
    Hub& hub = origin.hub();
    auto st = std::make_shared<State>(State{std::vector<std::string>(hub.shards()), hub.shards(), std::move(finish)});
    const unsigned back = origin.index();
    for (unsigned i = 0; i < hub.shards(); ++i) {
        origin.send(i, msg::Task{[st, per_shard, i, back](Shard& s) {
            std::string part = per_shard(s);
            s.send(back, msg::Task{[st, i, part = std::move(part)](Shard&) mutable {
                st->parts[i] = std::move(part);
                if (--st->left == 0) st->finish(st->parts);
            }});
        }});
    }
}

bool matches(std::string_view pattern, std::string_view name) {
    // Only a trailing '*' is special: "chat:*" lists one namespace.
    if (!pattern.empty() && pattern.back() == '*') return name.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
    return pattern.empty() || pattern == name;
}

} // namespace

int api_http_status(ErrorCode e) noexcept {
    switch (e) {
    case ErrorCode::None: return 200;
    case ErrorCode::Internal: return 500;
    case ErrorCode::Busy: return 503;
    case ErrorCode::TooLarge: return 413;
    case ErrorCode::UnknownOp: return 404;
    case ErrorCode::Unrecoverable: return 409;
    case ErrorCode::NotAvailable: return 409;
    default: return 400;
    }
}

void call_api(Shard& shard, std::string_view method, std::string_view body, ApiDone done) {
    Args a;
    if (!parse_args(body, a) || a.bad || !a.channels_ok) return done(ErrorCode::BadRequest, {});
    Hub& hub = shard.hub();
    const auto& cfg = hub.config();
    const ClientRef back{shard.index(), 0};

    if (method == "publish") {
        if (a.channel.empty() || !a.has_data) return done(ErrorCode::BadRequest, {});
        if (!namespace_of(shard, a.channel)) return done(ErrorCode::UnknownChannel, {});
        if (a.data.raw.size() > cfg.max_publication_size) return done(ErrorCode::TooLarge, {});
        std::string ch(a.channel);
        unsigned owner = hub.owner_of(ch);
        return shard.send(owner, msg::Publish{std::move(ch), std::string(a.data.raw), {}, back, 0, std::move(done)});
    }
    if (method == "broadcast") {
        if (a.channels.empty() || !a.has_data) return done(ErrorCode::BadRequest, {});
        if (a.data.raw.size() > cfg.max_publication_size) return done(ErrorCode::TooLarge, {});
        for (auto ch : a.channels)
            if (!namespace_of(shard, ch)) return done(ErrorCode::UnknownChannel, {});
        struct State {
            std::vector<std::string> answers;
            std::size_t left;
            ApiDone done;
        };
        auto st = std::make_shared<State>(State{std::vector<std::string>(a.channels.size()), a.channels.size(), std::move(done)});
        std::string data(a.data.raw);
        for (std::size_t i = 0; i < a.channels.size(); ++i) {
            std::string ch(a.channels[i]);
            unsigned owner = hub.owner_of(ch);
            auto each = [st, i](ErrorCode e, std::string r) {
                std::string& out = st->answers[i];
                if (e == ErrorCode::None) out = "{\"result\":" + r + "}";
                else append_error_object(out, e);
                if (--st->left == 0) {
                    std::string all = "{\"responses\":[";
                    for (std::size_t j = 0; j < st->answers.size(); ++j) all += (j ? "," : "") + st->answers[j];
                    all += "]}";
                    st->done(ErrorCode::None, std::move(all));
                }
            };
            shard.send(owner, msg::Publish{std::move(ch), data, {}, back, 0, std::move(each)});
        }
        return;
    }
    if (method == "history" || method == "presence" || method == "presence_stats") {
        if (a.channel.empty()) return done(ErrorCode::BadRequest, {});
        const NamespaceOptions* ns = namespace_of(shard, a.channel);
        if (!ns) return done(ErrorCode::UnknownChannel, {});
        msg::QueryKind kind = method == "history"    ? msg::QueryKind::History
                              : method == "presence" ? msg::QueryKind::Presence
                                                     : msg::QueryKind::PresenceStats;
        if (kind == msg::QueryKind::History && ns->history_size == 0) return done(ErrorCode::NotAvailable, {});
        if (kind != msg::QueryKind::History && !ns->presence) return done(ErrorCode::NotAvailable, {});
        std::string ch(a.channel);
        unsigned owner = hub.owner_of(ch);
        msg::Query q;
        q.kind = kind;
        q.channel = std::move(ch);
        q.reply = back;
        q.since = a.since;
        q.epoch = std::string(a.epoch);
        q.offset = a.offset;
        q.limit = a.has_limit ? std::min(a.limit, ns->history_size) : ns->history_size;
        q.reverse = a.reverse;
        q.api = std::move(done);
        return shard.send(owner, std::move(q));
    }
    if (method == "history_remove") {
        if (a.channel.empty()) return done(ErrorCode::BadRequest, {});
        if (!namespace_of(shard, a.channel)) return done(ErrorCode::UnknownChannel, {});
        std::string ch(a.channel);
        unsigned owner = hub.owner_of(ch);
        return shard.send(owner, msg::Task{[ch, back, done = std::move(done)](Shard& s) {
            s.drop_history(ch);
            s.send(back.loop, msg::Task{[done](Shard&) { done(ErrorCode::None, "{}"); }});
        }});
    }
    if (method == "disconnect" || method == "unsubscribe") {
        if (a.user.empty()) return done(ErrorCode::BadRequest, {});
        const bool disconnect = method == "disconnect";
        if (!disconnect && a.channel.empty()) return done(ErrorCode::BadRequest, {});
        std::uint16_t code = disconnect::kServerRequest;
        if (a.has_reconnect && !a.reconnect) code = disconnect::kServerRequestFinal;
        if (a.code) {
            if (a.code < 4000 || a.code > 4999) return done(ErrorCode::BadRequest, {});
            code = static_cast<std::uint16_t>(a.code);
        }
        std::string reason = a.reason.empty() ? "disconnected by the server" : a.reason.substr(0, 100);
        std::string user(a.user), channel(a.channel);
        return gather(
            shard,
            [=](Shard& s) {
                std::vector<Client*> hits;
                for (const auto& [id, c] : s.clients())
                    if (c->connected() && c->user() == user) hits.push_back(c);
                std::size_t n = 0;
                for (Client* c : hits) {
                    if (disconnect) {
                        c->kick(code, reason);
                        ++n;
                    } else if (c->unsubscribe_by_server(channel)) {
                        ++n;
                    }
                }
                return std::to_string(n);
            },
            [done, disconnect](std::vector<std::string>& parts) {
                std::uint64_t total = 0;
                for (auto& p : parts) total += std::stoull(p);
                done(ErrorCode::None, std::string(disconnect ? "{\"disconnected\":" : "{\"unsubscribed\":") +
                                          std::to_string(total) + "}");
            });
    }
    if (method == "channels") {
        std::string pattern(a.pattern);
        return gather(
            shard,
            [pattern](Shard& s) {
                std::string part;
                s.for_each_owned([&](const OwnedChannel& ch) {
                    std::uint64_t subs = 0;
                    for (const auto& t : ch.targets) subs += t.clients;
                    if (subs == 0 || !matches(pattern, ch.name)) return;
                    if (!part.empty()) part += ',';
                    part += "{\"channel\":\"" + ch.name + "\",\"subscribers\":" + std::to_string(subs) + "}";
                });
                return part;
            },
            [done](std::vector<std::string>& parts) {
                std::string all = "{\"channels\":[";
                bool first = true;
                for (auto& p : parts) {
                    if (p.empty()) continue;
                    if (!first) all += ',';
                    first = false;
                    all += p;
                }
                all += "]}";
                done(ErrorCode::None, std::move(all));
            });
    }
    if (method == "info") {
        return gather(
            shard,
            [](Shard& s) {
                std::string part;
                json::Writer w(part);
                w.begin_object()
                    .key("loop").number(std::uint64_t{s.index()})
                    .key("clients").number(std::uint64_t{s.clients().size()})
                    .key("channels").number(std::uint64_t{s.owned_channels()})
                    .key("publications").number(s.stats.publications.get())
                    .key("deliveries").number(s.stats.deliveries.get())
                    .end_object();
                return part;
            },
            [done, version = cfg.version](std::vector<std::string>& parts) {
                std::string all;
                json::Writer w(all);
                w.begin_object().key("version").string(version).key("loops").begin_array();
                for (auto& p : parts) w.raw(p);
                w.end_array().end_object();
                done(ErrorCode::None, std::move(all));
            });
    }
    if (Extension* ext = hub.extension(); ext && ext->on_api(shard, method, body, done)) return;
    done(ErrorCode::UnknownOp, {});
}

} // namespace switchboard::hub
