#include "hub/client.hpp"

#include "auth/jwt.hpp"
#include "hub/channel_name.hpp"
#include "hub/extension.hpp"
#include "hub/hub.hpp"
#include "hub/shard.hpp"
#include "json/writer.hpp"

#include <algorithm>

namespace switchboard::hub {

namespace {
constexpr std::size_t kMaxName = 64;
std::int64_t unix_seconds(std::int64_t ms) { return ms / 1000; }
} // namespace

Client::Client(Shard& shard, ClientIo& io, std::string ip)
    : shard_(shard), io_(io), ip_(std::move(ip)), created_ms_(shard.now_ms()) {
    id_ = shard_.add_client(this);
    client_id_ = shard_.new_client_id();
    refilled_ms_ = created_ms_;
    publish_tokens_ = 2.0 * shard_.hub().config().publish_rate;
}

Client::~Client() { on_closed(); }

void Client::on_closed() {
    if (closed_) return;
    if (connected_)
        if (Extension* ext = shard_.hub().extension()) ext->on_closed(*this);
    closed_ = true;
    while (!subs_.empty()) leave(subs_.begin());
    shard_.remove_client(id_);
    if (counted_) shard_.hub().release(user_, ip_);
    counted_ = false;
}

void Client::on_tick() {
    if (closed_) return;
    const std::int64_t now = shard_.now_ms();
    const auto& cfg = shard_.hub().config();
    if (!connected_ && now - created_ms_ >= std::int64_t{cfg.connect_timeout} * 1000)
        return io_.disconnect(disconnect::kNoConnect, "no connect command in time");
    if (connected_ && expires_ && unix_seconds(now) >= expires_)
        return io_.disconnect(disconnect::kTokenExpired, "connection token expired");
}

void Client::reply_ok(std::uint32_t id, std::string_view result) {
    if (!out_.empty()) out_ += '\n';
    append_result(out_, id, result);
    if (!in_frame_) flush();
}

void Client::reply_error(std::uint32_t id, ErrorCode e, std::string_view reason) {
    if (!out_.empty()) out_ += '\n';
    append_error(out_, id, e, reason);
    if (!in_frame_) flush();
}

void Client::send_push(std::string_view json) {
    if (closed_) return;
    if (!out_.empty()) out_ += '\n';
    out_ += json;
    if (!in_frame_) flush();
}

ClientRef Client::ref() const noexcept { return ClientRef{shard_.index(), id_}; }

void Client::grant_channel(const std::string& channel) {
    if (std::find(token_channels_.begin(), token_channels_.end(), channel) == token_channels_.end())
        token_channels_.push_back(channel);
    granted_.push_back(channel);
}

void Client::revoke_channel(const std::string& channel) {
    auto g = std::find(granted_.begin(), granted_.end(), channel);
    if (g == granted_.end()) return;
    granted_.erase(g);
    if (std::find(granted_.begin(), granted_.end(), channel) != granted_.end()) return;
    std::erase(token_channels_, channel);
    if (auto it = subs_.find(channel); it != subs_.end()) {
        leave(it);
        std::string push;
        append_unsubscribe_push(push, channel, 2000, "left the room", false);
        send_push(push);
    }
}

void Client::flush() {
    if (out_.empty() || closed_) return;
    io_.send_text(out_);
    out_.clear();
    if (out_.capacity() > 64 * 1024) out_.shrink_to_fit();
}

void Client::sent_to_owner() {
    if (++in_flight_ >= kMaxInFlight && !input_paused_) {
        input_paused_ = true;
        io_.pause_input(true);
    }
}

void Client::answered() {
    if (in_flight_) --in_flight_;
    if (input_paused_ && in_flight_ <= kMaxInFlight / 2 && !closed_) {
        input_paused_ = false;
        io_.pause_input(false);
    }
}

void Client::on_text(std::string_view frame) {
    if (closed_) return;
    in_frame_ = true;
    bool bad = false;
    std::uint32_t commands = 0;
    for_each_line(frame, [&](std::string_view line) {
        if (bad || closed_) return;
        if (++commands > kMaxCommandsPerFrame) {
            bad = true;
            return;
        }
        json::Value v;
        if (json::parse(line, v) != json::Error::None) {
            bad = true;
            return;
        }
        Command c;
        switch (decode_command(v, c)) {
        case DecodeError::None: handle(c); break;
        case DecodeError::BadField: reply_error(c.id, ErrorCode::BadRequest); break;
        case DecodeError::NotObject:
        case DecodeError::NoId: bad = true; break;
        }
    });
    in_frame_ = false;
    flush();
    if (bad && !closed_)
        io_.disconnect(disconnect::kBadRequest, commands > kMaxCommandsPerFrame
                                                    ? "bad request: too many commands in one frame"
                                                    : "bad request: each line must be a JSON object with an id");
}

void Client::handle(const Command& c) {
    if (c.op == Op::Connect) return connect(c);
    if (!connected_) return reply_error(c.id, c.op == Op::Unknown ? ErrorCode::UnknownOp : ErrorCode::Unauthorized);
    switch (c.op) {
    case Op::Subscribe: return subscribe(c);
    case Op::Unsubscribe: return unsubscribe(c);
    case Op::Publish: return publish(c);
    case Op::History: return query(c, msg::QueryKind::History);
    case Op::Presence: return query(c, msg::QueryKind::Presence);
    case Op::PresenceStats: return query(c, msg::QueryKind::PresenceStats);
    case Op::Ping: return reply_ok(c.id, "{}");
    case Op::Refresh: return refresh(c);
    case Op::Connect: break;
    case Op::Unknown:
        if (Extension* ext = shard_.hub().extension(); ext && ext->on_command(*this, c)) return;
        break;
    }
    reply_error(c.id, ErrorCode::UnknownOp);
}

void Client::connect(const Command& c) {
    if (connected_) return reply_error(c.id, ErrorCode::AlreadyConnected);
    Hub& hub = shard_.hub();
    const auto& cfg = hub.config();
    std::string name;
    if (c.name.kind == json::Kind::String && (!json::get_string(c.name, name) || name.size() > kMaxName))
        return reply_error(c.id, ErrorCode::BadRequest);
    if (!c.token.empty()) {
        auto claims = hub.verifier().verify(c.token, unix_seconds(shard_.now_ms()));
        if (!claims) {
            reply_error(c.id, token_error_code(claims.error()));
            flush();
            return io_.disconnect(claims.error() == auth::TokenError::Expired ? disconnect::kTokenExpired
                                                                              : disconnect::kInvalidToken,
                                  auth::token_error_text(claims.error()));
        }
        user_ = std::move(claims->sub);
        info_ = std::move(claims->info);
        token_channels_ = std::move(claims->channels);
        expires_ = claims->exp;
    } else if (!cfg.allow_anonymous) {
        reply_error(c.id, ErrorCode::Unauthorized);
        flush();
        return io_.disconnect(disconnect::kInvalidToken, "a connection token is required");
    }
    if (user_.empty() && !name.empty()) {
        info_.clear();
        json::Writer w(info_);
        w.begin_object().key("name").string(name).end_object();
    }
    if (!hub.acquire(user_, ip_)) {
        reply_error(c.id, ErrorCode::LimitExceeded);
        flush();
        return io_.disconnect(disconnect::kTooManyConnections, "too many connections for this user or address");
    }
    counted_ = true;
    connected_ = true;
    binary_pubs_ = c.binary_pubs;
    append_client_info(client_info_, user_, client_id_, info_);
    std::string r;
    json::Writer w(r);
    w.begin_object()
        .key("client").string(client_id_)
        .key("user").string(user_)
        .key("expires").number(expires_)
        .key("ping").number(std::uint64_t{cfg.client_ping})
        .key("version").string(cfg.version);
    append_ice_servers(w);
    w.end_object();
    reply_ok(c.id, r);
}

void Client::append_ice_servers(json::Writer& w) {
    const auto& cfg = shard_.hub().config();
    if (!cfg.ice_servers) return;
    std::string ice = cfg.ice_servers(user_.empty() ? std::string_view(client_id_) : std::string_view(user_), expires_,
                                      unix_seconds(shard_.now_ms()));
    if (!ice.empty()) w.key("ice_servers").raw(ice);
}

void Client::refresh(const Command& c) {
    if (c.token.empty()) return reply_error(c.id, ErrorCode::BadRequest);
    auto claims = shard_.hub().verifier().verify(c.token, unix_seconds(shard_.now_ms()));
    if (!claims)
        return reply_error(c.id, token_error_code(claims.error()));
    if (claims->sub != user_) return reply_error(c.id, ErrorCode::PermissionDenied);
    expires_ = claims->exp;
    token_channels_ = std::move(claims->channels);
    for (const auto& g : granted_) token_channels_.push_back(g);
    // New TURN credentials too: the old ones die with the old token.
    std::string r;
    json::Writer w(r);
    w.begin_object().key("expires").number(expires_);
    append_ice_servers(w);
    w.end_object();
    reply_ok(c.id, r);
}

ErrorCode Client::check(std::string_view channel, bool for_publish, std::string_view sub_token,
                        const NamespaceOptions** out_ns) {
    ChannelName cn;
    if (!parse_channel(channel, cn)) return ErrorCode::UnknownChannel;
    const NamespaceOptions* ns = shard_.hub().config().namespaces.find(cn.ns);
    if (!ns) return ErrorCode::UnknownChannel;
    *out_ns = ns;
    if (user_.empty() && !ns->anonymous) return ErrorCode::PermissionDenied;
    if (for_publish && !ns->publish) return ErrorCode::PermissionDenied;
    if (cn.personal) return personal_allows(cn.users, user_) ? ErrorCode::None : ErrorCode::PermissionDenied;
    if (!ns->subscribe_token) return ErrorCode::None;
    if (std::find(token_channels_.begin(), token_channels_.end(), channel) != token_channels_.end())
        return ErrorCode::None;
    // Publishing where subscribing needs a token needs what subscribing needed: a subscription
    // that passed the check, or the channels claim (a room's chat is for its members).
    if (for_publish) return subs_.count(std::string(channel)) ? ErrorCode::None : ErrorCode::PermissionDenied;
    if (sub_token.empty()) return ErrorCode::PermissionDenied;
    auto claims = shard_.hub().verifier().verify(sub_token, unix_seconds(shard_.now_ms()));
    if (!claims) return token_error_code(claims.error());
    if (claims->sub != user_ || claims->channel != channel) return ErrorCode::PermissionDenied;
    return ErrorCode::None;
}

void Client::subscribe(const Command& c) {
    if (c.channel.empty()) return reply_error(c.id, ErrorCode::BadRequest);
    const NamespaceOptions* ns = nullptr;
    if (ErrorCode e = check(c.channel, false, c.token, &ns); e != ErrorCode::None) return reply_error(c.id, e);
    std::string name(c.channel);
    if (subs_.count(name)) return reply_error(c.id, ErrorCode::AlreadySubscribed);
    if (subs_.size() >= shard_.hub().config().max_channels_per_connection)
        return reply_error(c.id, ErrorCode::LimitExceeded);
    LocalChannel* lc = shard_.local_channel(name, true);
    ++lc->owner_refs;
    subs_.emplace(name, Sub{lc, 0, c.id, false});
    msg::Subscribe m{name, lc, ClientRef{shard_.index(), id_}, c.id, client_id_, client_info_, c.has_recover,
                     std::string(c.epoch), c.offset, std::min(c.history, ns->history_size), binary_pubs_};
    sent_to_owner();
    shard_.send(lc->owner, std::move(m));
}

void Client::on_subscribed(msg::SubscribeDone& m) {
    answered();
    auto it = subs_.find(m.lc->name);
    if (it == subs_.end() || it->second.active || it->second.cmd != m.cmd || it->second.lc != m.lc) {
        // Unsubscribed before the owner answered; the Unsubscribe already balanced it.
        return reply_error(m.cmd, ErrorCode::NotSubscribed);
    }
    if (m.error != ErrorCode::None) {
        leave(it);
        return reply_error(m.cmd, m.error);
    }
    Sub& s = it->second;
    s.active = true;
    auto& list = active_list(m.lc);
    s.index = static_cast<std::uint32_t>(list.size());
    list.push_back(this);
    reply_ok(m.cmd, m.result);
    // Out now, not with the rest of the frame's replies: publications for this channel may be
    // delivered before the frame is done, and they must follow the reply's position.
    flush();
}

std::vector<Client*>& Client::active_list(LocalChannel* lc) const noexcept {
    return binary_pubs_ ? lc->active_binary : lc->active;
}

void Client::leave(Subs::iterator it) {
    Sub& s = it->second;
    LocalChannel* lc = s.lc;
    if (s.active) {
        // Swap-remove, keeping the moved client's index right.
        auto& list = active_list(lc);
        Client* last = list.back();
        list[s.index] = last;
        list.pop_back();
        if (last != this) last->subs_.find(lc->name)->second.index = s.index;
    }
    --lc->owner_refs;
    shard_.send(lc->owner, msg::Unsubscribe{it->first, lc, shard_.index(), client_id_, binary_pubs_});
    subs_.erase(it);
}

void Client::unsubscribe(const Command& c) {
    auto it = subs_.find(std::string(c.channel));
    if (it == subs_.end()) return reply_error(c.id, ErrorCode::NotSubscribed);
    leave(it);
    reply_ok(c.id, "{}");
}

bool Client::unsubscribe_by_server(const std::string& channel) {
    auto it = subs_.find(channel);
    if (it == subs_.end()) return false;
    leave(it);
    std::string push;
    append_unsubscribe_push(push, channel, 2000, "unsubscribed by the server", false);
    io_.send_text(push);
    return true;
}

bool Client::take_publish_token() {
    const std::uint32_t rate = shard_.hub().config().publish_rate;
    if (rate == 0) return true;
    const std::int64_t now = shard_.now_ms();
    publish_tokens_ = std::min(2.0 * rate, publish_tokens_ + static_cast<double>(now - refilled_ms_) * rate / 1000.0);
    refilled_ms_ = now;
    if (publish_tokens_ < 1.0) return false;
    publish_tokens_ -= 1.0;
    return true;
}

void Client::publish(const Command& c) {
    if (c.channel.empty() || !c.has_data) return reply_error(c.id, ErrorCode::BadRequest);
    const NamespaceOptions* ns = nullptr;
    if (ErrorCode e = check(c.channel, true, {}, &ns); e != ErrorCode::None) return reply_error(c.id, e);
    if (c.data.raw.size() > shard_.hub().config().max_publication_size) return reply_error(c.id, ErrorCode::TooLarge);
    if (!take_publish_token()) return reply_error(c.id, ErrorCode::TooManyRequests);
    std::string channel(c.channel);
    unsigned owner = shard_.hub().owner_of(channel);
    sent_to_owner();
    shard_.send(owner, msg::Publish{std::move(channel), std::string(c.data.raw), client_info_,
                                    ClientRef{shard_.index(), id_}, c.id, {}});
}

void Client::query(const Command& c, msg::QueryKind kind) {
    if (c.channel.empty()) return reply_error(c.id, ErrorCode::BadRequest);
    const NamespaceOptions* ns = nullptr;
    std::string channel(c.channel);
    // Reading a channel needs what subscribing needs; a subscribed client already passed that.
    if (!subs_.count(channel))
        if (ErrorCode e = check(c.channel, false, c.token, &ns); e != ErrorCode::None) return reply_error(c.id, e);
    if (!ns) ns = shard_.hub().config().namespaces.of_channel(channel);
    if (kind == msg::QueryKind::History && ns->history_size == 0) return reply_error(c.id, ErrorCode::NotAvailable);
    if (kind != msg::QueryKind::History && !ns->presence) return reply_error(c.id, ErrorCode::NotAvailable);
    msg::Query q;
    q.kind = kind;
    q.channel = channel;
    q.reply = ClientRef{shard_.index(), id_};
    q.cmd = c.id;
    q.since = c.has_recover;
    q.epoch = std::string(c.epoch);
    q.offset = c.offset;
    q.limit = c.has_limit ? std::min(c.limit, ns->history_size) : ns->history_size;
    q.reverse = c.reverse;
    unsigned owner = shard_.hub().owner_of(channel);
    sent_to_owner();
    shard_.send(owner, std::move(q));
}

void Client::on_reply(msg::Reply& m) {
    answered();
    if (m.error != ErrorCode::None) return reply_error(m.cmd, m.error);
    reply_ok(m.cmd, m.result);
}

} // namespace switchboard::hub
