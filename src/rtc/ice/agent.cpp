#include "rtc/ice/agent.hpp"

#include "base/byte_reader.hpp"

#include <algorithm>
#include <array>

namespace switchboard::rtc::ice {

namespace {

constexpr int kGatherAttempts = 5;
constexpr std::int64_t kGatherRto = 500;
constexpr std::size_t kMaxMessage = 548; // what every path carries (RFC 8489 §6.1)

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::uint8_t type_preference(CandidateType t) {
    switch (t) {
    case CandidateType::Host: return 126;
    case CandidateType::PeerReflexive: return 110;
    case CandidateType::ServerReflexive: return 100;
    case CandidateType::Relayed: return 0;
    }
    return 0;
}

} // namespace

std::uint32_t candidate_priority(CandidateType type, std::uint16_t local_preference) noexcept {
    return (static_cast<std::uint32_t>(type_preference(type)) << 24) | (static_cast<std::uint32_t>(local_preference) << 8) |
           (256 - 1); // component 1
}

const char* type_name(CandidateType t) noexcept {
    switch (t) {
    case CandidateType::Host: return "host";
    case CandidateType::ServerReflexive: return "srflx";
    case CandidateType::PeerReflexive: return "prflx";
    case CandidateType::Relayed: return "relay";
    }
    return "host";
}

std::string Candidate::to_sdp() const {
    std::string c = "candidate:" + foundation + " 1 udp " + std::to_string(priority) + " " + address.ip_string() + " " +
                    std::to_string(address.port) + " typ " + type_name(type);
    if (type != CandidateType::Host) {
        c += " raddr ";
        c += related.ip_string();
        c += " rport ";
        c += std::to_string(related.port);
    }
    return c;
}

Agent::Agent(Role role, Options options, std::optional<std::uint64_t> seed)
    : role_(options.lite ? Role::Controlled : role), options_(options),
      rng_(seed ? *seed : (static_cast<std::uint64_t>(std::random_device{}()) << 32 | std::random_device{}())) {
    tiebreaker_ = rng_();
    // RFC 8839 §5.4: ufrag of at least 24 bits, pwd of at least 128 bits of randomness.
    ufrag_ = random_string(8);
    pwd_ = random_string(24);
}

std::string Agent::random_string(std::size_t n) {
    static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string s(n, 'A');
    for (auto& ch : s) ch = kChars[rng_() % 64];
    return s;
}

stun::TransactionId Agent::new_tid() {
    stun::TransactionId t;
    for (auto& b : t) b = static_cast<std::uint8_t>(rng_());
    return t;
}

void Agent::set_state(State s) {
    if (s == state_) return;
    state_ = s;
    Event e;
    e.kind = Event::Kind::StateChanged;
    e.state = s;
    events_.push_back(std::move(e));
}

void Agent::set_role(Role role) {
    if (options_.lite || role == role_) return;
    role_ = role;
    for (auto& p : pairs_) p.priority = pair_priority(locals_[p.local].priority, p.remote.priority);
    sort_pairs();
}

// ---------------------------------------------------------------- gathering

void Agent::add_host(const Address& local, std::int64_t now_ms) {
    if (state_ == State::Closed) return;
    for (const auto& l : locals_)
        if (l.type == CandidateType::Host && l.address == local) return;
    Candidate c;
    c.type = CandidateType::Host;
    c.address = c.base = local;
    const std::uint16_t pref = static_cast<std::uint16_t>(65535 - std::min<std::size_t>(locals_.size(), 1000));
    c.priority = candidate_priority(CandidateType::Host, pref);
    c.foundation = std::to_string(1 + locals_.size());
    add_local(c);
    for (const auto& r : remotes_) add_pair(locals_.size() - 1, r, now_ms);
    for (const auto& s : stun_servers_) start_gather(locals_.size() - 1, s, now_ms);
    for (const auto& t : turn_servers_) start_turn(locals_.size() - 1, t, now_ms);
}

void Agent::add_local(const Candidate& c) {
    locals_.push_back(c);
    if (!announced(c)) return;
    Event e;
    e.kind = Event::Kind::LocalCandidate;
    e.candidate = c;
    events_.push_back(std::move(e));
}

// ---------------------------------------------------------------- remote side and pairs

void Agent::set_remote_credentials(std::string ufrag, std::string pwd) {
    remote_ufrag_ = std::move(ufrag);
    remote_pwd_ = std::move(pwd);
}

bool Agent::add_remote_candidate(const Candidate& c, std::int64_t now_ms) {
    if (state_ == State::Closed || remotes_.size() >= options_.max_remote_candidates || c.address.port == 0) return false;
    for (const auto& r : remotes_)
        if (r.address == c.address) return true;
    remotes_.push_back(c);
    for (std::size_t i = 0; i < locals_.size(); ++i)
        if (locals_[i].type == CandidateType::Host || locals_[i].type == CandidateType::Relayed) add_pair(i, c, now_ms);
    if (state_ == State::Failed) set_state(State::Checking);
    return true;
}

std::uint64_t Agent::pair_priority(std::uint32_t local, std::uint32_t remote) const noexcept {
    // RFC 8445 §6.1.2.3: G is the controlling agent's candidate priority.
    const std::uint64_t g = role_ == Role::Controlling ? local : remote;
    const std::uint64_t d = role_ == Role::Controlling ? remote : local;
    return (std::min(g, d) << 32) + 2 * std::max(g, d) + (g > d ? 1 : 0);
}

void Agent::add_pair(std::size_t local, const Candidate& remote, std::int64_t now) {
    if (options_.lite || pairs_.size() >= options_.max_pairs) return;
    if (options_.relay_only && locals_[local].type != CandidateType::Relayed) return;
    if (locals_[local].address.family != remote.address.family) return;
    for (const auto& p : pairs_)
        if (p.local == local && p.remote.address == remote.address) return;
    Pair p;
    p.local = local;
    p.remote = remote;
    p.priority = pair_priority(locals_[local].priority, remote.priority);
    pairs_.push_back(p);
    sort_pairs();
    if (locals_[local].type == CandidateType::Relayed)
        if (TurnClient* t = turn_for_relayed(locals_[local].address)) t->permit(remote.address, now);
}

void Agent::sort_pairs() {
    std::optional<std::pair<std::size_t, Address>> sel;
    if (selected_) sel = std::make_pair(pairs_[*selected_].local, pairs_[*selected_].remote.address);
    std::stable_sort(pairs_.begin(), pairs_.end(), [](const Pair& a, const Pair& b) { return a.priority > b.priority; });
    if (sel)
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i].local == sel->first && pairs_[i].remote.address == sel->second) selected_ = i;
}

