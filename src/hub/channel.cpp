#include "hub/channel.hpp"

#include "json/writer.hpp"

#include <algorithm>
#include <unordered_set>

namespace switchboard::hub {

void OwnedChannel::append_position(std::string& out) const {
    out += "{\"epoch\":\"";
    out += epoch; // generated from [A-Za-z0-9]
    out += "\",\"offset\":";
    out += std::to_string(top);
}

namespace {
// Publications [from, to) of the history window, oldest first (or newest first).
void append_range(std::string& out, const engine::MemoryHistory& h, std::size_t from, std::size_t to, bool reverse) {
    out += ",\"publications\":[";
    for (std::size_t n = 0; n < to - from; ++n) {
        if (n) out += ',';
        out += h[reverse ? to - 1 - n : from + n].json;
    }
    out += ']';
}
} // namespace

Target* OwnedChannel::target(unsigned loop) noexcept {
    for (auto& t : targets)
        if (t.loop == loop) return &t;
    return nullptr;
}

bool OwnedChannel::recoverable_from(std::string_view epoch_seen, std::uint64_t offset_seen) const noexcept {
    if (epoch_seen != epoch || offset_seen > top) return false;
    if (offset_seen == top) return true;
    // Every offset in (offset_seen, top] must still be in the window.
    return !history.empty() && history.last_offset() == top && history.first_offset() <= offset_seen + 1;
}

void OwnedChannel::subscribe_result(std::string& out, bool recover, std::string_view epoch_seen,
                                    std::uint64_t offset_seen, std::uint32_t history_n) const {
    append_position(out);
    const bool keeps_history = ns && ns->history_size > 0;
    out += keeps_history ? ",\"recoverable\":true" : ",\"recoverable\":false";
    const bool last_matches = !history.empty() && history.last_offset() == top;
    if (recover) {
        if (recoverable_from(epoch_seen, offset_seen)) {
            out += ",\"recovered\":true";
            std::size_t from = offset_seen == top ? history.size() : history.index_of(offset_seen + 1);
            append_range(out, history, from, offset_seen == top ? from : history.size(), false);
            out += '}';
            return;
        }
        out += ",\"recovered\":false";
    }
    std::size_t n = last_matches ? std::min<std::size_t>(history_n, history.size()) : 0;
    append_range(out, history, history.size() - n, history.size(), false);
    out += '}';
}

bool OwnedChannel::history_result(std::string& out, bool since, std::string_view epoch_seen,
                                  std::uint64_t offset_seen, std::uint32_t limit, bool reverse) const {
    const bool last_matches = !history.empty() && history.last_offset() == top;
    std::size_t from = 0, to = 0;
    if (since) {
        if (!recoverable_from(epoch_seen, offset_seen)) return false;
        if (offset_seen < top) {
            from = history.index_of(offset_seen + 1);
            to = std::min(history.size(), from + limit);
        }
        reverse = false; // "after this position" reads forwards
    } else if (last_matches) {
        to = history.size();
        from = to - std::min<std::size_t>(limit, to);
    }
    append_position(out);
    append_range(out, history, from, to, reverse);
    out += '}';
    return true;
}

void OwnedChannel::presence_result(std::string& out) const {
    out += "{\"clients\":[";
    bool first = true;
    for (const auto& [client, info] : presence) {
        if (!first) out += ',';
        first = false;
        out += info;
    }
    out += "]}";
}

void OwnedChannel::presence_stats(std::string& out) const {
    // Users are counted from the stored client info's "user" field; the info objects were
    // written by this server with "user" first, so a prefix scan finds it.
    std::unordered_set<std::string_view> users;
    for (const auto& [client, info] : presence) {
        std::string_view s = info;
        auto start = s.find("\"user\":");
        auto end = s.find(",\"client\":");
        if (start != std::string_view::npos && end != std::string_view::npos) users.insert(s.substr(start, end - start));
    }
    out += "{\"clients\":";
    out += std::to_string(presence.size());
    out += ",\"users\":";
    out += std::to_string(users.size());
    out += '}';
}

} // namespace switchboard::hub
