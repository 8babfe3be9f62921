// OwnedChannel (hub/channel) with its MemoryHistory against docs/protocol.md, "subscribe" and
// "history": a recovery is either exact (`recovered:true` with every publication after the
// client's position, in order) or explicitly unrecoverable (`recovered:false`); a partial
// replay is never presented as recovered. Each test builds the channel directly, with a
// NamespaceOptions it owns, and plays the owner loop: assign the next offset, append the
// publication to the history, expire by TTL before answering (as hub/shard.cpp does).
#include "hub/channel.hpp"

#include "hub/protocol.hpp"

#include "json/json_printers.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::hub {
namespace {

using Offsets = std::vector<std::uint64_t>;

constexpr std::string_view kEpoch = "Zk3q9x";

// A subscribe or history result, read back with the JSON reader.
struct Reply {
    std::vector<std::string> keys;
    std::string epoch;
    std::uint64_t offset = 0;
    bool has_recoverable = false, recoverable = false;
    bool has_recovered = false, recovered = false;
    Offsets offsets;                   // of the publications, in the order sent
    std::vector<std::string> pubs;     // their raw JSON
};

Reply read_reply(const std::string& out) {
    Reply r;
    json::Value v;
    EXPECT_EQ(json::parse(out, v), json::Error::None) << out;
    EXPECT_EQ(v.kind, json::Kind::Object) << out;
    json::for_each_member(v, [&](std::string_view k, json::Value m) {
        r.keys.emplace_back(k);
        if (json::key_is(k, "epoch")) {
            EXPECT_TRUE(json::get_string(m, r.epoch)) << out;
        } else if (json::key_is(k, "offset")) {
            EXPECT_TRUE(json::get_u64(m, r.offset)) << out;
        } else if (json::key_is(k, "recoverable")) {
            r.has_recoverable = json::get_bool(m, r.recoverable);
        } else if (json::key_is(k, "recovered")) {
            r.has_recovered = json::get_bool(m, r.recovered);
        } else if (json::key_is(k, "publications")) {
            EXPECT_EQ(m.kind, json::Kind::Array) << out;
            json::for_each_element(m, [&](json::Value p) {
                r.pubs.emplace_back(p.raw);
                std::uint64_t off = 0;
                json::for_each_member(p, [&](std::string_view pk, json::Value pm) {
                    if (json::key_is(pk, "offset")) {
                        EXPECT_TRUE(json::get_u64(pm, off));
                    }
                });
                r.offsets.push_back(off);
            });
        }
    });
    return r;
}

Offsets range(std::uint64_t first, std::uint64_t last) {
    Offsets o;
    for (std::uint64_t i = first; i <= last; ++i) o.push_back(i);
    return o;
}

Offsets reversed(Offsets o) { return Offsets(o.rbegin(), o.rend()); }

class HubChannel : public ::testing::Test {
  protected:
    // A channel in a namespace keeping `size` publications for `ttl_s` seconds (0: no TTL).
    void make(std::uint32_t size, std::uint32_t ttl_s = 0) {
        ns_.name = "chat";
        ns_.history_size = size;
        ns_.history_ttl = ttl_s;
        ch_.name = "chat:lobby";
        ch_.ns = &ns_;
        ch_.epoch = std::string(kEpoch);
        ch_.history.configure(ns_.history_size, std::int64_t{ns_.history_ttl} * 1000);
    }

    static std::string publication(std::uint64_t offset, std::int64_t time_ms) {
        std::string from;
        append_client_info(from, "bob", "c1", "");
        std::string json;
        append_publication(json, offset, time_ms, "{\"n\":" + std::to_string(offset) + "}", from);
        return json;
    }

    // The owner assigns the next offset and keeps the publication in history.
    void publish(int n = 1, std::int64_t time_ms = 1000) {
        for (int i = 0; i < n; ++i) {
            ++ch_.top;
            ch_.history.append(ch_.top, time_ms, publication(ch_.top, time_ms));
        }
    }

    Reply subscribe(std::uint32_t history_n = 0) {
        std::string out;
        ch_.subscribe_result(out, false, {}, 0, history_n);
        return read_reply(out);
    }

    Reply recover(std::string_view epoch, std::uint64_t offset, std::uint32_t history_n = 0) {
        std::string out;
        ch_.subscribe_result(out, true, epoch, offset, history_n);
        return read_reply(out);
    }

    Reply history(std::uint32_t limit, bool reverse = false) {
        std::string out;
        EXPECT_TRUE(ch_.history_result(out, false, {}, 0, limit, reverse));
        return read_reply(out);
    }