std::size_t Agent::local_for(const Address& base) const {
    for (std::size_t i = 0; i < locals_.size(); ++i)
        if ((locals_[i].type == CandidateType::Host || locals_[i].type == CandidateType::Relayed) &&
            locals_[i].address == base)
            return i;
    return locals_.size();
}

// ---------------------------------------------------------------- sending

void Agent::send_binding(const Address& from, const Address& to, const stun::TransactionId& tid, bool use_candidate) {
    std::array<std::uint8_t, kMaxMessage> buf;
    stun::Writer w(buf, stun::Method::Binding, stun::Class::Request, tid);
    w.add(stun::attr::Username, remote_ufrag_ + ":" + ufrag_);
    w.add_u32(stun::attr::Priority, candidate_priority(CandidateType::PeerReflexive));
    std::array<std::uint8_t, 8> tb;
    put_u32be(tb.data(), static_cast<std::uint32_t>(tiebreaker_ >> 32));
    put_u32be(tb.data() + 4, static_cast<std::uint32_t>(tiebreaker_));
    w.add(role_ == Role::Controlling ? stun::attr::IceControlling : stun::attr::IceControlled, tb);
    if (use_candidate) w.add(stun::attr::UseCandidate, std::span<const std::uint8_t>{});
    w.add_integrity(bytes(remote_pwd_));
    w.add_fingerprint();
    const std::size_t n = w.finish();
    if (n == 0) return;
    out_.push_back(Transmit{from, to, std::vector<std::uint8_t>(buf.begin(), buf.begin() + n)});
}

