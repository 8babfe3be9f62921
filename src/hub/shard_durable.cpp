// Shard, durable namespaces: appends through the engine, commits, and history beyond the
// memory window.
#include "engine/engine.hpp"
#include "hub/hub.hpp"
#include "hub/protocol.hpp"
#include "hub/shard.hpp"

namespace switchboard::hub {

// The offset is taken now, but subscribers and the publisher hear of it only after the commit,
// so nobody ever sees a publication a crash could take back.
void Shard::publish_durable(OwnedChannel& ch, msg::Publish& m, std::int64_t t) {
    engine::Engine* store = hub_.store();
    if (ch.poisoned) return reply(m.reply, m.cmd, m.api, ErrorCode::Busy, {});
    std::uint64_t offset = ch.assigned + 1;
    std::uint64_t ticket = (std::uint64_t{index_} << kTicketShardShift) | next_ticket_++;
    engine::AppendRequest req;
    req.channel = ch.name;
    req.epoch = ch.epoch;
    req.pub.offset = offset;
    req.pub.time_ms = t;
    req.pub.data = m.data;
    req.pub.info = m.from;
    req.ticket = ticket;
    req.history_size = ch.ns->history_size;
    req.history_ttl_ms = std::int64_t{ch.ns->history_ttl} * 1000;
    if (!store || !store->try_append(std::move(req))) return reply(m.reply, m.cmd, m.api, ErrorCode::Busy, {});
    ch.assigned = offset;
    ++ch.in_flight;
    std::string pub;
    append_publication(pub, offset, t, m.data, m.from);
    pending_.push_back(Pending{ticket, &ch, offset, t, std::move(pub), m.reply, m.cmd, std::move(m.api)});
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
            commit(ch, p.offset, p.time_ms, std::move(p.pub_json));
            std::string result;
            ch.append_position(result); // the top is this publication now
            result += '}';
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
        out.clear();
        ch.append_position(out);
        out += ",\"recoverable\":true";
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
    out.clear();
    ch.append_position(out);
    out += ",\"publications\":[" + items + "]}";
    return 1;
}

} // namespace switchboard::hub
