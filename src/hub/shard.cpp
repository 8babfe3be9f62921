#include "hub/shard.hpp"

#include "base/for_each_self_removing.hpp"
#include "engine/engine.hpp"
#include "hub/client.hpp"
#include "hub/hub.hpp"
#include "hub/protocol.hpp"
#include "net/loop.hpp"

#include <chrono>

namespace switchboard::hub {

namespace {
constexpr std::int64_t kIdleChannelMs = 60 * 1000; // an unsubscribed channel's state lingers this long
} // namespace

Shard::Shard(Hub& hub, unsigned index, ShardHost& host)
    : hub_(hub), index_(index), host_(host), rng_(std::random_device{}() ^ (std::uint64_t{index} << 32)) {}

Shard::~Shard() = default;

std::int64_t Shard::now_ms() const {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void Shard::send(unsigned to, Message&& m) {
    if (to != index_) return hub_.shard(to).enqueue(std::move(m));
    local_.push_back(std::move(m));
    if (!draining_) run_local();
}

void Shard::enqueue(Message&& m) {
    bool wake;
    {
        std::lock_guard lock(inbox_mutex_);
        wake = inbox_.empty();
        inbox_.push_back(std::move(m));
    }
    // One wake-up per batch: the first message of an empty inbox posts the drain.
    if (wake) host_.loop().post([this] { drain_inbox(); });
}

void Shard::drain_inbox() {
    {
        std::lock_guard lock(inbox_mutex_);
        inbox_running_.swap(inbox_);
    }
    for (auto& m : inbox_running_) local_.push_back(std::move(m));
    inbox_running_.clear();
    if (!draining_) run_local();
}

void Shard::run_local() {
    // Messages a handler sends to this shard wait until it returns: handlers never nest, so a
    // delivery loop never sees its channel freed under it, and FIFO order holds.
    draining_ = true;
    while (!local_.empty()) {
        Message m = std::move(local_.front());
        local_.pop_front();
        handle(m);
    }
    draining_ = false;
}

void Shard::handle(Message& m) {
    std::visit([this](auto& x) { on(x); }, m);
}

std::uint64_t Shard::add_client(Client* c) {
    std::uint64_t id = next_client_++;
    clients_.emplace(id, c);
    stats.clients.set(clients_.size());
    return id;
}

void Shard::remove_client(std::uint64_t id) noexcept {
    clients_.erase(id);
    stats.clients.set(clients_.size());
}

Client* Shard::client(std::uint64_t id) const noexcept {
    auto it = clients_.find(id);
    return it == clients_.end() ? nullptr : it->second;
}

std::string Shard::new_client_id() {
    static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::string id(16, '0');
    std::uint64_t a = rng_(), b = rng_();
    for (std::size_t i = 0; i < 8; ++i, a /= 62) id[i] = kAlphabet[a % 62];
    for (std::size_t i = 8; i < 16; ++i, b /= 62) id[i] = kAlphabet[b % 62];
    return id;
}

std::string Shard::new_epoch() {
    static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::string e(10, '0');
    std::uint64_t a = rng_();
    for (auto& c : e) {
        c = kAlphabet[a % 62];
        a /= 62;
    }
    return e;
}

LocalChannel* Shard::local_channel(const std::string& name, bool create) {
    auto it = locals_.find(name);
    if (it != locals_.end()) return it->second.get();
    if (!create) return nullptr;
    auto lc = std::make_unique<LocalChannel>();
    lc->name = name;
    lc->owner = hub_.owner_of(name);
    LocalChannel* p = lc.get();
    locals_.emplace(name, std::move(lc));
    return p;
}

void Shard::maybe_free(LocalChannel* lc) {
    if (lc->owner_refs == 0 && lc->active.empty() && lc->active_binary.empty()) locals_.erase(lc->name);
}

OwnedChannel* Shard::owned(const std::string& name, bool create) {
    auto it = owned_.find(name);
    if (it != owned_.end()) return it->second.get();
    if (!create) return nullptr;
    const NamespaceOptions* ns = hub_.config().namespaces.of_channel(name);
    if (!ns) return nullptr;
    auto ch = std::make_unique<OwnedChannel>();
    ch->name = name;
    ch->ns = ns;
    // Durable channels keep a window in memory and read older history from the store, so
    // memory does not grow with history_size x channels.
    const std::uint32_t in_memory = ns->durable ? std::min(ns->history_size, kDurableMemoryWindow) : ns->history_size;
    ch->history.configure(in_memory, std::int64_t{ns->history_ttl} * 1000);
    ch->idle_since_ms = now_ms();
    if (ns->durable) {
        engine::Engine* store = hub_.store();
        if (!store) return nullptr;
        auto loaded = store->try_load(name, in_memory);
        if (!loaded) return nullptr; // the caller answers "internal error"; a later call retries
        auto& h = loaded.value();
        if (h) {
            ch->epoch = std::move(h->epoch);
            ch->top = ch->assigned = h->top_offset;
            for (auto& p : h->recent) {
                std::string json;
                append_publication(json, p.offset, p.time_ms, p.data, p.info);
                ch->history.append(p.offset, p.time_ms, std::move(json));
            }
            ch->history.expire(now_ms());
        }
    }
    if (ch->epoch.empty()) ch->epoch = new_epoch();
    OwnedChannel* p = ch.get();
    owned_.emplace(name, std::move(ch));
    stats.channels.set(owned_.size());
    return p;
}

void Shard::fan_out(OwnedChannel& ch, std::string_view text, std::string_view binary) {
    if (ch.targets.empty()) return;
    // Framed once; every loop with subscribers gets the same immutable bytes.
    ws::FramedMessage frame = ws::frame_message(
        ws::Opcode::Text, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, nullptr, 0);
    ws::FramedMessage bin;
    if (!binary.empty())
        bin = ws::frame_message(ws::Opcode::Binary, {reinterpret_cast<const std::uint8_t*>(binary.data()), binary.size()},
                                nullptr, 0);
    for (const Target& t : ch.targets) send(t.loop, msg::Deliver{t.lc, frame, bin});
}

void Shard::reply(const ClientRef& to, std::uint32_t cmd, const ApiDone& api, ErrorCode e, std::string result) {
    if (api) {
        send(to.loop, msg::Task{[api, e, r = std::move(result)](Shard&) mutable { api(e, std::move(r)); }});
        return;
    }
    if (to.id == 0) return;
    send(to.loop, msg::Reply{to.id, cmd, e, std::move(result)});
}

void Shard::on(msg::Deliver& m) {
    LocalChannel* lc = m.lc;
    auto pass = [this](std::vector<Client*>& list, const ws::FramedMessage& f) {
        if (list.empty()) return;
        host_.begin_fanout(f);
        stats.deliveries.add(list.size());
        // A delivery may close a slow consumer, which then leaves the list.
        for_each_self_removing(list, [&f](Client* c) { c->deliver(f); });
        host_.end_fanout();
    };
    pass(lc->active, m.frame);
    // Join/leave pushes have no binary form: those clients get the text frame.
    pass(lc->active_binary, m.binary.plain ? m.binary : m.frame);
}

void Shard::on(msg::Subscribe& m) {
    OwnedChannel* ch = owned(m.channel, true);
    // Registered even on failure: every Subscribe is balanced by exactly one Unsubscribe.
    if (!ch) {
        send(m.client.loop, msg::SubscribeDone{m.lc, m.client.id, m.cmd, ErrorCode::Internal, {}});
        return;
    }
    Target* t = ch->target(m.client.loop);
    if (!t) {
        ch->targets.push_back(Target{m.client.loop, m.lc, 0});
        t = &ch->targets.back();
    }
    ++t->clients;
    if (m.binary) ++t->binary_clients;
    ch->history.expire(now_ms());
    std::string result;
    if (!durable_subscribe_result(*ch, m, result)) ch->subscribe_result(result, m.recover, m.epoch, m.offset, m.history);
    send(m.client.loop, msg::SubscribeDone{m.lc, m.client.id, m.cmd, ErrorCode::None, std::move(result)});
    if (ch->ns->presence) {
        bool joined = ch->presence.emplace(m.client_id, m.client_info).second;
        if (joined && ch->ns->join_leave) {
            scratch_.clear();
            append_presence_push(scratch_, true, ch->name, m.client_info);
            fan_out(*ch, scratch_);
        }
    }
}

void Shard::on(msg::SubscribeDone& m) {
    Client* c = client(m.client);
    if (c) c->on_subscribed(m);
    // A gone client sent its Unsubscribe when it closed; nothing else to do.
}

void Shard::on(msg::Unsubscribe& m) {
    OwnedChannel* ch = owned(m.channel, false);
    if (!ch) {
        // The owner never had it (its Subscribe failed before registering): release anyway.
        send(m.loop, msg::Release{m.lc});
        return;
    }
    for (std::size_t i = 0; i < ch->targets.size(); ++i) {
        Target& t = ch->targets[i];
        if (t.lc != m.lc) continue;
        if (m.binary && t.binary_clients) --t.binary_clients;
        if (--t.clients == 0) {
            ch->targets.erase(ch->targets.begin() + static_cast<std::ptrdiff_t>(i));
            send(m.loop, msg::Release{m.lc});
        }
        break;
    }
    if (ch->ns->presence) {
        auto it = ch->presence.find(m.client_id);
        if (it != ch->presence.end()) {
            std::string info = std::move(it->second);
            ch->presence.erase(it);
            if (ch->ns->join_leave) {
                scratch_.clear();
                append_presence_push(scratch_, false, ch->name, info);
                fan_out(*ch, scratch_);
            }
        }
    }
    if (ch->targets.empty()) ch->idle_since_ms = now_ms();
}

void Shard::on(msg::Release& m) {
    // The owner dropped this loop; free the local channel unless it is in use again (a
    // Subscribe sent after our Unsubscribe made the owner add it back).
    maybe_free(m.lc);
}

void Shard::commit(OwnedChannel& ch, std::uint64_t offset, std::int64_t time_ms, std::string pub_json) {
    ch.top = offset;
    if (ch.assigned < offset) ch.assigned = offset;
    stats.publications.add();
    scratch_.clear();
    append_pub_push(scratch_, ch.name, pub_json);
    scratch_binary_.clear();
    if (ch.wants_binary()) append_binary_pub(scratch_binary_, ch.name, pub_json);
    ch.history.append(offset, time_ms, std::move(pub_json));
    fan_out(ch, scratch_, scratch_binary_);
}

void Shard::on(msg::Publish& m) {
    OwnedChannel* ch = owned(m.channel, true);
    if (!ch) return reply(m.reply, m.cmd, m.api, ErrorCode::Internal, {});
    const std::int64_t t = now_ms();
    std::string pub;
    if (!ch->ns->durable) {
        std::uint64_t offset = ch->top + 1;
        append_publication(pub, offset, t, m.data, m.from);
        commit(*ch, offset, t, std::move(pub));
        std::string result;
        ch->append_position(result); // the top is this publication now
        result += '}';
        return reply(m.reply, m.cmd, m.api, ErrorCode::None, std::move(result));
    }
    publish_durable(*ch, m, t);
}

void Shard::on(msg::Query& m) {
    OwnedChannel* ch = owned(m.channel, true);
    if (!ch) return reply(m.reply, m.cmd, m.api, ErrorCode::Internal, {});
    std::string result;
    switch (m.kind) {
    case msg::QueryKind::History: {
        ch->history.expire(now_ms());
        int stored = durable_history_result(*ch, m, result);
        if (stored < 0 || (stored == 0 && !ch->history_result(result, m.since, m.epoch, m.offset, m.limit, m.reverse)))
            return reply(m.reply, m.cmd, m.api, ErrorCode::Unrecoverable, {});
        break;
    }
    case msg::QueryKind::Presence: ch->presence_result(result); break;
    case msg::QueryKind::PresenceStats: ch->presence_stats(result); break;
    }
    reply(m.reply, m.cmd, m.api, ErrorCode::None, std::move(result));
}

void Shard::on(msg::Reply& m) {
    if (Client* c = client(m.client)) c->on_reply(m);
}

void Shard::on(msg::Task& m) { m.fn(*this); }

void Shard::drop_history(const std::string& channel) {
    if (OwnedChannel* ch = owned(channel, false)) {
        if (ch->ns->durable && hub_.store()) hub_.store()->remove_channel(channel);
        ch->history.clear();
        ch->epoch = new_epoch(); // recovering clients must learn the history is gone
        ch->top = ch->assigned = 0;
    }
}

void Shard::on_tick() {
    const std::int64_t now = now_ms();
    for (auto it = owned_.begin(); it != owned_.end();) {
        OwnedChannel& ch = *it->second;
        ch.history.expire(now);
        if (ch.poisoned && ch.in_flight == 0) settle_after_failure(ch);
        // A channel nobody uses is forgotten after a while: durable ones reload from the
        // store; memory ones only once their history is gone (else recovery would break).
        bool unused = ch.targets.empty() && ch.in_flight == 0 && now - ch.idle_since_ms >= kIdleChannelMs;
        if (unused && (ch.ns->durable || ch.history.empty())) it = owned_.erase(it);
        else ++it;
    }
    stats.channels.set(owned_.size());
}

} // namespace switchboard::hub