void Agent::send_check(Pair& p, std::int64_t now) {
    if (remote_ufrag_.empty()) return; // checks need the peer's credentials
    if (p.state != PairState::InProgress || p.attempts == 0) {
        p.tid = new_tid();
        p.attempts = 0;
        p.rto = options_.check_rto_ms;
    }
    p.state = PairState::InProgress;
    ++p.attempts;
    p.next_send = now + p.rto;
    p.rto *= 2;
    send_binding(locals_[p.local].base, p.remote.address, p.tid, p.nominate);
    if (state_ == State::New) set_state(State::Checking);
}

void Agent::answer(const Address& local, const Address& remote, const stun::MessageView& m, int error) {
    std::array<std::uint8_t, kMaxMessage> buf;
    stun::Writer w(buf, stun::Method::Binding, error ? stun::Class::Error : stun::Class::Success, m.transaction_id());
    if (error) w.add_error(error, "Role Conflict");
    else w.add_xor_address(stun::attr::XorMappedAddress, remote);
    w.add_integrity(bytes(pwd_));
    w.add_fingerprint();
    const std::size_t n = w.finish();
    if (n) out_.push_back(Transmit{local, remote, std::vector<std::uint8_t>(buf.begin(), buf.begin() + n)});
}

// ---------------------------------------------------------------- receiving

void Agent::on_stun(const Address& local, const Address& remote, std::span<const std::uint8_t> datagram, std::int64_t now) {
    if (state_ == State::Closed) return;
    auto parsed = stun::parse(datagram);
    if (!parsed) return;
    const stun::MessageView& m = *parsed;
    if (m.method() != stun::Method::Binding) return;
    if (m.cls() == stun::Class::Request) return on_request(local, remote, m, now);
    if (m.cls() == stun::Class::Success || m.cls() == stun::Class::Error) return on_response(local, remote, m, now);
}

