// RFC 5769 test vectors and the codec's own round trips and refusals.
#include "stun/message.hpp"

#include "stun/integrity.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace switchboard::stun {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 5769 §2.1: password "VOkJxbRl1RmTxUk/WvJxBt", software "STUN test client", username
// "evtj:h6vY"; the padding of the username is three spaces, as in the RFC.
const std::vector<std::uint8_t> kRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

// §2.2: mapped address 192.0.2.1:32853, software "test vector".
const std::vector<std::uint8_t> kResponseV4 = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

// §2.3: mapped address [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const std::vector<std::uint8_t> kResponseV6 = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

// §2.4: username U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9, password "TheMatrIX" after
// SASLprep, realm "example.org", nonce "f//499k954d6OL34oL9FSTvy64sA".
const std::vector<std::uint8_t> kLongTerm = {
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0,
    0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83,
    0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
    0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34,
    0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b,
    0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
    0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2,
    0x8c, 0xa8, 0x96, 0x66};

constexpr std::string_view kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

TEST(StunMessage, Rfc5769Request) {
    auto m = parse(kRequest);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->method(), Method::Binding);
    EXPECT_EQ(m->cls(), Class::Request);
    EXPECT_EQ(m->text(attr::Software), "STUN test client");
    EXPECT_EQ(m->text(attr::Username), "evtj:h6vY");
    EXPECT_EQ(m->u32(attr::Priority), 0x6e0001ffu);
    EXPECT_TRUE(m->fingerprint_ok());
    EXPECT_TRUE(m->integrity_ok(bytes_of(kShortTermPassword)));
    EXPECT_FALSE(m->integrity_ok(bytes_of("VOkJxbRl1RmTxUk/WvJxBu")));
}

TEST(StunMessage, Rfc5769ResponseIpv4) {
    auto m = parse(kResponseV4);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->cls(), Class::Success);
    EXPECT_EQ(m->text(attr::Software), "test vector");
    auto a = m->xor_address(attr::XorMappedAddress);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_string(), "192.0.2.1:32853");
    EXPECT_TRUE(m->fingerprint_ok());
    EXPECT_TRUE(m->integrity_ok(bytes_of(kShortTermPassword)));
}

TEST(StunMessage, Rfc5769ResponseIpv6) {
    auto m = parse(kResponseV6);
    ASSERT_TRUE(m.ok());
    auto a = m->xor_address(attr::XorMappedAddress);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    EXPECT_TRUE(m->fingerprint_ok());
    EXPECT_TRUE(m->integrity_ok(bytes_of(kShortTermPassword)));
}

TEST(StunMessage, Rfc5769LongTermCredentials) {
    auto m = parse(kLongTerm);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->text(attr::Realm), "example.org");
    EXPECT_EQ(m->text(attr::Nonce), "f//499k954d6OL34oL9FSTvy64sA");
    auto user = *m->text(attr::Username);
    EXPECT_EQ(user, "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9");
    auto key = long_term_key_md5(user, "example.org", "TheMatrIX");
    EXPECT_TRUE(m->integrity_ok(key));
    EXPECT_FALSE(m->has_fingerprint());
}

// The writer reproduces the RFC's IPv4 response byte for byte, integrity and fingerprint included
// (the RFC pads SOFTWARE with a space; the writer pads with zero, so that byte is set by hand).
TEST(StunMessage, WriterMatchesRfc5769Response) {
    TransactionId tid;
    std::memcpy(tid.data(), kResponseV4.data() + 8, 12);
    std::uint8_t buf[128];
    Writer w(buf, Method::Binding, Class::Success, tid);
    w.add(attr::Software, std::string_view("test vector"));
    buf[kHeaderSize + 4 + 11] = 0x20;
    w.add_xor_address(attr::XorMappedAddress, *Address::parse("192.0.2.1:32853"));
    w.add_integrity(bytes_of(kShortTermPassword));
    w.add_fingerprint();
    std::size_t n = w.finish();
    ASSERT_EQ(n, kResponseV4.size());
    EXPECT_EQ(std::vector<std::uint8_t>(buf, buf + n), kResponseV4);
}

TEST(StunMessage, Sha256IntegrityRoundTrip) {
    TransactionId tid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    std::uint8_t buf[256];
    Writer w(buf, Method::Allocate, Class::Request, tid);
    w.add(attr::Username, std::string_view("alice"));
    w.add_u32(attr::RequestedTransport, 17u << 24);
    auto key = long_term_key_sha256("alice", "switchboard", "secret");
    w.add_integrity_sha256(key);
    w.add_fingerprint();
    auto m = parse({buf, w.finish()});
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->method(), Method::Allocate);
    EXPECT_TRUE(m->has_integrity_sha256());
    EXPECT_TRUE(m->integrity_sha256_ok(key));
    buf[kHeaderSize + 5] ^= 1; // a bit of the username
    auto bad = parse({buf, w.size()});
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(bad->integrity_sha256_ok(key));
    EXPECT_FALSE(bad->fingerprint_ok());
}

TEST(StunMessage, MessageTypeInterleavesClassBits) {
    EXPECT_EQ(message_type(0x001, Class::Request), 0x0001);
    EXPECT_EQ(message_type(0x001, Class::Success), 0x0101);
    EXPECT_EQ(message_type(0x001, Class::Error), 0x0111);
    EXPECT_EQ(message_type(0x003, Class::Error), 0x0113);
    EXPECT_EQ(message_type(0x007, Class::Indication), 0x0017);
    for (std::uint16_t method : {0x001, 0x003, 0x00C, 0xFFF})
        for (Class c : {Class::Request, Class::Indication, Class::Success, Class::Error}) {
            TransactionId tid{};
            std::uint8_t buf[32];
            Writer w(buf, method, c, tid);
            auto m = parse({buf, w.finish()});
            ASSERT_TRUE(m.ok());
            EXPECT_EQ(m->raw_method(), method);
            EXPECT_EQ(m->cls(), c);
        }
}

