// Fuzz target: the STUN codec (stun/message, stun/channel_data, stun/address). The input is one
// datagram. Whatever parses is written back attribute by attribute with stun::Writer and must
// parse to the same method, class, transaction and attributes (Pion TryMarshalUnmarshal); XOR
// addresses must decode to what re-encoding gives; integrity and fingerprint checks run on every
// input (they must not read outside it). ChannelData and stream framing are checked on the same
// bytes.
#include "stun/channel_data.hpp"
#include "stun/integrity.hpp"
#include "stun/message.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace switchboard;
using namespace switchboard::stun;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);

    if (auto n = frame_length(in); n && *n > 0) SB_FUZZ_CHECK(*n >= 4);
    if (auto cd = parse_channel_data(in)) {
        SB_FUZZ_CHECK(valid_channel(cd->channel));
        SB_FUZZ_CHECK(cd->data.data() == data + 4 && cd->data.size() <= size - 4);
    }

    auto m = parse(in);
    if (!m) return 0;
    SB_FUZZ_CHECK(looks_like_stun(in));
    static const std::uint8_t key[] = {'k', 'e', 'y'};
    (void)m->integrity_ok(key);
    (void)m->integrity_sha256_ok(key);
    (void)m->fingerprint_ok();
    (void)m->error_code();

    std::vector<std::uint8_t> out(size + 64);
    Writer w(out, m->raw_method(), m->cls(), m->transaction_id());
    for (const Attribute& a : m->attributes()) {
        auto v = in.subspan(a.offset, a.length);
        SB_FUZZ_CHECK(a.offset + a.length <= size);
        w.add(a.type, v);
    }
    std::size_t n = w.finish();
    SB_FUZZ_CHECK(w.ok() && n > 0);
    auto again = parse({out.data(), n});
    SB_FUZZ_CHECK(again.ok());
    SB_FUZZ_CHECK(again->raw_method() == m->raw_method() && again->cls() == m->cls());
    SB_FUZZ_CHECK(again->transaction_id() == m->transaction_id());
    auto a1 = m->attributes(), a2 = again->attributes();
    SB_FUZZ_CHECK(a1.size() == a2.size());
    for (std::size_t i = 0; i < a1.size(); ++i) {
        SB_FUZZ_CHECK(a1[i].type == a2[i].type && a1[i].length == a2[i].length);
        SB_FUZZ_CHECK(std::memcmp(data + a1[i].offset, out.data() + a2[i].offset, a1[i].length) == 0);
    }

    for (std::uint16_t t : {attr::XorMappedAddress, attr::XorPeerAddress, attr::XorRelayedAddress}) {
        auto addr = m->xor_address(t);
        if (!addr) continue;
        std::uint8_t buf[20];
        xor_address_bytes(*addr, m->transaction_id(), buf);
        auto raw = *m->find(t);
        SB_FUZZ_CHECK(raw.size() == 4 + addr->ip_size());
        // Byte 0 is reserved (ignored on decode), the rest must match.
        SB_FUZZ_CHECK(std::memcmp(buf + 1, raw.data() + 1, raw.size() - 1) == 0);
        auto canon = addr->canonical();
        SB_FUZZ_CHECK(canon.port == addr->port);
        SB_FUZZ_CHECK(canon.canonical() == canon);
    }
    return 0;
}
