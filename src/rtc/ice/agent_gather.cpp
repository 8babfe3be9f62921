// Gathering the ICE agent's candidates beyond the host ones: server-reflexive (a STUN Binding
// from each host to each STUN server) and relayed (a TURN allocation per host and server, the
// candidate announced once allocated, checks and data from it wrapped for the server, and what
// the server relays unwrapped); gathering ends when every one has answered or given up.
#include "rtc/ice/agent.hpp"

#include <algorithm>

namespace switchboard::rtc::ice {

void Agent::add_stun_server(const Address& server, std::int64_t now_ms) {
    if (options_.lite || std::find(stun_servers_.begin(), stun_servers_.end(), server) != stun_servers_.end()) return;
    stun_servers_.push_back(server);
    for (std::size_t i = 0; i < locals_.size(); ++i)
        if (locals_[i].type == CandidateType::Host) start_gather(i, server, now_ms);
}

void Agent::start_gather(std::size_t host, const Address& server, std::int64_t now_ms) {
    if (locals_[host].address.family != server.family) return;
    Gather g;
    g.server = server;
    g.host = host;
    g.tid = new_tid();
    g.next_send = now_ms;
    gathers_.push_back(g);
}

void Agent::end_of_local_candidates(std::int64_t now_ms) {
    (void)now_ms;
    end_of_locals_ = true;
    check_gathering_done();
}

void Agent::check_gathering_done() {
    if (gathering_done_ || !end_of_locals_) return;
    if (std::any_of(gathers_.begin(), gathers_.end(), [](const Gather& g) { return !g.done; })) return;
    if (std::any_of(turns_.begin(), turns_.end(), [](const auto& t) { return t->state() == TurnClient::State::Allocating; }))
        return;
    gathering_done_ = true;
    Event e;
    e.kind = Event::Kind::GatheringDone;
    events_.push_back(std::move(e));
}

void Agent::on_gather_response(Gather& g, const stun::MessageView& m) {
    g.done = true;
    auto mapped = m.xor_address(stun::attr::XorMappedAddress);
    if (m.cls() == stun::Class::Success && mapped) {
        const Candidate& host = locals_[g.host];
        const bool known = std::any_of(locals_.begin(), locals_.end(), [&](const Candidate& c) { return c.address == *mapped; });
        if (!known) {
            Candidate c;
            c.type = CandidateType::ServerReflexive;
            c.address = *mapped;
            c.base = host.address;
            c.related = host.address;
            c.priority = candidate_priority(CandidateType::ServerReflexive,
                                            static_cast<std::uint16_t>(65535 - std::min<std::size_t>(g.host, 1000)));
            c.foundation = std::to_string(100 + g.host);
            add_local(c);
            // Checks go from the base: a server-reflexive candidate adds no pair of its own
            // (RFC 8445 §6.1.2.4 prunes it), it is only announced to the peer.
        }
    }
    check_gathering_done();
}


void Agent::add_turn_server(const TurnServer& server, std::int64_t now_ms) {
    if (options_.lite || turn_servers_.size() >= 4) return;
    for (const auto& t : turn_servers_)
        if (t.address == server.address && t.username == server.username) return;
    turn_servers_.push_back(server);
    for (std::size_t i = 0; i < locals_.size(); ++i)
        if (locals_[i].type == CandidateType::Host) start_turn(i, server, now_ms);
}

void Agent::start_turn(std::size_t host, const TurnServer& server, std::int64_t now_ms) {
    if (locals_[host].address.family != server.address.family) return;
    turns_.push_back(std::make_unique<TurnClient>(locals_[host].address, server, [this] { return new_tid(); }));
    turn_announced_.push_back(false);
    turns_.back()->start(now_ms);
}

TurnClient* Agent::turn_for_relayed(const Address& relayed) {
    for (auto& t : turns_)
        if (t->state() == TurnClient::State::Allocated && t->relayed() == relayed) return t.get();
    return nullptr;
}

void Agent::on_turn_progress(std::int64_t now) {
    for (std::size_t i = 0; i < turns_.size(); ++i) {
        TurnClient& t = *turns_[i];
        if (turn_announced_[i] || t.state() != TurnClient::State::Allocated) continue;
        turn_announced_[i] = true;
        Candidate c;
        c.type = CandidateType::Relayed;
        c.address = c.base = t.relayed(); // a relayed candidate is its own base (RFC 8445 §5.1.1.2)
        c.related = t.mapped();
        const std::size_t host = local_for(t.host());
        c.priority = candidate_priority(CandidateType::Relayed,
                                        static_cast<std::uint16_t>(65535 - std::min<std::size_t>(host, 1000)));
        c.foundation = std::to_string(200 + i);
        add_local(c);
        next_pacing_ = std::min(next_pacing_, now);
        for (const auto& r : remotes_) add_pair(locals_.size() - 1, r, now);
    }
    check_gathering_done();
}

bool Agent::on_relayed(const Address& local, const Address& remote, std::span<const std::uint8_t> datagram,
                       std::int64_t now_ms, Address& out_local, Address& out_remote,
                       std::span<const std::uint8_t>& payload, bool& has_payload) {
    has_payload = false;
    for (auto& t : turns_) {
        if (!(t->host() == local) || !(t->server() == remote)) continue;
        Address peer;
        if (!t->on_datagram(datagram, now_ms, peer, payload, has_payload)) return false;
        if (has_payload) {
            out_local = t->relayed();
            out_remote = peer;
        }
        on_turn_progress(now_ms);
        return true;
    }
    return false;
}

bool Agent::wrap(Transmit& t) {
    TurnClient* turn = nullptr;
    for (auto& c : turns_)
        if (c->state() == TurnClient::State::Allocated && c->relayed() == t.local) turn = c.get();
    if (!turn) return true; // not from a relayed candidate: as it is
    std::vector<std::uint8_t> wrapped;
    if (!turn->wrap(t.remote, t.data, wrapped)) return false;
    t = Transmit{turn->host(), turn->server(), std::move(wrapped)};
    return true;
}

} // namespace switchboard::rtc::ice