TEST(StunMessage, RefusesMalformed) {
    std::vector<std::uint8_t> m = kResponseV4;
    EXPECT_EQ(parse(std::span(m).first(19)).error(), CodecError::TooShort);
    auto bad = m;
    bad[0] |= 0x80;
    EXPECT_EQ(parse(bad).error(), CodecError::NotStun);
    bad = m;
    bad[4] = 0;
    EXPECT_EQ(parse(bad).error(), CodecError::NotStun);
    bad = m;
    bad[3] = 0x3d; // not a multiple of 4
    EXPECT_EQ(parse(bad).error(), CodecError::BadLength);
    bad = m;
    bad.push_back(0);
    bad.push_back(0);
    bad.push_back(0);
    bad.push_back(0);
    EXPECT_EQ(parse(bad).error(), CodecError::BadLength); // trailing bytes in a datagram
    bad = m;
    bad[kHeaderSize + 3] = 0x40; // SOFTWARE claims 64 bytes
    EXPECT_EQ(parse(bad).error(), CodecError::TruncatedAttribute);
    // An attribute after FINGERPRINT.
    TransactionId tid{};
    std::uint8_t buf[64];
    Writer w(buf, Method::Binding, Class::Request, tid);
    w.add_fingerprint();
    w.add_u32(attr::Priority, 1);
    EXPECT_EQ(parse({buf, w.finish()}).error(), CodecError::AfterFingerprint);
}

TEST(StunMessage, IgnoresAttributesAfterIntegrity) {
    TransactionId tid{};
    std::uint8_t buf[128];
    Writer w(buf, Method::Binding, Class::Request, tid);
    w.add(attr::Username, std::string_view("u"));
    w.add_integrity(bytes_of("k"));
    w.add(attr::Realm, std::string_view("added later"));
    auto m = parse({buf, w.finish()});
    ASSERT_TRUE(m.ok());
    EXPECT_FALSE(m->has(attr::Realm));
    EXPECT_TRUE(m->integrity_ok(bytes_of("k")));
}

TEST(StunMessage, TooManyAttributes) {
    TransactionId tid{};
    std::uint8_t buf[1024];
    Writer w(buf, Method::Binding, Class::Request, tid);
    for (std::size_t i = 0; i <= kMaxAttributes; ++i) w.add_u32(attr::Priority, 1);
    EXPECT_EQ(parse({buf, w.finish()}).error(), CodecError::TooManyAttributes);
}

TEST(StunMessage, WriterStopsWhenFull) {
    TransactionId tid{};
    std::uint8_t buf[30];
    Writer w(buf, Method::Binding, Class::Request, tid);
    w.add_u32(attr::Priority, 1);
    EXPECT_TRUE(w.ok());
    w.add_u32(attr::Priority, 2);
    EXPECT_FALSE(w.ok());
    EXPECT_EQ(w.finish(), 0u);
}

TEST(StunMessage, ErrorCodeAndUnknownAttributes) {
    TransactionId tid{};
    std::uint8_t buf[128];
    Writer w(buf, Method::Allocate, Class::Error, tid);
    w.add_error(437, "Allocation Mismatch");
    std::uint16_t unknown[] = {0x0031, 0x0032};
    w.add_unknown_attributes(unknown);
    auto m = parse({buf, w.finish()});
    ASSERT_TRUE(m.ok());
    auto e = m->error_code();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->first, 437);
    EXPECT_EQ(e->second, "Allocation Mismatch");
    auto u = m->find(attr::UnknownAttributes);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->size(), 4u);
    std::uint16_t known[] = {attr::ErrorCode};
    EXPECT_EQ(m->unknown_required(known), attr::UnknownAttributes);
}

TEST(StunMessage, FrameLengthOverStreams) {
    EXPECT_EQ(frame_length(kResponseV4), kResponseV4.size());
    EXPECT_EQ(frame_length(std::span(kResponseV4).first(3)), 0u);
    std::uint8_t cd[] = {0x40, 0x01, 0x00, 0x05};
    EXPECT_EQ(frame_length(cd), 12u); // 4 + 5 padded to 8
    std::uint8_t tls[] = {0x16, 0x03, 0x01, 0x00};
    EXPECT_FALSE(frame_length(tls).has_value());
}

TEST(StunMessage, XorAddressesCollectsEvery) {
    TransactionId tid{9};
    std::uint8_t buf[256];
    Writer w(buf, Method::CreatePermission, Class::Request, tid);
    w.add_xor_address(attr::XorPeerAddress, *Address::parse("10.0.0.1:1"));
    w.add_xor_address(attr::XorPeerAddress, *Address::parse("[::1]:2"));
    auto m = parse({buf, w.finish()});
    ASSERT_TRUE(m.ok());
    Address out[4];
    ASSERT_EQ(m->xor_addresses(attr::XorPeerAddress, out), 2);
    EXPECT_EQ(out[0].to_string(), "10.0.0.1:1");
    EXPECT_EQ(out[1].to_string(), "[::1]:2");
}

} // namespace
} // namespace switchboard::stun
