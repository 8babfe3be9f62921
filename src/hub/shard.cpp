#include "hub/shard.hpp"

#include "base/for_each_self_removing.hpp"
#include "engine/engine.hpp"
#include "hub/channel_name.hpp"
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
    if (lc->owner_refs == 0 && lc->active.empty()) locals_.erase(lc->name);
}

OwnedChannel* Shard::owned(const std::string& name, bool create) {
    auto it = owned_.find(name);
    if (it != owned_.end()) return it->second.get();
    if (!create) return nullptr;
    ChannelName cn;
    if (!parse_channel(name, cn)) return nullptr;
    const NamespaceOptions* ns = hub_.config().namespaces.find(cn.ns);
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

void Shard::fan_out(OwnedChannel& ch, std::string_view text) {
    if (ch.targets.empty()) return;
    // Framed once; every loop with subscribers gets the same immutable bytes.
    ws::FramedMessage frame = ws::frame_message(
        ws::Opcode::Text, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, nullptr, 0);
    for (const Target& t : ch.targets) send(t.loop, msg::Deliver{t.lc, frame});
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
    if (lc->active.empty()) return;
    host_.begin_fanout(m.frame);
    stats.deliveries.add(lc->active.size());
    // A delivery may close a slow consumer, which then leaves the list.
    for_each_self_removing(lc->active, [&m](Client* c) { c->deliver(m.frame); });
    host_.end_fanout();
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
    ch.history.append(offset, time_ms, std::move(pub_json));
    fan_out(ch, scratch_);
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
        std::string result = "{\"epoch\":\"" + ch->epoch + "\",\"offset\":" + std::to_string(offset) + "}";
        return reply(m.reply, m.cmd, m.api, ErrorCode::None, std::move(result));
    }
    // Durable: the offset is taken now, but subscribers and the publisher hear of it only after
    // the commit, so nobody ever sees a publication a crash could take back.
    engine::Engine* store = hub_.store();
    if (ch->poisoned) return reply(m.reply, m.cmd, m.api, ErrorCode::Busy, {});
    std::uint64_t offset = ch->assigned + 1;
    std::uint64_t ticket = (std::uint64_t{index_} << kTicketShardShift) | next_ticket_++;
    engine::AppendRequest req;
    req.channel = ch->name;
    req.epoch = ch->epoch;
    req.pub.offset = offset;
    req.pub.time_ms = t;
    req.pub.data = m.data;
    req.pub.info = m.from;
    req.ticket = ticket;
    req.history_size = ch->ns->history_size;
    req.history_ttl_ms = std::int64_t{ch->ns->history_ttl} * 1000;
    if (!store || !store->try_append(std::move(req))) return reply(m.reply, m.cmd, m.api, ErrorCode::Busy, {});
    ch->assigned = offset;
    ++ch->in_flight;
    append_publication(pub, offset, t, m.data, m.from);
    pending_.push_back(Pending{ticket, ch, offset, t, std::move(pub), m.reply, m.cmd, std::move(m.api)});
}

void Shard::on_committed(const std::vector<std::uint64_t>& tickets, bool ok) {
    for (std::uint64_t ticket : tickets) {
        // Committed tickets come in append order; rejected ones may follow the committed ones
        // of their transaction, so look the ticket up rather than assume it is the oldest.
        auto it = pending_.begin();
        while (it != pending_.end() && it->ticket != ticket) ++it;
        if (it == pending_.end()) continue;
        Pending p = std::move(*it);
        pending_.erase(it);
        OwnedChannel& ch = *p.ch;
        --ch.in_flight;
        if (ok) {
            std::string result = "{\"epoch\":\"" + ch.epoch + "\",\"offset\":" + std::to_string(p.offset) + "}";
            commit(ch, p.offset, p.time_ms, std::move(p.pub_json));
            reply(p.reply, p.cmd, p.api, ErrorCode::None, std::move(result));
        } else {
            // Not durable. The store refuses any later offset of this channel (it never fills a
            // gap), so take no new publications until every one in flight is settled, then
            // continue from the last committed offset.
            ch.poisoned = true;
            stats.commit_failures.add();
            reply(p.reply, p.cmd, p.api, ErrorCode::Internal, {});
        }
        if (ch.poisoned && ch.in_flight == 0) settle_after_failure(ch);
    }
}

