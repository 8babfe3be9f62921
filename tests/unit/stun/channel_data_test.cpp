#include "stun/channel_data.hpp"

#include <gtest/gtest.h>

namespace switchboard::stun {
namespace {

TEST(StunChannelData, ParsesAndRefuses) {
    std::uint8_t m[] = {0x40, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0};
    auto cd = parse_channel_data(m);
    ASSERT_TRUE(cd);
    EXPECT_EQ(cd->channel, 0x4000);
    EXPECT_EQ(cd->data.size(), 3u);
    m[0] = 0x80; // beyond the RFC 5766 range
    EXPECT_FALSE(parse_channel_data(m));
    m[0] = 0x4f;
    m[3] = 0x05; // longer than the datagram
    EXPECT_FALSE(parse_channel_data(m));
    std::uint8_t h[4];
    write_channel_header(h, 0x4fff, 513);
    EXPECT_EQ(h[0], 0x4f);
    EXPECT_EQ(h[3], 0x01);
}

} // namespace
} // namespace switchboard::stun
