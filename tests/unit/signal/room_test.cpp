#include "signal/room.hpp"

#include "json/reader.hpp"

#include <gtest/gtest.h>

using namespace switchboard;
using namespace switchboard::signal;

namespace {
Participant person(std::string sid, std::string identity) {
    Participant p;
    p.sid = std::move(sid);
    p.identity = std::move(identity);
    return p;
}

bool is_json(const std::string& s) {
    json::Value v;
    return json::parse(s, v) == json::Error::None && v.kind == json::Kind::Object;
}
} // namespace

TEST(RoomTest, Names) {
    EXPECT_TRUE(valid_room_name("standup-2026.11_a"));
    EXPECT_FALSE(valid_room_name(""));
    EXPECT_FALSE(valid_room_name(std::string(65, 'a')));
    EXPECT_FALSE(valid_room_name("a b"));
    EXPECT_FALSE(valid_room_name("a:b"));
    EXPECT_FALSE(valid_room_name("a\"b"));
    EXPECT_EQ(chat_channel("x"), "room:x");
}

TEST(RoomTest, Membership) {
    Room r("daily", 5);
    r.add(person("s1", "ann"));
    r.add(person("s2", "ben"));
    EXPECT_EQ(r.size(), 2u);
    ASSERT_NE(r.find("s2"), nullptr);
    EXPECT_EQ(r.find_identity("ann")->sid, "s1");
    EXPECT_EQ(r.find("nope"), nullptr);
    EXPECT_TRUE(r.remove("s1"));
    EXPECT_FALSE(r.remove("s1"));
    EXPECT_EQ(r.size(), 1u);
    EXPECT_EQ(r.created_ms(), 5);
}

TEST(RoomTest, PushesAreJsonWithWhatTheProtocolNames) {
    Room r("daily", 0);
    Participant p = person("s1", "a\"nn");
    p.info = "{\"name\":\"Ann\"}";
    p.grants.publish = false;
    r.add(p);
    r.add(person("s2", "ben"));
    std::string list;
    r.append_participants(list, "s2");
    EXPECT_EQ(list.find("s2"), std::string::npos);
    EXPECT_NE(list.find("\"identity\":\"a\\\"nn\""), std::string::npos);
    EXPECT_NE(list.find("\"publish\":false"), std::string::npos);
    for (const auto& s : {r.join_push(p), r.update_push(p), r.leave_push("s1", "left"), r.left_push("kicked", "be \"nice\""),
                          r.signal_push("s1", "offer", "{\"type\":\"offer\",\"sdp\":\"v=0\"}")})
        EXPECT_TRUE(is_json(s)) << s;
    EXPECT_NE(r.join_push(p).find("\"push\":\"room_join\""), std::string::npos);
    EXPECT_NE(r.signal_push("s1", "offer", "null").find("\"from\":\"s1\""), std::string::npos);
}