void Agent::on_request(const Address& local, const Address& remote, const stun::MessageView& m, std::int64_t now) {
    // Only checks meant for us, signed with our password (RFC 8445 §7.3): anything else is
    // dropped without an answer, so nobody can use us to reflect traffic.
    if (m.has_fingerprint() && !m.fingerprint_ok()) return;
    auto user = m.text(stun::attr::Username);
    if (!user || user->size() <= ufrag_.size() || user->substr(0, ufrag_.size()) != ufrag_ || (*user)[ufrag_.size()] != ':')
        return;
    if (!m.has_integrity() || !m.integrity_ok(bytes(pwd_))) return;
    const std::size_t li = local_for(local);
    if (li == locals_.size()) return;
    // Role conflicts (RFC 8445 §7.3.1.1).
    auto tb_of = [&](std::uint16_t attr) -> std::optional<std::uint64_t> {
        auto v = m.find(attr);
        if (!v || v->size() != 8) return std::nullopt;
        return static_cast<std::uint64_t>(get_u32be(v->data())) << 32 | get_u32be(v->data() + 4);
    };
    if (!options_.lite) {
        if (role_ == Role::Controlling) {
            if (auto theirs = tb_of(stun::attr::IceControlling)) {
                if (tiebreaker_ >= *theirs) return answer(local, remote, m, 487);
                role_ = Role::Controlled;
            }
        } else if (auto theirs = tb_of(stun::attr::IceControlled)) {
            if (tiebreaker_ >= *theirs) role_ = Role::Controlling;
            else return answer(local, remote, m, 487);
        }
    }
    answer(local, remote, m, 0);
    if (state_ == State::New) set_state(State::Checking);
    const bool use_candidate = m.has(stun::attr::UseCandidate);
    if (options_.lite) {
        // A lite agent has no checks of its own: the controlling peer's nominated check decides
        // (and, until one arrives, the latest valid check keeps data flowing).
        if (use_candidate || !has_selected_) {
            Pair p;
            p.local = li;
            p.remote.address = remote;
            pairs_.clear();
            pairs_.push_back(p);
            selected_.reset();
            select(pairs_[0], now);
        }
        return;
    }
    // A check from an address we did not know is a peer-reflexive candidate (RFC 8445 §7.3.1.3).
    auto known = std::find_if(remotes_.begin(), remotes_.end(), [&](const Candidate& c) { return c.address == remote; });
    if (known == remotes_.end()) {
        Candidate c;
        c.type = CandidateType::PeerReflexive;
        c.address = c.base = remote;
        c.priority = m.u32(stun::attr::Priority).value_or(candidate_priority(CandidateType::PeerReflexive));
        c.foundation = "prflx";
        if (remotes_.size() < options_.max_remote_candidates) remotes_.push_back(c);
        add_pair(li, c, now);
    }
    auto it = std::find_if(pairs_.begin(), pairs_.end(),
                           [&](const Pair& p) { return p.local == li && p.remote.address == remote; });
    if (it == pairs_.end()) return;
    it->peer_checked = true;
    if (use_candidate && role_ == Role::Controlled) it->nominated = true;
    if (it->state == PairState::Succeeded) {
        if (it->nominated && role_ == Role::Controlled) select(*it, now);
    } else if (it->state != PairState::InProgress) {
        // A triggered check (§7.3.1.4): our own check on the same pair, ahead of the others.
        it->state = PairState::Waiting;
        it->attempts = 0;
        it->triggered = true;
        next_pacing_ = std::min(next_pacing_, now);
    }
}

void Agent::on_response(const Address& local, const Address& remote, const stun::MessageView& m, std::int64_t now) {
    for (auto& g : gathers_)
        if (!g.done && g.tid == m.transaction_id()) return on_gather_response(g, m);
    if (has_selected_ && consent_.in_flight && consent_.tid == m.transaction_id()) {
        if (m.cls() == stun::Class::Success && m.integrity_ok(bytes(remote_pwd_))) {
            consent_.in_flight = false;
            consent_.last_answer = now;
            if (state_ == State::Disconnected) set_state(State::Connected);
        }
        return;
    }
    auto it = std::find_if(pairs_.begin(), pairs_.end(), [&](const Pair& p) {
        return p.state == PairState::InProgress && p.tid == m.transaction_id();
    });
    if (it == pairs_.end()) return;
    if (!m.has_integrity() || !m.integrity_ok(bytes(remote_pwd_))) return; // not from the peer
    Pair& p = *it;
    // Checks are symmetric (RFC 8445 §7.2.5.2.1): the answer must come from where we sent.
    if (!(remote == p.remote.address) || !(local == locals_[p.local].base)) {
        p.state = PairState::Failed;
        return;
    }
    if (m.cls() == stun::Class::Error) {
        auto e = m.error_code();
        if (e && e->first == 487) { // role conflict: switch and check again (§7.2.5.1)
            role_ = role_ == Role::Controlling ? Role::Controlled : Role::Controlling;
            for (auto& q : pairs_) q.priority = pair_priority(locals_[q.local].priority, q.remote.priority);
            p.state = PairState::Waiting;
            p.attempts = 0;
            p.triggered = true;
            sort_pairs();
        } else {
            p.state = PairState::Failed;
        }
        return;
    }
    p.state = PairState::Succeeded;
    p.attempts = 0;
    if (p.nominate) p.nominated = true;
    if (first_success_ < 0) first_success_ = now;
    if (p.nominated) select(p, now);
    else maybe_nominate(now);
}

