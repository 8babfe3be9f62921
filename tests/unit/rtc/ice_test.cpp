#include "rtc/ice/agent.hpp"

#include "stun/message.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <vector>

using namespace switchboard;
using namespace switchboard::rtc::ice;

namespace {

Address addr(const char* text) { return *Address::parse(text); }

// A simulated network of agents (and, optionally, a STUN server) on simulated time.
struct Net {
    std::int64_t now = 1000;
    std::map<std::string, Agent*> owners; // local address -> agent
    std::function<bool(const Transmit&)> drop = [](const Transmit&) { return false; };
    // A STUN server at `server` that maps every source to `mapped`.
    std::optional<Address> server, mapped;
    std::map<Agent*, std::vector<Event>> events;

    void attach(Agent& a, const char* local) {
        owners[addr(local).to_string()] = &a;
        a.add_host(addr(local), now);
    }

    void deliver(Agent& from) {
        Transmit t;
        while (from.poll_transmit(t)) {
            if (drop(t)) continue;
            if (server && t.remote == *server) {
                auto m = stun::parse(t.data);
                if (!m) continue;
                std::array<std::uint8_t, 128> buf;
                stun::Writer w(buf, stun::Method::Binding, stun::Class::Success, m->transaction_id());
                w.add_xor_address(stun::attr::XorMappedAddress, *mapped);
                const std::size_t n = w.finish();
                from.on_stun(t.local, *server, std::span(buf.data(), n), now);
                continue;
            }
            auto it = owners.find(t.remote.to_string());
            if (it != owners.end()) it->second->on_stun(t.remote, t.local, t.data, now);
        }
    }

    void run(std::vector<Agent*> agents, std::int64_t ms) {
        const std::int64_t end = now + ms;
        while (now < end) {
            for (int round = 0; round < 4; ++round)
                for (Agent* a : agents) deliver(*a);
            for (Agent* a : agents) {
                Event e;
                while (a->poll_event(e)) events[a].push_back(e);
            }
            now += 5;
            for (Agent* a : agents)
                if (auto t = a->next_timeout(); t && *t <= now) a->on_timeout(now);
        }
    }

    int count(Agent& a, Event::Kind k) {
        int n = 0;
        for (auto& e : events[&a]) n += e.kind == k;
        return n;
    }
};

void exchange(Agent& a, Agent& b, std::int64_t now, bool a_learns = true, bool b_learns = true) {
    a.set_remote_credentials(b.local_ufrag(), b.local_pwd());
    b.set_remote_credentials(a.local_ufrag(), a.local_pwd());
    if (a_learns)
        for (const auto& c : b.local_candidates()) a.add_remote_candidate(c, now);
    if (b_learns)
        for (const auto& c : a.local_candidates()) b.add_remote_candidate(c, now);
}

bool same_path(Agent& a, Agent& b) {
    Address al, ar, bl, br;
    return a.selected(al, ar) && b.selected(bl, br) && al == br && ar == bl;
}

} // namespace

TEST(IceAgent, CandidatesAndPriorities) {
    EXPECT_GT(candidate_priority(CandidateType::Host), candidate_priority(CandidateType::PeerReflexive));
    EXPECT_GT(candidate_priority(CandidateType::PeerReflexive), candidate_priority(CandidateType::ServerReflexive));
    EXPECT_GT(candidate_priority(CandidateType::ServerReflexive), candidate_priority(CandidateType::Relayed));
    Agent a(Role::Controlling, {}, 1);
    EXPECT_GE(a.local_ufrag().size(), 4u);
    EXPECT_GE(a.local_pwd().size(), 22u);
    a.add_host(addr("192.0.2.1:5000"), 0);
    ASSERT_EQ(a.local_candidates().size(), 1u);
    EXPECT_EQ(a.local_candidates()[0].to_sdp().substr(0, 10), "candidate:");
    EXPECT_NE(a.local_candidates()[0].to_sdp().find("192.0.2.1 5000 typ host"), std::string::npos);
}

TEST(IceAgent, TwoFullAgentsConnectOnTheSamePair) {
    Net net;
    Agent a(Role::Controlling, {}, 1), b(Role::Controlled, {}, 2);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    a.end_of_local_candidates(net.now);
    b.end_of_local_candidates(net.now);
    exchange(a, b, net.now);
    net.run({&a, &b}, 2000);
    EXPECT_EQ(a.state(), State::Connected);
    EXPECT_EQ(b.state(), State::Connected);
    EXPECT_TRUE(same_path(a, b));
    EXPECT_EQ(net.count(a, Event::Kind::SelectedPair), 1);
    EXPECT_EQ(net.count(b, Event::Kind::SelectedPair), 1);
    // Consent keeps it connected for a minute of quiet.
    net.run({&a, &b}, 60000);
    EXPECT_EQ(a.state(), State::Connected);
    EXPECT_EQ(b.state(), State::Connected);
}

