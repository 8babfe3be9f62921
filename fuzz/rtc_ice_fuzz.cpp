// Fuzz target: the ICE agent (rtc/ice) fed hostile STUN. The input is cut into datagrams at
// each 0xFF 0xFF marker and given, from a few remote addresses, to a controlling and a lite
// agent that know their peer's credentials, with time moving on between them. Nothing signed
// with the wrong password may select a pair; answers go only to where requests came from;
// timers and queues stay bounded. The full agent also has a TURN server (the second remote):
// what comes from there goes through its TURN client first, as the peer connection does it.
#include "rtc/ice/agent.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>

using namespace switchboard;
using namespace switchboard::rtc::ice;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Address local = *Address::parse("10.0.0.1:1000");
    const Address remotes[] = {*Address::parse("10.0.0.2:2000"), *Address::parse("192.0.2.9:3478"),
                               *Address::parse("[2001:db8::1]:4000")};
    for (bool lite : {false, true}) {
        Options o;
        o.lite = lite;
        Agent a(Role::Controlling, o, 42);
        a.add_host(local, 0);
        if (!lite) a.add_turn_server(TurnServer{remotes[1], "user", "pass"}, 0);
        a.set_remote_credentials("abcd", "abcdefghijklmnopqrstuvwx");
        Candidate c;
        c.address = remotes[0];
        c.priority = candidate_priority(CandidateType::Host);
        a.add_remote_candidate(c, 0);
        std::int64_t now = 0;
        std::size_t start = 0, n = 0;
        for (std::size_t i = 0; i <= size; ++i) {
            const bool end = i == size || (i + 1 < size && data[i] == 0xff && data[i + 1] == 0xff);
            if (!end) continue;
            if (i > start) {
                const Address& from = remotes[n++ % 3];
                const std::span<const std::uint8_t> d{data + start, i - start};
                Address relayed, peer;
                std::span<const std::uint8_t> payload;
                bool has = false;
                if (a.on_relayed(local, from, d, now, relayed, peer, payload, has)) {
                    SB_FUZZ_CHECK(!has || (payload.data() >= d.data() && payload.data() + payload.size() <= d.data() + d.size()));
                    if (has) a.on_stun(relayed, peer, payload, now);
                } else {
                    a.on_stun(local, from, d, now);
                }
            }
            start = i + 2;
            ++i;
            now += 37;
            if (auto t = a.next_timeout(); t && *t <= now) a.on_timeout(now);
        }
        // Our password is random: no input can have been signed with it.
        Address l, r;
        SB_FUZZ_CHECK(!a.selected(l, r));
        Transmit t;
        std::size_t out = 0;
        while (a.poll_transmit(t)) {
            SB_FUZZ_CHECK(t.local == local); // relayed checks leave wrapped, from the host
            SB_FUZZ_CHECK(t.data.size() <= 1500);
            ++out;
        }
        SB_FUZZ_CHECK(out <= 4 * (size + 16));
    }
    return 0;
}
