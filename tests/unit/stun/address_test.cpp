#include "stun/address.hpp"

#include <gtest/gtest.h>

namespace switchboard::stun {
namespace {

TEST(StunAddress, ParsesAndPrints) {
    EXPECT_EQ(Address::parse("127.0.0.1:3478")->to_string(), "127.0.0.1:3478");
    EXPECT_EQ(Address::parse("[::1]:5")->to_string(), "[::1]:5");
    EXPECT_EQ(Address::parse("10.1.2.3", 3478)->to_string(), "10.1.2.3:3478");
    EXPECT_EQ(Address::parse("::1", 9)->to_string(), "[::1]:9");
    EXPECT_FALSE(Address::parse("10.1.2.3"));
    EXPECT_FALSE(Address::parse("10.1.2.3:65536"));
    EXPECT_FALSE(Address::parse("[10.1.2.3]:1"));
    EXPECT_FALSE(Address::parse("host:1"));
    EXPECT_FALSE(Address::parse("[::1]"));
}

TEST(StunAddress, CanonicalUnwrapsIpv4InIpv6) {
    EXPECT_EQ(Address::parse("[::ffff:127.0.0.1]:1")->canonical().to_string(), "127.0.0.1:1");
    EXPECT_EQ(Address::parse("[::127.0.0.1]:1")->canonical().to_string(), "127.0.0.1:1");
    EXPECT_EQ(Address::parse("[::1]:1")->canonical().to_string(), "[::1]:1");
    EXPECT_EQ(Address::parse("[::]:1")->canonical().to_string(), "[::]:1");
    EXPECT_EQ(Address::parse("[2001:db8::1]:1")->canonical().to_string(), "[2001:db8::1]:1");
}

TEST(StunAddress, CidrContains) {
    auto c = *Cidr::parse("10.0.0.0/8");
    EXPECT_TRUE(c.contains(*Address::parse("10.255.0.1:1")));
    EXPECT_FALSE(c.contains(*Address::parse("11.0.0.1:1")));
    EXPECT_FALSE(c.contains(*Address::parse("[::ffff:10.0.0.1]:1"))); // callers canonicalise first
    EXPECT_TRUE(c.contains(Address::parse("[::ffff:10.0.0.1]:1")->canonical()));
    auto host = *Cidr::parse("169.254.169.254");
    EXPECT_EQ(host.prefix, 32);
    EXPECT_TRUE(host.contains(*Address::parse("169.254.169.254:80")));
    auto v6 = *Cidr::parse("fc00::/7");
    EXPECT_TRUE(v6.contains(*Address::parse("[fd12::1]:1")));
    EXPECT_FALSE(v6.contains(*Address::parse("[fe80::1]:1")));
    auto odd = *Cidr::parse("172.16.0.0/12");
    EXPECT_TRUE(odd.contains(*Address::parse("172.31.255.255:1")));
    EXPECT_FALSE(odd.contains(*Address::parse("172.32.0.0:1")));
    auto all = *Cidr::parse("0.0.0.0/0");
    EXPECT_TRUE(all.contains(*Address::parse("8.8.8.8:53")));
    auto mapped = *Cidr::parse("::ffff:127.0.0.0/104");
    EXPECT_EQ(mapped.to_string(), "127.0.0.0/8");
    EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
    EXPECT_FALSE(Cidr::parse("10.0.0.0/"));
    EXPECT_FALSE(Cidr::parse("nonsense/8"));
}

} // namespace
} // namespace switchboard::stun
