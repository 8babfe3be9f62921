// Namespace options (hub/namespaces) against docs/protocol.md ("Channels and namespaces": the
// option table and its defaults) and the --namespace spec syntax
// "NAME[:key[=value],...]". These run at startup (control plane), so bad specs throw
// std::invalid_argument with a message naming the problem.
#include "hub/namespaces.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace switchboard::hub {
namespace {

// The message of the std::invalid_argument that `spec` throws ("" if it does not throw).
std::string spec_error(std::string_view spec) {
    try {
        parse_namespace_spec(spec);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

void expect_defaults(const NamespaceOptions& ns) {
    EXPECT_EQ(ns.history_size, 0u);
    EXPECT_EQ(ns.history_ttl, 300u);
    EXPECT_FALSE(ns.durable);
    EXPECT_FALSE(ns.presence);
    EXPECT_FALSE(ns.join_leave);
    EXPECT_FALSE(ns.publish);
    EXPECT_FALSE(ns.subscribe_token);
    EXPECT_FALSE(ns.anonymous);
}

TEST(HubNamespaces, OptionDefaultsMatchTheProtocolTable) {
    NamespaceOptions ns;
    EXPECT_EQ(ns.name, "");
    expect_defaults(ns);
}

TEST(HubNamespaces, BareNameHasAllDefaults) {
    NamespaceOptions ns = parse_namespace_spec("chat");
    EXPECT_EQ(ns.name, "chat");
    expect_defaults(ns);
    ns = parse_namespace_spec("chat:");
    EXPECT_EQ(ns.name, "chat");
    expect_defaults(ns);
}

TEST(HubNamespaces, EmptyNameIsTheDefaultNamespace) {
    NamespaceOptions ns = parse_namespace_spec(":publish");
    EXPECT_EQ(ns.name, "");
    EXPECT_TRUE(ns.publish);
    EXPECT_EQ(parse_namespace_spec("").name, "");
}

TEST(HubNamespaces, ParsesEveryOption) {
    NamespaceOptions ns = parse_namespace_spec(
        "chat:history_size=100,history_ttl=60,durable,presence,join_leave,publish,subscribe_token,anonymous");
    EXPECT_EQ(ns.name, "chat");
    EXPECT_EQ(ns.history_size, 100u);
    EXPECT_EQ(ns.history_ttl, 60u);
    EXPECT_TRUE(ns.durable);
    EXPECT_TRUE(ns.presence);
    EXPECT_TRUE(ns.join_leave);
    EXPECT_TRUE(ns.publish);
    EXPECT_TRUE(ns.subscribe_token);
    EXPECT_TRUE(ns.anonymous);
}

TEST(HubNamespaces, BareOptionMeansTrue) {
    EXPECT_TRUE(parse_namespace_spec("a:presence").presence);
    EXPECT_TRUE(parse_namespace_spec("a:anonymous").anonymous);
}

TEST(HubNamespaces, BooleanSpellings) {
    for (std::string_view v : {"true", "on", "1", "yes"})
        EXPECT_TRUE(parse_namespace_spec("a:publish=" + std::string(v)).publish) << v;
    for (std::string_view v : {"false", "off", "0", "no"})
        EXPECT_FALSE(parse_namespace_spec("a:publish=" + std::string(v)).publish) << v;
}

TEST(HubNamespaces, LaterItemsOverrideEarlierOnes) {
    NamespaceOptions ns = parse_namespace_spec("a:publish,publish=off,history_size=5,history_size=7");
    EXPECT_FALSE(ns.publish);
    EXPECT_EQ(ns.history_size, 7u);
}

TEST(HubNamespaces, EmptyItemsAreSkipped) {
    NamespaceOptions ns = parse_namespace_spec("a:,,presence,,");
    EXPECT_TRUE(ns.presence);
    EXPECT_FALSE(ns.publish);
}

TEST(HubNamespaces, NumberLimits) {
    EXPECT_EQ(parse_namespace_spec("a:history_size=0").history_size, 0u);
    EXPECT_EQ(parse_namespace_spec("a:history_size=100000").history_size, kMaxHistorySize);
    EXPECT_EQ(parse_namespace_spec("a:history_ttl=0").history_ttl, 0u);
    EXPECT_EQ(parse_namespace_spec("a:history_ttl=315360000").history_ttl, 315360000u); // 10 years
    EXPECT_NE(spec_error("a:history_size=100001"), "");
    EXPECT_NE(spec_error("a:history_ttl=315360001"), "");
}

TEST(HubNamespaces, BadValuesThrowNamingTheOption) {
    const std::string_view bad[] = {
        "a:history_size=abc", "a:history_size=-1", "a:history_size=", "a:history_size=+5", "a:history_size= 5",
        "a:history_size=5x",  "a:history_size=1.5", "a:history_size=4294967296", "a:history_ttl=x",
        "a:history_size",     // a bare number option reads as "true"
        "a:durable=maybe",    "a:presence=TRUE",  "a:publish=",     "a:anonymous=2", "a:join_leave=y",
        "a:subscribe_token=true=1",
    };
    for (std::string_view spec : bad) {
        const std::string msg = spec_error(spec);
        EXPECT_NE(msg, "") << spec << " was accepted";
        const std::string_view item = spec.substr(2);
        const std::string key(item.substr(0, item.find('=')));
        EXPECT_NE(msg.find(key), std::string::npos) << "'" << msg << "' does not name " << key;
    }
}

TEST(HubNamespaces, UnknownKeysThrow) {
    for (std::string_view spec : {"a:histroy_size=5", "a:Presence", "a:=1", "a:presence,bogus", "a: presence"}) {
        const std::string msg = spec_error(spec);
        EXPECT_NE(msg.find("unknown namespace option"), std::string::npos) << spec << ": " << msg;
    }
}

TEST(HubNamespaces, BadNamesThrow) {
    for (std::string_view spec : {"a b", "a#b", "caf\xc3\xa9", "a\tb:publish", "a#b:presence"}) {
        const std::string msg = spec_error(spec);
        EXPECT_NE(msg.find("bad namespace name"), std::string::npos) << spec << ": " << msg;
    }
    EXPECT_EQ(spec_error(std::string(64, 'n')), "");
    EXPECT_NE(spec_error(std::string(65, 'n')), "");
}

TEST(HubNamespaces, DurableNeedsHistorySize) {
    EXPECT_NE(spec_error("a:durable").find("durable needs history_size"), std::string::npos);
    EXPECT_NE(spec_error("a:durable,history_size=0"), "");
    EXPECT_EQ(spec_error("a:durable,history_size=1"), "");
    EXPECT_EQ(spec_error("a:history_size=1,durable"), "") << "checked after all items";
    EXPECT_EQ(spec_error("a:durable=off"), "");
}

TEST(HubNamespaces, SetNamespaceOptionDirectly) {
    NamespaceOptions ns;
    set_namespace_option(ns, "history_size", "10");
    set_namespace_option(ns, "durable", "on");
    EXPECT_EQ(ns.history_size, 10u);
    EXPECT_TRUE(ns.durable);
    EXPECT_THROW(set_namespace_option(ns, "name", "x"), std::invalid_argument);
    EXPECT_EQ(ns.name, "");
}

TEST(HubNamespaces, DefaultsContents) {
    const Namespaces n = Namespaces::defaults();
    ASSERT_EQ(n.all().size(), 4u);

    const NamespaceOptions* def = n.find("");
    ASSERT_NE(def, nullptr);
    expect_defaults(*def); // server API only: no publish, no anonymous

    const NamespaceOptions* chat = n.find("chat");
    ASSERT_NE(chat, nullptr);
    EXPECT_EQ(chat->name, "chat");
    EXPECT_EQ(chat->history_size, 1000u);
    EXPECT_EQ(chat->history_ttl, 0u);
    EXPECT_TRUE(chat->durable);
    EXPECT_TRUE(chat->presence);
    EXPECT_TRUE(chat->join_leave);
    EXPECT_TRUE(chat->publish);
    EXPECT_TRUE(chat->anonymous);
    EXPECT_FALSE(chat->subscribe_token);

    const NamespaceOptions* typing = n.find("typing");
    ASSERT_NE(typing, nullptr);
    EXPECT_EQ(typing->history_size, 0u);
    EXPECT_FALSE(typing->durable);
    EXPECT_FALSE(typing->presence);
    EXPECT_FALSE(typing->join_leave);
    EXPECT_TRUE(typing->publish);
    EXPECT_TRUE(typing->anonymous);
    EXPECT_FALSE(typing->subscribe_token);

    // A room's chat: members are granted the channel when they join.
    const NamespaceOptions* room = n.find("room");
    ASSERT_NE(room, nullptr);
    EXPECT_EQ(room->history_size, 200u);
    EXPECT_FALSE(room->durable);
    EXPECT_TRUE(room->publish);
    EXPECT_TRUE(room->anonymous);
    EXPECT_TRUE(room->subscribe_token);

    EXPECT_TRUE(n.any_durable());
    EXPECT_EQ(n.find("nope"), nullptr);
    EXPECT_EQ(n.find("Chat"), nullptr);
    EXPECT_EQ(n.find("chat:"), nullptr);
}

TEST(HubNamespaces, SetAddsAndReplacesByName) {
    Namespaces n = Namespaces::defaults();
    const std::size_t before = n.all().size();

    n.set(parse_namespace_spec("chat:history_size=5,publish"));
    ASSERT_EQ(n.all().size(), before) << "replaced, not added";
    const NamespaceOptions* chat = n.find("chat");
    ASSERT_NE(chat, nullptr);
    EXPECT_EQ(chat->history_size, 5u);
    EXPECT_EQ(chat->history_ttl, 300u) << "the whole entry is replaced, not merged";
    EXPECT_FALSE(chat->durable);
    EXPECT_FALSE(chat->presence);
    EXPECT_TRUE(chat->publish);
    EXPECT_FALSE(n.any_durable());

    n.set(parse_namespace_spec("news:history_size=10,durable"));
    EXPECT_EQ(n.all().size(), before + 1);
    EXPECT_TRUE(n.any_durable());
    EXPECT_EQ(n.all().back().name, "news");
}

TEST(HubNamespaces, SetKeepsOrder) {
    Namespaces n;
    EXPECT_TRUE(n.all().empty());
    EXPECT_FALSE(n.any_durable());
    EXPECT_EQ(n.find(""), nullptr);
    n.set(parse_namespace_spec("a"));
    n.set(parse_namespace_spec("b"));
    n.set(parse_namespace_spec("a:presence"));
    ASSERT_EQ(n.all().size(), 2u);
    EXPECT_EQ(n.all()[0].name, "a");
    EXPECT_TRUE(n.all()[0].presence);
    EXPECT_EQ(n.all()[1].name, "b");
}

TEST(HubNamespaces, OfChannel) {
    const Namespaces n = Namespaces::defaults();
    EXPECT_EQ(n.of_channel("chat:lobby"), n.find("chat"));
    EXPECT_EQ(n.of_channel("lobby"), n.find(""));
    EXPECT_EQ(n.of_channel("dm#alice,bob"), n.find(""));
    EXPECT_EQ(n.of_channel("nope:x"), nullptr);     // unknown namespace
    EXPECT_EQ(n.of_channel("chat:bad name"), nullptr); // invalid name
    EXPECT_EQ(n.of_channel(""), nullptr);
}

} // namespace
} // namespace switchboard::hub