void Agent::maybe_nominate(std::int64_t now) {
    if (role_ != Role::Controlling || options_.lite || (has_selected_ && selected_)) return;
    if (std::any_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.nominate && p.state == PairState::InProgress; }))
        return;
    auto best = std::find_if(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.state == PairState::Succeeded; });
    if (best == pairs_.end()) return;
    // Nominate once the best pair that can still succeed has (pairs are sorted by priority),
    // or after a short wait for better ones.
    const bool better_pending = std::any_of(pairs_.begin(), best, [](const Pair& p) {
        return p.state == PairState::Waiting || p.state == PairState::InProgress;
    });
    if (better_pending && now - first_success_ < options_.nomination_delay_ms) return;
    best->nominate = true;
    best->state = PairState::Waiting;
    best->attempts = 0;
    best->triggered = true;
    next_pacing_ = std::min(next_pacing_, now);
}

void Agent::select(Pair& p, std::int64_t now) {
    const std::size_t index = static_cast<std::size_t>(&p - pairs_.data());
    const Address local = locals_[p.local].base, remote = p.remote.address;
    const bool changed = !has_selected_ || !(selected_local_ == local) || !(selected_remote_ == remote);
    selected_ = index;
    has_selected_ = true;
    selected_local_ = local;
    selected_remote_ = remote;
    consent_.last_answer = now;
    consent_.in_flight = false;
    consent_.next_send = now + options_.consent_interval_ms;
    if (changed) {
        Event e;
        e.kind = Event::Kind::SelectedPair;
        e.local = local;
        e.remote = remote;
        events_.push_back(std::move(e));
    }
    set_state(State::Connected);
}

// ---------------------------------------------------------------- time

std::optional<std::int64_t> Agent::next_timeout() const {
    if (state_ == State::Closed || state_ == State::Failed) return std::nullopt;
    std::optional<std::int64_t> t;
    auto at = [&](std::int64_t v) { t = t ? std::min(*t, v) : v; };
    for (const auto& g : gathers_)
        if (!g.done) at(g.next_send);
    bool waiting = false;
    for (const auto& p : pairs_) {
        if (p.state == PairState::InProgress) at(p.next_send);
        waiting |= p.state == PairState::Waiting;
    }
    if (waiting && !remote_ufrag_.empty()) at(next_pacing_);
    for (const auto& turn : turns_)
        if (auto v = turn->next_timeout()) at(*v);
    if (first_success_ >= 0 && role_ == Role::Controlling && !has_selected_) at(first_success_ + options_.nomination_delay_ms);
    if (has_selected_ && !options_.lite) {
        at(consent_.next_send);
        at(consent_.last_answer + options_.disconnected_after_ms);
        at(consent_.last_answer + options_.consent_timeout_ms);
    }
    return t;
}