TEST(IceAgent, BothControllingResolveTheConflict) {
    Net net;
    Agent a(Role::Controlling, {}, 3), b(Role::Controlling, {}, 4);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    exchange(a, b, net.now);
    net.run({&a, &b}, 3000);
    EXPECT_NE(a.role(), b.role());
    EXPECT_EQ(a.state(), State::Connected);
    EXPECT_EQ(b.state(), State::Connected);
    EXPECT_TRUE(same_path(a, b));
}

TEST(IceAgent, APeerReflexiveCandidateIsLearntFromChecks) {
    Net net;
    Agent a(Role::Controlling, {}, 5), b(Role::Controlled, {}, 6);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    exchange(a, b, net.now, true, false); // b never hears of a's candidates (no trickle)
    net.run({&a, &b}, 3000);
    EXPECT_EQ(a.state(), State::Connected);
    EXPECT_EQ(b.state(), State::Connected);
    EXPECT_TRUE(same_path(a, b));
}

TEST(IceAgent, RemotesThatProvedToBeThePeerAreValidatedOthersNot) {
    // Data may come on any pair ICE has validated (a browser starts DTLS on the first one that
    // works for it); only the peer's authenticated checks or answers validate an address.
    Net net;
    Agent a(Role::Controlling, {}, 21), b(Role::Controlled, {}, 22);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    net.attach(b, "10.0.0.3:3000");
    EXPECT_FALSE(a.validated_remote(addr("10.0.0.2:2000")));
    exchange(a, b, net.now, false, true); // a learns b's addresses only from b's checks
    net.run({&a, &b}, 3000);
    ASSERT_EQ(a.state(), State::Connected);
    EXPECT_TRUE(a.validated_remote(addr("10.0.0.2:2000")));
    EXPECT_TRUE(a.validated_remote(addr("10.0.0.3:3000")));
    EXPECT_TRUE(b.validated_remote(addr("10.0.0.1:1000")));
    EXPECT_FALSE(a.validated_remote(addr("10.0.0.4:4000")));
    // A check from another address without b's password validates nothing.
    Agent c(Role::Controlled, {}, 23);
    net.attach(c, "10.0.0.5:5000");
    c.set_remote_credentials(a.local_ufrag(), "not-the-password-of-a-at-all");
    c.add_remote_candidate(a.local_candidates()[0], net.now);
    net.run({&a, &b, &c}, 1000);
    EXPECT_FALSE(a.validated_remote(addr("10.0.0.5:5000")));
}

TEST(IceAgent, ALiteAgentAnswersAndFollowsTheNomination) {
    Net net;
    Options lite;
    lite.lite = true;
    Agent a(Role::Controlling, {}, 7), server(Role::Controlling, lite, 8);
    EXPECT_EQ(server.role(), Role::Controlled); // lite agents are always controlled
    net.attach(a, "10.0.0.1:1000");
    net.attach(server, "10.0.0.9:3478");
    exchange(a, server, net.now);
    net.run({&a, &server}, 2000);
    EXPECT_EQ(a.state(), State::Connected);
    EXPECT_EQ(server.state(), State::Connected);
    EXPECT_TRUE(same_path(a, server));
}

TEST(IceAgent, ChecksWithoutOurPasswordGetNoAnswer) {
    Net net;
    Agent a(Role::Controlling, {}, 9), b(Role::Controlled, {}, 10);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    a.set_remote_credentials(b.local_ufrag(), "not-the-password-of-b-at-all");
    b.set_remote_credentials(a.local_ufrag(), a.local_pwd());
    a.add_remote_candidate(b.local_candidates()[0], net.now);
    net.run({&a, &b}, 5000);
    EXPECT_NE(a.state(), State::Connected);
    Transmit t;
    EXPECT_FALSE(b.poll_transmit(t));
    EXPECT_NE(b.state(), State::Connected);
}

TEST(IceAgent, ConsentLossDisconnectsThenFails) {
    Net net;
    Agent a(Role::Controlling, {}, 11), b(Role::Controlled, {}, 12);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    exchange(a, b, net.now);
    net.run({&a, &b}, 1000);
    ASSERT_EQ(a.state(), State::Connected);
    net.drop = [](const Transmit&) { return true; };
    net.run({&a, &b}, 9000);
    EXPECT_EQ(a.state(), State::Disconnected);
    net.run({&a, &b}, 25000);
    EXPECT_EQ(a.state(), State::Failed);
    Address l, r;
    EXPECT_FALSE(a.selected(l, r));
}