void Shard::settle_after_failure(OwnedChannel& ch) {
    // Continue from what the store holds: a failed fsync may still have left rows on disk, and
    // the store refuses any offset but its own top + 1. Subscribers that missed such rows see
    // the next offset jump and recover them from history.
    auto stored = hub_.store()->try_load(ch.name, 0);
    if (!stored) return; // still failing: stay poisoned; on_tick retries
    std::uint64_t top = stored.value() ? stored.value()->top_offset : 0;
    if (top > ch.top) {
        ch.top = top;
        ch.history.clear();
    }
    ch.assigned = ch.top;
    ch.poisoned = false;
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

bool Shard::read_stored(const OwnedChannel& ch, std::uint64_t after, std::uint64_t count, std::string& items,
                        std::uint64_t& got, bool reverse) {
    got = 0;
    auto rows = hub_.store()->try_read_after(ch.name, after, static_cast<std::size_t>(count));
    if (!rows) return false;
    std::size_t n = 0;
    // Rows past the top are committed but not yet announced here: not visible yet.
    while (n < rows->size() && (*rows)[n].offset <= ch.top && (*rows)[n].offset == after + 1 + n) ++n;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& p = (*rows)[reverse ? n - 1 - i : i];
        if (i) items += ',';
        append_publication(items, p.offset, p.time_ms, p.data, p.info);
    }
    got = n;
    return true;
}

bool Shard::durable_subscribe_result(const OwnedChannel& ch, const msg::Subscribe& m, std::string& out) {
    // Durable channels keep only a window of their history in memory; positions and history
    // requests beyond it are served from the store (never a partial replay).
    if (!ch.ns->durable || !hub_.store()) return false;
    const std::uint64_t window = ch.history.last_offset() == ch.top ? ch.history.size() : 0;
    std::string items;
    std::uint64_t got = 0;
    auto head = [&](bool recovered_field, bool recovered) {
        out = "{\"epoch\":\"" + ch.epoch + "\",\"offset\":" + std::to_string(ch.top) + ",\"recoverable\":true";
        if (recovered_field) out += recovered ? ",\"recovered\":true" : ",\"recovered\":false";
        out += ",\"publications\":[" + items + "]}";
    };
    if (m.recover) {
        if (ch.recoverable_from(m.epoch, m.offset)) return false; // memory has it
        const std::uint64_t missed = ch.top - m.offset;
        if (m.epoch == ch.epoch && m.offset < ch.top && missed <= ch.ns->history_size &&
            read_stored(ch, m.offset, missed, items, got) && got == missed) {
            head(true, true);
            return true;
        }
        items.clear();
        if (m.history <= window) return false; // unrecoverable; memory has the newest N
        std::uint64_t n = std::min<std::uint64_t>(m.history, ch.top);
        if (!read_stored(ch, ch.top - n, n, items, got)) items.clear();
        head(true, false);
        return true;
    }
    if (m.history <= window) return false;
    std::uint64_t n = std::min<std::uint64_t>(m.history, ch.top);
    if (!read_stored(ch, ch.top - n, n, items, got)) items.clear();
    head(false, false);
    return true;
}

int Shard::durable_history_result(const OwnedChannel& ch, const msg::Query& m, std::string& out) {
    if (!ch.ns->durable || !hub_.store()) return 0;
    const std::uint64_t window = ch.history.last_offset() == ch.top ? ch.history.size() : 0;
    std::uint64_t after = 0, count = 0;
    if (m.since) {
        if (ch.recoverable_from(m.epoch, m.offset)) return 0;
        if (m.epoch != ch.epoch || m.offset > ch.top) return -1;
        after = m.offset;
        count = std::min<std::uint64_t>(m.limit, ch.top - m.offset);
    } else {
        if (m.limit <= window) return 0;
        count = std::min<std::uint64_t>(m.limit, ch.top);
        after = ch.top - count;
    }
    std::string items;
    std::uint64_t got = 0;
    if (!read_stored(ch, after, count, items, got, m.reverse && !m.since)) return -1;
    if (m.since && count > 0 && got == 0) return -1; // trimmed: the position is gone
    out = "{\"epoch\":\"" + ch.epoch + "\",\"offset\":" + std::to_string(ch.top) + ",\"publications\":[" + items + "]}";
    return 1;
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
