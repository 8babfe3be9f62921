// RFC 6455 §5.2 header encoding, §5.3 masking, §7.4 close codes.
#include "ws/frame.hpp"

#include "support/printers.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

namespace switchboard::ws {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes header(Opcode op, bool fin, bool rsv1, std::uint64_t len,
             const std::uint8_t *mask = nullptr) {
    Bytes out(kMaxHeaderSize, 0xEE);
    std::size_t n = encode_header(out.data(), op, fin, rsv1, len, mask);
    EXPECT_EQ(n, header_size(len, mask != nullptr));
    out.resize(n);
    return out;
}

TEST(Frame, HeaderSizes) {
    EXPECT_EQ(header_size(0, false), 2u);
    EXPECT_EQ(header_size(125, false), 2u);
    EXPECT_EQ(header_size(126, false), 4u);
    EXPECT_EQ(header_size(65535, false), 4u);
    EXPECT_EQ(header_size(65536, false), 10u);
    EXPECT_EQ(header_size(UINT64_C(1) << 62, false), 10u);
    EXPECT_EQ(header_size(0, true), 6u);
    EXPECT_EQ(header_size(125, true), 6u);
    EXPECT_EQ(header_size(126, true), 8u);
    EXPECT_EQ(header_size(65536, true), 14u);
}

TEST(Frame, EncodeSevenBitLengths) {
    EXPECT_EQ(header(Opcode::Text, true, false, 0), (Bytes{0x81, 0x00}));
    EXPECT_EQ(header(Opcode::Text, true, false, 5), (Bytes{0x81, 0x05})); // §5.7 "Hello"
    EXPECT_EQ(header(Opcode::Binary, true, false, 125), (Bytes{0x82, 0x7D}));
}

TEST(Frame, EncodeSixteenBitLengths) {
    EXPECT_EQ(header(Opcode::Binary, true, false, 126), (Bytes{0x82, 0x7E, 0x00, 0x7E}));
    EXPECT_EQ(header(Opcode::Binary, true, false, 256), (Bytes{0x82, 0x7E, 0x01, 0x00})); // §5.7
    EXPECT_EQ(header(Opcode::Binary, true, false, 65535), (Bytes{0x82, 0x7E, 0xFF, 0xFF}));
}

TEST(Frame, EncodeSixtyFourBitLengths) {
    EXPECT_EQ(header(Opcode::Binary, true, false, 65536),
              (Bytes{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00})); // §5.7 64KiB
    EXPECT_EQ(header(Opcode::Binary, true, false, UINT64_C(0x0102030405060708)),
              (Bytes{0x82, 0x7F, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
}

TEST(Frame, EncodeFlagsAndOpcodes) {
    EXPECT_EQ(header(Opcode::Text, false, false, 3)[0], 0x01);
    EXPECT_EQ(header(Opcode::Continuation, true, false, 2)[0], 0x80);
    EXPECT_EQ(header(Opcode::Text, true, true, 1)[0], 0xC1);
    EXPECT_EQ(header(Opcode::Close, true, false, 2)[0], 0x88);
    EXPECT_EQ(header(Opcode::Ping, true, false, 0)[0], 0x89);
    EXPECT_EQ(header(Opcode::Pong, true, false, 0)[0], 0x8A);
}

TEST(Frame, EncodeWithMask) {
    const std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    EXPECT_EQ(header(Opcode::Text, true, false, 5, key),
              (Bytes{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
    EXPECT_EQ(header(Opcode::Binary, true, false, 300, key),
              (Bytes{0x82, 0xFE, 0x01, 0x2C, 0x37, 0xfa, 0x21, 0x3d}));
    EXPECT_EQ(header(Opcode::Binary, true, false, 65536, key),
              (Bytes{0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0x37, 0xfa, 0x21, 0x3d}));
}

TEST(Frame, IsControl) {
    EXPECT_FALSE(is_control(Opcode::Continuation));
    EXPECT_FALSE(is_control(Opcode::Text));
    EXPECT_FALSE(is_control(Opcode::Binary));
    EXPECT_TRUE(is_control(Opcode::Close));
    EXPECT_TRUE(is_control(Opcode::Ping));
    EXPECT_TRUE(is_control(Opcode::Pong));
}

TEST(Frame, MaskRfcExample) {
    // §5.7: "Hello" masked with 37 fa 21 3d.
    Bytes data = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    const std::uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    EXPECT_EQ(apply_mask(data.data(), data.size(), key, 0), 1u);
    EXPECT_EQ(data, (Bytes{'H', 'e', 'l', 'l', 'o'}));
}

TEST(Frame, MaskingIsAnInvolutionForEveryLength) {
    const std::uint8_t key[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    for (std::size_t n = 0; n < 70; ++n) {
        Bytes orig(n);
        std::iota(orig.begin(), orig.end(), 0);
        Bytes data = orig;
        apply_mask(data.data(), n, key, 0);
        for (std::size_t i = 0; i < n; ++i)
            ASSERT_EQ(data[i], orig[i] ^ key[i % 4]) << n << " " << i;
        apply_mask(data.data(), n, key, 0);
        EXPECT_EQ(data, orig);
    }
}

TEST(Frame, MaskingPiecewiseWithPhasesMatchesOneShot) {
    const std::uint8_t key[4] = {0x01, 0x22, 0x83, 0xF4};
    Bytes orig(97);
    std::iota(orig.begin(), orig.end(), 3);
    Bytes whole = orig;
    apply_mask(whole.data(), whole.size(), key, 0);
    for (std::size_t a = 0; a <= orig.size(); ++a) {
        for (std::size_t b = a; b <= orig.size(); b += 7) {
            Bytes piece = orig;
            unsigned phase = apply_mask(piece.data(), a, key, 0);
            EXPECT_EQ(phase, a % 4);
            phase = apply_mask(piece.data() + a, b - a, key, phase);
            EXPECT_EQ(phase, b % 4);
            phase = apply_mask(piece.data() + b, orig.size() - b, key, phase);
            EXPECT_EQ(phase, orig.size() % 4);
            ASSERT_EQ(piece, whole) << "splits at " << a << " and " << b;
        }
    }
}

TEST(Frame, MaskStartingAtEachPhase) {
    const std::uint8_t key[4] = {1, 2, 4, 8};
    for (unsigned phase = 0; phase < 4; ++phase) {
        Bytes data(13, 0);
        EXPECT_EQ(apply_mask(data.data(), data.size(), key, phase), (phase + 13) % 4);
        for (std::size_t i = 0; i < data.size(); ++i)
            EXPECT_EQ(data[i], key[(phase + i) % 4]);
    }
}

TEST(Frame, CloseCodeTable) {
    // §7.4.1 defined codes a peer may send; 1004 reserved; 1005/1006/1015 never on the wire.
    for (std::uint16_t c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})
        EXPECT_TRUE(is_valid_close_code(c)) << c;
    // IANA registry additions (Service Restart, Try Again Later, Bad Gateway).
    for (std::uint16_t c : {1012, 1013, 1014})
        EXPECT_TRUE(is_valid_close_code(c)) << c;
    for (std::uint16_t c : {1004, 1005, 1006, 1015})
        EXPECT_FALSE(is_valid_close_code(c)) << c;
    // §7.4.2: 0-999 unused, 1016-2999 reserved for the protocol, 3000-4999 usable, above unused.
    for (std::uint16_t c : {0, 1, 999, 1016, 1100, 2000, 2999, 5000, 65535})
        EXPECT_FALSE(is_valid_close_code(c)) << c;
    for (std::uint16_t c : {3000, 3999, 4000, 4999})
        EXPECT_TRUE(is_valid_close_code(c)) << c;
    int valid = 0;
    for (std::uint32_t c = 0; c <= 0xFFFF; ++c)
        valid += is_valid_close_code(static_cast<std::uint16_t>(c));
    EXPECT_EQ(valid, 12 + 2000);
}

} // namespace
} // namespace switchboard::ws
