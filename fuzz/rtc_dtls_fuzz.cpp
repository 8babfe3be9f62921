// Fuzz target: the DTLS transport (rtc/dtls) as a server and as a client that has started its
// handshake, fed the input as datagrams (split at each 0xFF 0xFF 0xFF marker). Whatever arrives,
// nothing may connect without a certificate matching the expected fingerprint, output stays
// within the MTU, and queues stay bounded.
#include "rtc/dtls/transport.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace switchboard::rtc::dtls;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto mine = Certificate::generate("fuzz");
    static auto theirs = Certificate::generate("peer");
    Options o;
    o.max_queued = 16;
    for (Role role : {Role::Server, Role::Client}) {
        Transport t(mine, role, theirs->fingerprint(), o);
        if (role == Role::Client) t.start();
        std::size_t start = 0;
        for (std::size_t i = 0; i <= size; ++i) {
            const bool end = i == size || (i + 2 < size && data[i] == 0xff && data[i + 1] == 0xff && data[i + 2] == 0xff);
            if (!end) continue;
            if (i > start) t.on_datagram({data + start, i - start});
            start = i + 3;
            i += 2;
        }
        // A peer that never showed the right certificate cannot have connected.
        SB_FUZZ_CHECK(t.state() != State::Connected);
        std::vector<std::uint8_t> d;
        std::size_t n = 0;
        while (t.poll_transmit(d)) {
            SB_FUZZ_CHECK(d.size() <= o.mtu);
            ++n;
        }
        SB_FUZZ_CHECK(n <= o.max_queued);
    }
    return 0;
}
