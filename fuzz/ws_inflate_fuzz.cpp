// Fuzz target: permessage-deflate streams (ws/deflate). Untrusted compressed input goes through
// the Inflater with a small output limit (a decompression bomb must stop at the limit), and the
// input as plain data must survive a Deflater -> Inflater round trip with and without context
// takeover.
//
// Input layout: [config] [message...]
//   config bits 0-2: window bits 8-15; bit 3: reset after each message (no context takeover);
//   bits 4-7: output limit (0 .. 15 * 512 bytes).
#include "ws/deflate.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {
using namespace switchboard;
using namespace switchboard::ws;

bool same(const ByteBuffer &b, std::span<const std::uint8_t> s) {
    return b.size() == s.size() && (s.empty() || std::memcmp(b.data(), s.data(), s.size()) == 0);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::uint8_t cfg = data[0];
    const int bits = 8 + (cfg & 7);
    const bool reset = cfg & 8;
    const std::size_t max_out = static_cast<std::size_t>(cfg >> 4) * 512;
    std::span<const std::uint8_t> msg(data + 1, size - 1);

    // 1. Untrusted input, twice on one stream (the second sees whatever the first left).
    {
        Inflater inf(bits);
        SB_FUZZ_CHECK(inf.window_bits() >= 9 && inf.window_bits() <= 15);
        for (int round = 0; round < 2; ++round) {
            ByteBuffer out;
            out.append("x", 1); // output is appended after what is there
            auto st = inf.inflate(msg, out, max_out, reset);
            SB_FUZZ_CHECK(out.size() >= 1 && out.data()[0] == 'x');
            if (st == Inflater::Status::Ok)
                SB_FUZZ_CHECK(out.size() - 1 <= max_out);
            if (st == Inflater::Status::TooBig)
                SB_FUZZ_CHECK(out.size() - 1 > max_out && out.size() - 1 <= max_out + 1);
        }
    }

    // 2. Round trip: the message as plain data. zlib has no raw 8-bit deflate window.
    const int dbits = bits < 9 ? 9 : bits;
    Deflater def(dbits, 1 + (cfg >> 4) % 9);
    Inflater inf(dbits);
    for (int round = 0; round < 2; ++round) {
        ByteBuffer z;
        SB_FUZZ_CHECK(def.deflate(msg, z, reset));
        SB_FUZZ_CHECK(z.size() >= 1);
        ByteBuffer plain;
        auto st = inf.inflate(z.span(), plain, msg.size(), reset);
        SB_FUZZ_CHECK(st == Inflater::Status::Ok);
        SB_FUZZ_CHECK(same(plain, msg));
        if (!msg.empty()) {
            // One byte short of the message must be refused.
            if (reset) {
                Inflater tight(dbits);
                ByteBuffer cut;
                SB_FUZZ_CHECK(tight.inflate(z.span(), cut, msg.size() - 1, true) ==
                              Inflater::Status::TooBig);
            }
        }
    }
    return 0;
}
