// Channel names against docs/protocol.md, "Channels and namespaces": 1-255 bytes of printable
// ASCII without spaces (and without '"' or '\', so a name never needs escaping in JSON); the
// namespace is the part before the first ':'; after the last '#' comes a personal channel's
// comma-separated user list; anonymous connections never match a personal channel.
#include "hub/channel_name.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace switchboard::hub {
namespace {

ChannelName parsed(std::string_view name) {
    ChannelName n;
    EXPECT_TRUE(parse_channel(name, n)) << name;
    return n;
}

bool valid(std::string_view name) {
    ChannelName n;
    return parse_channel(name, n);
}

TEST(HubChannelName, NamespaceIsThePartBeforeTheFirstColon) {
    ChannelName n = parsed("chat:lobby");
    EXPECT_EQ(n.ns, "chat");
    EXPECT_FALSE(n.personal);
    EXPECT_TRUE(n.users.empty());

    n = parsed("chat:lobby:sub:room");
    EXPECT_EQ(n.ns, "chat");

    n = parsed("a:");
    EXPECT_EQ(n.ns, "a") << "an empty rest is still a name";
}

TEST(HubChannelName, NameWithoutColonIsInTheDefaultNamespace) {
    for (std::string_view name : {"lobby", "x", "news.sport-1_2"}) {
        ChannelName n = parsed(name);
        EXPECT_EQ(n.ns, "") << name;
        EXPECT_FALSE(n.personal) << name;
    }
}

TEST(HubChannelName, LeadingColonIsTheDefaultNamespace) {
    ChannelName n = parsed(":lobby");
    EXPECT_EQ(n.ns, "");
    n = parsed(":");
    EXPECT_EQ(n.ns, "");
}

TEST(HubChannelName, NamespaceViewBorrowsTheName) {
    const std::string name = "chat:lobby#alice";
    ChannelName n = parsed(name);
    EXPECT_EQ(n.ns.data(), name.data());
    EXPECT_EQ(n.users.data(), name.data() + 11);
}

TEST(HubChannelName, PersonalChannels) {
    ChannelName n = parsed("notifications:user#42");
    EXPECT_TRUE(n.personal);
    EXPECT_EQ(n.ns, "notifications");
    EXPECT_EQ(n.users, "42");

    n = parsed("dm:room#alice,bob");
    EXPECT_TRUE(n.personal);
    EXPECT_EQ(n.ns, "dm");
    EXPECT_EQ(n.users, "alice,bob");

    n = parsed("ns:room#u1,u2");
    EXPECT_EQ(n.ns, "ns");
    EXPECT_EQ(n.users, "u1,u2");
}

TEST(HubChannelName, PersonalChannelInTheDefaultNamespace) {
    ChannelName n = parsed("inbox#alice");
    EXPECT_TRUE(n.personal);
    EXPECT_EQ(n.ns, "");
    EXPECT_EQ(n.users, "alice");

    n = parsed("#alice");
    EXPECT_TRUE(n.personal);
    EXPECT_EQ(n.ns, "");
    EXPECT_EQ(n.users, "alice");
}

TEST(HubChannelName, UsersComeAfterTheLastHash) {
    ChannelName n = parsed("dm:a#b#carol");
    EXPECT_TRUE(n.personal);
    EXPECT_EQ(n.ns, "dm");
    EXPECT_EQ(n.users, "carol");
}

TEST(HubChannelName, ColonAfterTheHashBelongsToTheUserList) {
    // A ':' that comes only after the '#' does not start a namespace (channel_name.cpp): the
    // name is in the default namespace and the users are "bob:x".
    ChannelName n = parsed("room#bob:x");
    EXPECT_TRUE(n.personal);
    EXPECT_EQ(n.ns, "");
    EXPECT_EQ(n.users, "bob:x");
    // With a ':' before the '#' too, the namespace is the part before the first one.
    n = parsed("dm:room#bob:x");
    EXPECT_EQ(n.ns, "dm");
    EXPECT_EQ(n.users, "bob:x");
}

TEST(HubChannelName, EmptyUserListIsInvalid) {
    for (std::string_view name : {"a#", "#", "dm:room#", "dm:#", "dm:room#alice#"}) {
        ChannelName n;
        n.ns = "untouched";
        EXPECT_FALSE(parse_channel(name, n)) << name;
        EXPECT_EQ(n.ns, "untouched") << "out is written only on success: " << name;
    }
}

TEST(HubChannelName, Length) {
    EXPECT_FALSE(valid(""));
    EXPECT_TRUE(valid("a"));
    const std::string n255(kMaxChannelName, 'a');
    const std::string n256(kMaxChannelName + 1, 'a');
    EXPECT_TRUE(valid(n255));
    EXPECT_FALSE(valid(n256));
    EXPECT_TRUE(valid("chat:" + std::string(250, 'x')));
    EXPECT_FALSE(valid("chat:" + std::string(251, 'x')));
    EXPECT_EQ(kMaxChannelName, 255u);
}

TEST(HubChannelName, ForbiddenBytes) {
    const std::string_view bad[] = {
        "chat:a b", "chat:a\"b", "chat:a\\b", "chat:a\x7f" "b", "chat:caf\xc3\xa9", "chat:\x80", "chat:\xff",
        "chat:a\tb", "chat:a\nb", "chat:a\rb", "chat:\x01", " chat", "chat ",
    };
    for (std::string_view name : bad) EXPECT_FALSE(valid(name)) << name;
    EXPECT_FALSE(valid(std::string_view("chat:a\0b", 8))) << "NUL";
}

TEST(HubChannelName, EveryPrintableAsciiByteExceptQuoteAndBackslashIsAllowed) {
    for (int c = 0; c < 256; ++c) {
        const std::string name = std::string("x") + static_cast<char>(c);
        const bool expected = c > ' ' && c <= '~' && c != '"' && c != '\\' && c != '#';
        if (c == '#') {
            EXPECT_FALSE(valid(name)) << "'x#' has an empty user list";
            continue;
        }
        EXPECT_EQ(valid(name), expected) << "byte " << c;
    }
}

TEST(HubChannelName, PersonalAllowsListedUsersOnly) {
    EXPECT_TRUE(personal_allows("42", "42"));
    EXPECT_TRUE(personal_allows("alice,bob", "alice"));
    EXPECT_TRUE(personal_allows("alice,bob", "bob"));
    EXPECT_TRUE(personal_allows("u1,u2,u3", "u2"));
    EXPECT_FALSE(personal_allows("alice,bob", "carol"));
}

TEST(HubChannelName, PersonalAllowsComparesWholeIds) {
    EXPECT_FALSE(personal_allows("alice", "al"));
    EXPECT_FALSE(personal_allows("al", "alice"));
    EXPECT_FALSE(personal_allows("alice,bob", "alice,bob"));
    EXPECT_FALSE(personal_allows("alice,bob", "ice"));
    EXPECT_FALSE(personal_allows("alice,bob", "bo"));
    EXPECT_FALSE(personal_allows("alice,bob", "bobby"));
    EXPECT_FALSE(personal_allows("42", "4"));
    EXPECT_FALSE(personal_allows("4,2", "42"));
    EXPECT_FALSE(personal_allows("Alice", "alice")) << "ids are case-sensitive";
}

TEST(HubChannelName, AnonymousNeverMatches) {
    EXPECT_FALSE(personal_allows("alice", ""));
    EXPECT_FALSE(personal_allows("", ""));
    EXPECT_FALSE(personal_allows(",", ""));
    EXPECT_FALSE(personal_allows("alice,", ""));
    EXPECT_FALSE(personal_allows(",alice", ""));
    EXPECT_FALSE(personal_allows("a,,b", ""));
}

TEST(HubChannelName, PersonalAllowsWithEmptyEntries) {
    EXPECT_TRUE(personal_allows("alice,", "alice"));
    EXPECT_TRUE(personal_allows(",alice", "alice"));
    EXPECT_TRUE(personal_allows("a,,b", "b"));
    EXPECT_FALSE(personal_allows("", "alice"));
}

TEST(HubChannelName, ParsedUsersFeedPersonalAllows) {
    ChannelName n = parsed("dm:room#alice,bob");
    EXPECT_TRUE(personal_allows(n.users, "bob"));
    EXPECT_FALSE(personal_allows(n.users, "room"));
    EXPECT_FALSE(personal_allows(n.users, "dm"));
}

} // namespace
} // namespace switchboard::hub
