#pragma once
// Agent: ICE (RFC 8445) for one data stream with one component (WebRTC bundles everything and
// multiplexes RTCP), with trickle (RFC 8838), consent freshness (RFC 7675) and ICE restart; in
// lite mode (RFC 8445 §2.5) it only answers checks, as a server does. Sans-I/O: the caller
// owns the sockets. Datagrams go in with on_stun() (the caller demultiplexes by RFC 7983 and
// hands over STUN only), datagrams come out of poll_transmit() naming the local address to send
// from; time goes in with on_timeout(now) whenever next_timeout() says.
//
// Candidates here: host (the caller's addresses), server-reflexive (learnt from a STUN server),
// peer-reflexive (learnt from checks), relayed (a TURN allocation per host, turn_client.hpp):
// what goes out from a relayed candidate leaves wrapped for its TURN server, what the server
// relays in is unwrapped by on_relayed() before the caller demultiplexes it.
#include "rtc/ice/turn_client.hpp"
#include "stun/address.hpp"
#include "stun/message.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace switchboard::rtc::ice {

using stun::Address;

enum class CandidateType : std::uint8_t { Host, ServerReflexive, PeerReflexive, Relayed };
enum class Role : std::uint8_t { Controlling, Controlled };
enum class State : std::uint8_t { New, Checking, Connected, Disconnected, Failed, Closed };

struct Candidate {
    CandidateType type = CandidateType::Host;
    Address address;
    Address base; // where checks are sent from (the host address for server-reflexive ones)
    std::uint32_t priority = 0;
    std::string foundation;
    Address related; // raddr/rport for non-host candidates

    /// The a=candidate value ("candidate:...").
    std::string to_sdp() const;
};

/// RFC 8445 §5.1.2.1 with the recommended type preferences and one component.
std::uint32_t candidate_priority(CandidateType type, std::uint16_t local_preference = 65535) noexcept;
const char* type_name(CandidateType t) noexcept;

struct Options {
    bool lite = false;
    bool relay_only = false; // announce and use relayed candidates only (iceTransportPolicy "relay")
    std::int64_t pacing_ms = 50;          // Ta: one new check per interval
    std::int64_t check_rto_ms = 250;      // first retransmission of a check; doubles
    int check_attempts = 7;               // then the pair has failed
    std::int64_t nomination_delay_ms = 100; // controlling: wait for better pairs after the first success
    std::int64_t consent_interval_ms = 5000; // randomized by ±20 % (RFC 7675 §5.1)
    std::int64_t disconnected_after_ms = 7500; // no answer to consent checks for this long
    std::int64_t consent_timeout_ms = 30000;   // ... and failed after this long (RFC 7675)
    std::int64_t gathering_timeout_ms = 3000;  // a STUN server that does not answer
    std::size_t max_remote_candidates = 64;
    std::size_t max_pairs = 256;
};

struct Transmit {
    Address local;  // send from this local address (the candidate's base)
    Address remote;
    std::vector<std::uint8_t> data;
};

struct Event {
    enum class Kind : std::uint8_t { LocalCandidate, GatheringDone, StateChanged, SelectedPair };
    Kind kind = Kind::StateChanged;
    Candidate candidate; // LocalCandidate
    State state = State::New;
    Address local, remote; // SelectedPair
};

class Agent {
  public:
    /// `seed` makes credentials, tie-breaker and transaction ids (random_device by default).
    Agent(Role role, Options options = {}, std::optional<std::uint64_t> seed = {});

    const std::string& local_ufrag() const noexcept { return ufrag_; }
    const std::string& local_pwd() const noexcept { return pwd_; }
    Role role() const noexcept { return role_; }
    /// JSEP decides the role from who offers (RFC 8829 §5.2.1); set it before checks start.
    void set_role(Role role);
    State state() const noexcept { return state_; }

    /// A local address with a socket the caller reads from; becomes a host candidate.
    void add_host(const Address& local, std::int64_t now_ms);
    /// Learn a server-reflexive candidate from this STUN server (asked from every host, those
    /// added later too).
    void add_stun_server(const Address& server, std::int64_t now_ms);
    /// Learn a relayed candidate from this TURN server (an allocation from every host).
    void add_turn_server(const TurnServer& server, std::int64_t now_ms);
    /// No more host addresses or servers will be added: gathering ends when they are done.
    void end_of_local_candidates(std::int64_t now_ms);

    void set_remote_credentials(std::string ufrag, std::string pwd);
    /// A remote candidate (from the SDP or trickled). False if refused (limit, family).
    bool add_remote_candidate(const Candidate& c, std::int64_t now_ms);
    /// New local credentials and a fresh check list; the caller then sends a new offer or answer
    /// and sets the peer's new credentials. The selected pair keeps carrying data until a new
    /// one is nominated.
    void restart(std::int64_t now_ms);