    // history with `since`; false when the position is unrecoverable (error 112).
    bool history_since(std::string_view epoch, std::uint64_t offset, std::uint32_t limit, Reply& r,
                       bool reverse = false) {
        std::string out = "untouched";
        if (!ch_.history_result(out, true, epoch, offset, limit, reverse)) {
            EXPECT_EQ(out, "untouched") << "nothing is written for an unrecoverable position";
            return false;
        }
        r = read_reply(out.substr(9));
        return true;
    }

    // The publications must be exactly the ones the owner stored, byte for byte.
    void expect_stored(const Reply& r) {
        for (std::size_t i = 0; i < r.pubs.size(); ++i) {
            const std::size_t at = ch_.history.index_of(r.offsets[i]);
            ASSERT_NE(at, engine::MemoryHistory::npos) << r.offsets[i];
            EXPECT_EQ(r.pubs[i], ch_.history[at].json);
        }
    }

    NamespaceOptions ns_;
    OwnedChannel ch_;
};

// ---- subscribe without recover ---------------------------------------------------------------

TEST_F(HubChannel, FreshChannelPosition) {
    make(10);
    const Reply r = subscribe();
    EXPECT_EQ(r.keys, (std::vector<std::string>{"epoch", "offset", "recoverable", "publications"}));
    EXPECT_EQ(r.epoch, kEpoch);
    EXPECT_EQ(r.offset, 0u);
    EXPECT_TRUE(r.recoverable);
    EXPECT_FALSE(r.has_recovered) << "recovered is present only when recover was sent";
    EXPECT_TRUE(r.offsets.empty());
}

TEST_F(HubChannel, SubscribeReturnsThePositionAndNoHistoryByDefault) {
    make(10);
    publish(7);
    const Reply r = subscribe();
    EXPECT_EQ(r.offset, 7u);
    EXPECT_TRUE(r.offsets.empty());
    EXPECT_FALSE(r.has_recovered);
}

TEST_F(HubChannel, SubscribeWithHistoryReturnsTheNewestOldestFirst) {
    make(10);
    publish(7);
    Reply r = subscribe(3);
    EXPECT_EQ(r.offsets, range(5, 7));
    expect_stored(r);
    r = subscribe(1);
    EXPECT_EQ(r.offsets, range(7, 7));
    r = subscribe(7);
    EXPECT_EQ(r.offsets, range(1, 7));
    r = subscribe(1000);
    EXPECT_EQ(r.offsets, range(1, 7)) << "at most what the window holds";
}

TEST_F(HubChannel, SubscribeWithHistoryAfterTrimming) {
    make(5);
    publish(12);
    EXPECT_EQ(subscribe(100).offsets, range(8, 12));
    EXPECT_EQ(subscribe(2).offsets, range(11, 12));
}

TEST_F(HubChannel, NamespaceWithoutHistory) {
    make(0);
    publish(3);
    EXPECT_TRUE(ch_.history.empty()) << "history_size 0 keeps nothing";
    const Reply r = subscribe(5);
    EXPECT_EQ(r.offset, 3u);
    EXPECT_TRUE(r.has_recoverable);
    EXPECT_FALSE(r.recoverable);
    EXPECT_TRUE(r.offsets.empty());
}

TEST_F(HubChannel, ChannelWithoutNamespaceIsNotRecoverable) {
    make(10);
    ch_.ns = nullptr;
    EXPECT_FALSE(subscribe().recoverable);
}

// ---- subscribe with recover ------------------------------------------------------------------

TEST_F(HubChannel, RecoverAtTheTopIsRecoveredAndEmpty) {
    make(10);
    publish(5);
    for (std::uint32_t history_n : {0u, 3u}) {
        const Reply r = recover(kEpoch, 5, history_n);
        EXPECT_EQ(r.keys,
                  (std::vector<std::string>{"epoch", "offset", "recoverable", "recovered", "publications"}));
        EXPECT_TRUE(r.has_recovered);
        EXPECT_TRUE(r.recovered);
        EXPECT_EQ(r.offset, 5u);
        EXPECT_TRUE(r.offsets.empty()) << "history is not added to a successful recovery";
    }
}

TEST_F(HubChannel, RecoverAtTheTopOfAnEmptyChannel) {
    make(10);
    const Reply r = recover(kEpoch, 0);
    EXPECT_TRUE(r.recovered);
    EXPECT_TRUE(r.offsets.empty());
}

TEST_F(HubChannel, RecoverMissedPublicationsWithinTheWindow) {
    make(10);
    publish(8);
    Reply r = recover(kEpoch, 5);
    EXPECT_TRUE(r.recovered);
    EXPECT_EQ(r.offset, 8u);
    EXPECT_EQ(r.offsets, range(6, 8));
    expect_stored(r);

    r = recover(kEpoch, 7, 100);
    EXPECT_TRUE(r.recovered);
    EXPECT_EQ(r.offsets, range(8, 8)) << "history_n does not widen a recovery";

    r = recover(kEpoch, 0);
    EXPECT_TRUE(r.recovered);
    EXPECT_EQ(r.offsets, range(1, 8)) << "offsets start at 1: offset 0 means nothing seen";
}

TEST_F(HubChannel, RecoverAtTheEdgeOfTheWindow) {
    make(5);
    publish(8); // the window holds 4..8
    ASSERT_EQ(ch_.history.first_offset(), 4u);
    Reply r = recover(kEpoch, 3);
    EXPECT_TRUE(r.recovered) << "the first missed publication (4) is the oldest kept";
    EXPECT_EQ(r.offsets, range(4, 8));

    r = recover(kEpoch, 2);
    EXPECT_FALSE(r.recovered) << "3 is gone: replaying 4..8 would be partial";
    EXPECT_TRUE(r.offsets.empty());
}

TEST_F(HubChannel, RecoverTrimmedBySizeFailsAndFallsBackToHistory) {
    make(5);
    publish(20);
    Reply r = recover(kEpoch, 10);
    EXPECT_TRUE(r.has_recovered);
    EXPECT_FALSE(r.recovered);
    EXPECT_EQ(r.offset, 20u);
    EXPECT_TRUE(r.offsets.empty()) << "no history asked";

    r = recover(kEpoch, 10, 3);
    EXPECT_FALSE(r.recovered);
    EXPECT_EQ(r.offsets, range(18, 20)) << "on failure, history gives the newest N";
    expect_stored(r);

    r = recover(kEpoch, 10, 50);
    EXPECT_EQ(r.offsets, range(16, 20));
}

TEST_F(HubChannel, RecoverTrimmedByTtlFails) {
    make(100, 60);
    publish(3, 1'000);  // 1..3 at t=1s
    publish(2, 50'000); // 4..5 at t=50s
    ch_.history.expire(61'000);
    ASSERT_EQ(ch_.history.first_offset(), 4u);

    Reply r = recover(kEpoch, 3);
    EXPECT_TRUE(r.recovered);
    EXPECT_EQ(r.offsets, range(4, 5));

    r = recover(kEpoch, 2, 10);
    EXPECT_FALSE(r.recovered) << "3 expired";
    EXPECT_EQ(r.offsets, range(4, 5));
}

TEST_F(HubChannel, RecoverWhenEverythingExpired) {
    make(100, 60);
    publish(5, 1'000);
    ch_.history.expire(1'000'000);
    ASSERT_TRUE(ch_.history.empty());

    Reply r = recover(kEpoch, 4, 10);
    EXPECT_FALSE(r.recovered);
    EXPECT_TRUE(r.offsets.empty());

    r = recover(kEpoch, 5);
    EXPECT_TRUE(r.recovered) << "nothing was missed";
    EXPECT_TRUE(r.offsets.empty());

    EXPECT_TRUE(subscribe(10).offsets.empty());
}

TEST_F(HubChannel, RecoverFromAnotherEpochFails) {
    make(10);
    publish(5);
    for (std::string_view other : {"Zk3q9y", "", "zk3q9x", "Zk3q9x "}) {
        Reply r = recover(other, 3, 2);
        EXPECT_FALSE(r.recovered) << other;
        EXPECT_EQ(r.epoch, kEpoch);
        EXPECT_EQ(r.offsets, range(4, 5)) << "fallback history from the current epoch";
        r = recover(other, 5);
        EXPECT_FALSE(r.recovered) << "even at the same offset: " << other;
    }
}

TEST_F(HubChannel, RecoverFromBeyondTheTopFails) {
    make(10);
    publish(5);
    EXPECT_FALSE(recover(kEpoch, 6).recovered);
    EXPECT_FALSE(recover(kEpoch, 18446744073709551615u).recovered);
}

TEST_F(HubChannel, RecoverInANamespaceWithoutHistory) {
    make(0);
    publish(3);
    Reply r = recover(kEpoch, 2, 5);
    EXPECT_FALSE(r.recoverable);
    EXPECT_FALSE(r.recovered);
    EXPECT_TRUE(r.offsets.empty());
    r = recover(kEpoch, 3);
    EXPECT_TRUE(r.recovered) << "at the top nothing is missed, history or not";
    EXPECT_TRUE(r.offsets.empty());
}

TEST_F(HubChannel, WindowThatDoesNotReachTheTopIsNeverReplayed) {
    // If the owner's top moved past the window's newest entry (an offset assigned without a
    // history entry), the window no longer ends at the position: neither recovery nor history
    // may present it.
    make(10);
    publish(5);
    ++ch_.top;
    EXPECT_FALSE(recover(kEpoch, 4).recovered);
    EXPECT_TRUE(recover(kEpoch, 4, 10).offsets.empty());
    EXPECT_TRUE(subscribe(10).offsets.empty());
    EXPECT_TRUE(history(10).offsets.empty());
    Reply r;
    EXPECT_FALSE(history_since(kEpoch, 4, 10, r));
    EXPECT_TRUE(recover(kEpoch, 6).recovered);
}

TEST_F(HubChannel, HistoryRestartedByAGapIsRecoveredOnlyFromTheRestart) {
    make(10);
    publish(5);
    ch_.top = 9; // offsets 6..9 were lost (never reached this history)
    publish(2);  // 10, 11: the window restarts at 10
    ASSERT_EQ(ch_.history.first_offset(), 10u);
    EXPECT_FALSE(recover(kEpoch, 5).recovered);
    EXPECT_FALSE(recover(kEpoch, 8).recovered);
    const Reply r = recover(kEpoch, 9);
    EXPECT_TRUE(r.recovered);
    EXPECT_EQ(r.offsets, range(10, 11));
}

// ---- recoverable_from --------------------------------------------------------------------------

TEST_F(HubChannel, RecoverableFrom) {
    make(5);
    publish(8); // window 4..8
    EXPECT_TRUE(ch_.recoverable_from(kEpoch, 8));
    EXPECT_TRUE(ch_.recoverable_from(kEpoch, 7));
    EXPECT_TRUE(ch_.recoverable_from(kEpoch, 3));
    EXPECT_FALSE(ch_.recoverable_from(kEpoch, 2));
    EXPECT_FALSE(ch_.recoverable_from(kEpoch, 0));
    EXPECT_FALSE(ch_.recoverable_from(kEpoch, 9));
    EXPECT_FALSE(ch_.recoverable_from("other", 8));
}

// ---- history -----------------------------------------------------------------------------------

TEST_F(HubChannel, HistoryNewestOldestFirst) {
    make(10);
    publish(8);
    Reply r = history(3);
    EXPECT_EQ(r.keys, (std::vector<std::string>{"epoch", "offset", "publications"}));
    EXPECT_EQ(r.epoch, kEpoch);
    EXPECT_EQ(r.offset, 8u);
    EXPECT_EQ(r.offsets, range(6, 8));
    expect_stored(r);
    EXPECT_EQ(history(100).offsets, range(1, 8));
    EXPECT_EQ(history(4294967295u).offsets, range(1, 8));
}

TEST_F(HubChannel, HistoryReverseIsNewestFirst) {
    make(10);
    publish(8);
    EXPECT_EQ(history(3, true).offsets, reversed(range(6, 8)));
    EXPECT_EQ(history(100, true).offsets, reversed(range(1, 8)));
    expect_stored(history(100, true));
}

TEST_F(HubChannel, HistoryLimitZeroReturnsOnlyThePosition) {
    make(10);
    publish(8);
    for (bool reverse : {false, true}) {
        const Reply r = history(0, reverse);
        EXPECT_EQ(r.offset, 8u);
        EXPECT_EQ(r.epoch, kEpoch);
        EXPECT_TRUE(r.offsets.empty());
    }
}

TEST_F(HubChannel, HistoryOfAnEmptyChannel) {
    make(10);
    Reply r = history(10);
    EXPECT_EQ(r.offset, 0u);
    EXPECT_TRUE(r.offsets.empty());
    ASSERT_TRUE(history_since(kEpoch, 0, 10, r));
    EXPECT_TRUE(r.offsets.empty());
}

TEST_F(HubChannel, HistoryAfterTrimming) {
    make(5);
    publish(12);
    EXPECT_EQ(history(100).offsets, range(8, 12));
    EXPECT_EQ(history(2, true).offsets, reversed(range(11, 12)));
}

TEST_F(HubChannel, HistorySince) {
    make(10);
    publish(8);
    Reply r;
    ASSERT_TRUE(history_since(kEpoch, 5, 100, r));
    EXPECT_EQ(r.offset, 8u);
    EXPECT_EQ(r.offsets, range(6, 8));
    expect_stored(r);

    ASSERT_TRUE(history_since(kEpoch, 2, 3, r));
    EXPECT_EQ(r.offsets, range(3, 5)) << "oldest first, at most limit";

    ASSERT_TRUE(history_since(kEpoch, 0, 100, r));
    EXPECT_EQ(r.offsets, range(1, 8));
}

TEST_F(HubChannel, HistorySinceReadsForwardsEvenWhenReverse) {
    make(10);
    publish(8);
    Reply r;
    ASSERT_TRUE(history_since(kEpoch, 2, 3, r, true));
    EXPECT_EQ(r.offsets, range(3, 5));
}

TEST_F(HubChannel, HistorySinceLimitZeroAndAtTheTop) {
    make(10);
    publish(8);
    Reply r;
    ASSERT_TRUE(history_since(kEpoch, 5, 0, r));
    EXPECT_TRUE(r.offsets.empty());
    EXPECT_EQ(r.offset, 8u);
    ASSERT_TRUE(history_since(kEpoch, 8, 100, r));
    EXPECT_TRUE(r.offsets.empty());
}

TEST_F(HubChannel, HistorySinceUnrecoverable) {
    make(5);
    publish(12); // window 8..12
    Reply r;
    EXPECT_TRUE(history_since(kEpoch, 7, 100, r));
    EXPECT_EQ(r.offsets, range(8, 12));
    EXPECT_FALSE(history_since(kEpoch, 6, 100, r)) << "trimmed";
    EXPECT_FALSE(history_since("other", 10, 100, r)) << "other epoch";
    EXPECT_FALSE(history_since(kEpoch, 13, 100, r)) << "beyond the top";
}

TEST_F(HubChannel, HistorySinceAfterTtl) {
    make(100, 10);
    publish(2, 0);
    publish(2, 20'000);
    ch_.history.expire(15'000);
    Reply r;
    EXPECT_FALSE(history_since(kEpoch, 1, 100, r));
    ASSERT_TRUE(history_since(kEpoch, 2, 100, r));
    EXPECT_EQ(r.offsets, range(3, 4));
}

TEST_F(HubChannel, HistoryInANamespaceWithoutHistory) {
    make(0);
    publish(4);
    EXPECT_TRUE(history(10).offsets.empty());
    Reply r;
    EXPECT_FALSE(history_since(kEpoch, 3, 10, r));
    ASSERT_TRUE(history_since(kEpoch, 4, 10, r));
    EXPECT_TRUE(r.offsets.empty());
}

// ---- presence ----------------------------------------------------------------------------------

TEST_F(HubChannel, PresenceOfAnEmptyChannel) {
    make(0);
    std::string out;
    ch_.presence_result(out);
    EXPECT_EQ(out, R"({"clients":[]})");
    out.clear();
    ch_.presence_stats(out);
    EXPECT_EQ(out, R"({"clients":0,"users":0})");
}

TEST_F(HubChannel, PresenceListsEveryClientAndCountsUsers) {
    make(0);
    const struct {
        const char* client;
        const char* user;
        const char* info;
    } subs[] = {{"c1", "alice", R"({"name":"Alice"})"}, {"c2", "alice", ""}, {"c3", "bob", ""},
                {"c4", "al", R"({"user":"x","client":"y"})"}};
    for (const auto& s : subs) {
        std::string info;
        append_client_info(info, s.user, s.client, s.info);
        ch_.presence[s.client] = info;
    }

    std::string out;
    ch_.presence_result(out);
    json::Value v;
    ASSERT_EQ(json::parse(out, v), json::Error::None) << out;
    std::set<std::string> clients;
    json::for_each_member(v, [&](std::string_view k, json::Value list) {
        ASSERT_TRUE(json::key_is(k, "clients"));
        json::for_each_element(list, [&](json::Value c) {
            json::for_each_member(c, [&](std::string_view ck, json::Value cv) {
                std::string s;
                if (json::key_is(ck, "client") && json::get_string(cv, s)) clients.insert(s);
            });
        });
    });
    EXPECT_EQ(clients, (std::set<std::string>{"c1", "c2", "c3", "c4"}));

    out.clear();
    ch_.presence_stats(out);
    EXPECT_EQ(out, R"({"clients":4,"users":3})");
}

TEST_F(HubChannel, Targets) {
    make(0);
    EXPECT_EQ(ch_.target(0), nullptr);
    ch_.targets.push_back(Target{2, nullptr, 1});
    ch_.targets.push_back(Target{0, nullptr, 3});
    ASSERT_NE(ch_.target(0), nullptr);
    EXPECT_EQ(ch_.target(0)->clients, 3u);
    EXPECT_EQ(ch_.target(2)->clients, 1u);
    EXPECT_EQ(ch_.target(1), nullptr);
}

} // namespace
} // namespace switchboard::hub