void Agent::on_timeout(std::int64_t now) {
    if (state_ == State::Closed) return;
    for (auto& g : gathers_) {
        if (g.done || g.next_send > now) continue;
        if (g.attempts >= kGatherAttempts) {
            g.done = true;
            continue;
        }
        std::array<std::uint8_t, 64> buf;
        stun::Writer w(buf, stun::Method::Binding, stun::Class::Request, g.tid);
        w.add_fingerprint();
        const std::size_t n = w.finish();
        if (n) out_.push_back(Transmit{locals_[g.host].address, g.server, std::vector<std::uint8_t>(buf.begin(), buf.begin() + n)});
        g.next_send = now + (kGatherRto << g.attempts);
        ++g.attempts;
    }
    for (auto& turn : turns_)
        if (auto v = turn->next_timeout(); v && *v <= now) turn->on_timeout(now);
    on_turn_progress(now);
    check_gathering_done();

    // Retransmissions, and pairs that ran out of them.
    for (auto& p : pairs_) {
        if (p.state != PairState::InProgress || p.next_send > now) continue;
        if (p.attempts >= options_.check_attempts) {
            p.state = PairState::Failed;
            continue;
        }
        send_check(p, now);
    }
    // One new check per Ta, triggered ones first.
    if (now >= next_pacing_ && !remote_ufrag_.empty()) {
        auto pick = std::find_if(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.state == PairState::Waiting && p.triggered; });
        if (pick == pairs_.end())
            pick = std::find_if(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.state == PairState::Waiting; });
        if (pick != pairs_.end()) {
            pick->triggered = false;
            send_check(*pick, now);
            next_pacing_ = now + options_.pacing_ms;
        }
    }
    maybe_nominate(now);

    if (!has_selected_ && !pairs_.empty() && gathering_done_ &&
        std::all_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.state == PairState::Failed; }))
        set_state(State::Failed);

    // Consent freshness (RFC 7675) on the selected pair.
    if (has_selected_ && !options_.lite) {
        if (now - consent_.last_answer >= options_.consent_timeout_ms) {
            has_selected_ = false;
            selected_.reset();
            return set_state(State::Failed);
        }
        if (now - consent_.last_answer >= options_.disconnected_after_ms && state_ == State::Connected)
            set_state(State::Disconnected);
        if (now >= consent_.next_send && !remote_ufrag_.empty()) {
            consent_.tid = new_tid();
            consent_.in_flight = true;
            send_binding(selected_local_, selected_remote_, consent_.tid, false);
            const std::int64_t jitter = static_cast<std::int64_t>(rng_() % 401) - 200; // ±20 %
            consent_.next_send = now + options_.consent_interval_ms * (1000 + jitter) / 1000;
        }
    }
}

bool Agent::validated_remote(const Address& remote) const {
    if (has_selected_ && remote == selected_remote_) return true;
    return std::any_of(pairs_.begin(), pairs_.end(), [&](const Pair& p) {
        return p.remote.address == remote && (p.state == PairState::Succeeded || p.peer_checked);
    });
}

void Agent::on_data_received(const Address& remote, std::int64_t now) {
    // Data is not consent (RFC 7675 §5.1 wants an authenticated answer) but it shows the path
    // works: a disconnected state ends, the deadline for consent stays.
    (void)now;
    if (has_selected_ && remote == selected_remote_ && state_ == State::Disconnected) set_state(State::Connected);
}

void Agent::restart(std::int64_t now) {
    ufrag_ = random_string(8);
    pwd_ = random_string(24);
    remote_ufrag_.clear();
    remote_pwd_.clear();
    remotes_.clear();
    pairs_.clear();
    selected_.reset(); // the old path (has_selected_) carries data until a new pair is selected
    first_success_ = -1;
    consent_.in_flight = false;
    consent_.last_answer = now;
    next_pacing_ = now;
    if (state_ == State::Failed) set_state(State::Checking);
}

void Agent::close() {
    for (auto& t : turns_) t->close(); // the Refresh with lifetime 0 still goes out
    set_state(State::Closed);
    pairs_.clear();
    gathers_.clear();
    out_.clear();
    has_selected_ = false;
    selected_.reset();
}

bool Agent::poll_transmit(Transmit& out) {
    for (auto& t : turns_)
        if (std::vector<std::uint8_t> bytes; t->poll_transmit(bytes)) {
            out = Transmit{t->host(), t->server(), std::move(bytes)};
            return true;
        }
    while (!out_.empty()) {
        out = std::move(out_.front());
        out_.pop_front();
        if (wrap(out)) return true;
    }
    return false;
}

bool Agent::poll_event(Event& out) {
    if (events_.empty()) return false;
    out = std::move(events_.front());
    events_.pop_front();
    return true;
}

bool Agent::selected(Address& local, Address& remote) const {
    if (!has_selected_) return false;
    local = selected_local_;
    remote = selected_remote_;
    return true;
}

} // namespace switchboard::rtc::ice