TEST(IceAgent, AShortOutageRecovers) {
    Net net;
    Agent a(Role::Controlling, {}, 13), b(Role::Controlled, {}, 14);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    exchange(a, b, net.now);
    net.run({&a, &b}, 1000);
    net.drop = [](const Transmit&) { return true; };
    net.run({&a, &b}, 9000);
    EXPECT_EQ(a.state(), State::Disconnected);
    net.drop = [](const Transmit&) { return false; };
    net.run({&a, &b}, 8000);
    EXPECT_EQ(a.state(), State::Connected);
}

TEST(IceAgent, ServerReflexiveCandidatesFromAStunServer) {
    Net net;
    net.server = addr("198.51.100.1:3478");
    net.mapped = addr("203.0.113.5:40000");
    Agent a(Role::Controlling, {}, 15);
    net.attach(a, "10.0.0.1:1000");
    a.add_stun_server(*net.server, net.now);
    a.end_of_local_candidates(net.now);
    net.run({&a}, 1000);
    ASSERT_EQ(a.local_candidates().size(), 2u);
    const Candidate& c = a.local_candidates()[1];
    EXPECT_EQ(c.type, CandidateType::ServerReflexive);
    EXPECT_EQ(c.address, *net.mapped);
    EXPECT_EQ(c.related, addr("10.0.0.1:1000"));
    EXPECT_NE(c.to_sdp().find("typ srflx raddr 10.0.0.1 rport 1000"), std::string::npos);
    EXPECT_EQ(net.count(a, Event::Kind::LocalCandidate), 2);
    EXPECT_EQ(net.count(a, Event::Kind::GatheringDone), 1);
}

TEST(IceAgent, AnUnansweringStunServerEndsGatheringAnyway) {
    Net net;
    Agent a(Role::Controlling, {}, 16);
    net.attach(a, "10.0.0.1:1000");
    a.add_stun_server(addr("198.51.100.1:3478"), net.now); // nobody there
    a.end_of_local_candidates(net.now);
    net.run({&a}, 20000);
    EXPECT_EQ(net.count(a, Event::Kind::GatheringDone), 1);
    EXPECT_EQ(a.local_candidates().size(), 1u);
}

TEST(IceAgent, RestartNegotiatesNewCredentialsAndReconnects) {
    Net net;
    Agent a(Role::Controlling, {}, 17), b(Role::Controlled, {}, 18);
    net.attach(a, "10.0.0.1:1000");
    net.attach(b, "10.0.0.2:2000");
    exchange(a, b, net.now);
    net.run({&a, &b}, 1000);
    ASSERT_EQ(a.state(), State::Connected);
    const std::string old = a.local_ufrag();
    a.restart(net.now);
    b.restart(net.now);
    EXPECT_NE(a.local_ufrag(), old);
    Address l, r;
    EXPECT_TRUE(a.selected(l, r)); // data keeps flowing on the old path meanwhile
    exchange(a, b, net.now);
    net.run({&a, &b}, 2000);
    EXPECT_EQ(a.state(), State::Connected);
    EXPECT_EQ(b.state(), State::Connected);
    EXPECT_TRUE(same_path(a, b));
    net.run({&a, &b}, 40000); // consent with the new credentials
    EXPECT_EQ(a.state(), State::Connected);
}

TEST(IceAgent, AllPairsFailingFails) {
    Net net;
    Agent a(Role::Controlling, {}, 19);
    net.attach(a, "10.0.0.1:1000");
    a.end_of_local_candidates(net.now);
    a.set_remote_credentials("abcd", "abcdefghijklmnopqrstuvwx");
    Candidate c;
    c.address = addr("10.0.0.77:9");
    c.priority = candidate_priority(CandidateType::Host);
    c.foundation = "1";
    a.add_remote_candidate(c, net.now);
    net.run({&a}, 60000);
    EXPECT_EQ(a.state(), State::Failed);
}

TEST(IceAgent, AStunServerGivenBeforeTheHostsIsAskedFromEach) {
    Net net;
    net.server = addr("198.51.100.1:3478");
    net.mapped = addr("203.0.113.5:40000");
    Agent a(Role::Controlling, {}, 20);
    a.add_stun_server(*net.server, net.now);
    a.add_stun_server(*net.server, net.now); // twice: still asked once per host
    net.attach(a, "10.0.0.1:1000");
    a.end_of_local_candidates(net.now);
    net.run({&a}, 1000);
    ASSERT_EQ(a.local_candidates().size(), 2u);
    EXPECT_EQ(a.local_candidates()[1].type, CandidateType::ServerReflexive);
    EXPECT_EQ(net.count(a, Event::Kind::GatheringDone), 1);
}