    /// A STUN datagram that arrived on `local` from `remote`.
    void on_stun(const Address& local, const Address& remote, std::span<const std::uint8_t> datagram, std::int64_t now_ms);
    bool poll_transmit(Transmit& out);
    /// A datagram that came from one of our TURN servers (on `local`, from `remote`): handled
    /// here, or, when it carries a peer's data, returned as if it had arrived on the relayed
    /// address from the peer (`out_local`, `out_remote`, `payload` borrowing `datagram`).
    /// False when it is not from a TURN server of ours.
    bool on_relayed(const Address& local, const Address& remote, std::span<const std::uint8_t> datagram,
                    std::int64_t now_ms, Address& out_local, Address& out_remote,
                    std::span<const std::uint8_t>& payload, bool& has_payload);
    /// Data for the selected pair from a relayed candidate must go through its server: this
    /// wraps `t` in place (a no-op for other candidates). False when it cannot go out.
    bool wrap(Transmit& t);
    bool poll_event(Event& out);
    /// When on_timeout() is next due; nullopt if nothing is scheduled.
    std::optional<std::int64_t> next_timeout() const;
    void on_timeout(std::int64_t now_ms);
    /// Any datagram from the selected pair's remote counts as proof of life for the path.
    void on_data_received(const Address& remote, std::int64_t now_ms);
    void close();

    /// Where application data goes now (the selected pair), if any.
    bool selected(Address& local, Address& remote) const;
    /// Whether `remote` has shown itself to be the peer: our check to it was answered with the
    /// peer's password, or it sent us a check signed with ours. Data may arrive on any such
    /// pair, not only the selected one (a browser starts DTLS on the first pair that works for it).
    bool validated_remote(const Address& remote) const;
    const std::vector<Candidate>& local_candidates() const noexcept { return locals_; }
    /// Whether `c` is announced to the peer (all but host and server-reflexive ones when relay-only).
    bool announced(const Candidate& c) const noexcept { return !options_.relay_only || c.type == CandidateType::Relayed; }

  private:
    enum class PairState : std::uint8_t { Waiting, InProgress, Succeeded, Failed };
    struct Pair {
        std::size_t local;  // index into locals_
        Candidate remote;
        PairState state = PairState::Waiting;
        std::uint64_t priority = 0;
        stun::TransactionId tid{};
        int attempts = 0;
        std::int64_t next_send = 0;
        std::int64_t rto = 0;
        bool nominate = false;   // the check in flight carries USE-CANDIDATE
        bool nominated = false;  // the peer nominated it (controlled) or our nomination succeeded
        bool triggered = false;
        bool peer_checked = false; // an authenticated check came from the peer on this pair
    };
    struct Gather {
        Address server;
        std::size_t host;
        stun::TransactionId tid{};
        int attempts = 0;
        std::int64_t next_send = 0;
        bool done = false;
    };
    struct Consent {
        stun::TransactionId tid{};
        std::int64_t next_send = 0;
        std::int64_t last_answer = 0;
        bool in_flight = false;
    };

    stun::TransactionId new_tid();
    std::string random_string(std::size_t n);
    std::uint64_t pair_priority(std::uint32_t local, std::uint32_t remote) const noexcept;
    void add_pair(std::size_t local, const Candidate& remote, std::int64_t now);
    void sort_pairs();
    void send_check(Pair& p, std::int64_t now);
    void send_binding(const Address& from, const Address& to, const stun::TransactionId& tid, bool use_candidate);
    void answer(const Address& local, const Address& remote, const stun::MessageView& m, int error);
    void on_request(const Address& local, const Address& remote, const stun::MessageView& m, std::int64_t now);
    void on_response(const Address& local, const Address& remote, const stun::MessageView& m, std::int64_t now);
    void on_gather_response(Gather& g, const stun::MessageView& m);
    void maybe_nominate(std::int64_t now);
    void select(Pair& p, std::int64_t now);
    void set_state(State s);
    void check_gathering_done();
    void start_gather(std::size_t host, const Address& server, std::int64_t now_ms);
    std::size_t local_for(const Address& base) const;
    /// Keeps a local candidate and, unless relay-only hides it, tells the caller.
    void add_local(const Candidate& c);
    void start_turn(std::size_t host, const TurnServer& server, std::int64_t now_ms);
    void on_turn_progress(std::int64_t now_ms);
    TurnClient* turn_for_relayed(const Address& relayed);

    Role role_;
    Options options_;
    std::mt19937_64 rng_;
    std::uint64_t tiebreaker_;
    std::string ufrag_, pwd_, remote_ufrag_, remote_pwd_;
    State state_ = State::New;
    std::vector<Candidate> locals_;
    std::vector<Candidate> remotes_;
    std::vector<Pair> pairs_;
    std::vector<Address> stun_servers_;
    std::vector<Gather> gathers_;
    std::vector<TurnServer> turn_servers_;
    std::vector<std::unique_ptr<TurnClient>> turns_;
    std::vector<bool> turn_announced_; // per turns_ entry: its relayed candidate is in locals_
    bool end_of_locals_ = false, gathering_done_ = false;
    std::int64_t next_pacing_ = 0;
    std::int64_t first_success_ = -1;
    std::optional<std::size_t> selected_; // index into pairs_
    Address selected_local_, selected_remote_;
    bool has_selected_ = false;
    Consent consent_;
    std::deque<Transmit> out_;
    std::deque<Event> events_;
};

} // namespace switchboard::rtc::ice
