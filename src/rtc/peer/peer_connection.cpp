#include "rtc/peer/peer_connection.hpp"

#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/writer.hpp"

#include <random>

namespace switchboard::rtc {

namespace {
constexpr std::int64_t kSctpTickMs = 10;
} // namespace

PeerConnection::PeerConnection(PeerOptions options, std::optional<std::uint64_t> seed)
    : options_(std::move(options)), cert_(dtls::Certificate::generate()),
      ice_(ice::Role::Controlling, [&] {
          ice::Options o;
          o.lite = options_.ice_lite;
          o.relay_only = options_.relay_only;
          return o;
      }(), seed) {
    std::mt19937_64 rng(seed ? *seed + 1 : std::random_device{}());
    session_id_ = rng() >> 2; // positive as a signed 64-bit number, as JSEP asks
    for (const auto& s : options_.stun_servers) ice_.add_stun_server(s, 0); // asked once per host as hosts come
    for (const auto& t : options_.turn_servers) ice_.add_turn_server(t, 0);
}

PeerConnection::~PeerConnection() = default;

void PeerConnection::add_local_address(const ice::Address& a, std::int64_t now_ms) {
    ice_.add_host(a, now_ms);
    on_ice_events(now_ms);
}

std::string PeerConnection::describe(const std::string& setup) {
    sdp::ApplicationDescription d;
    d.session_id = session_id_;
    d.session_version = version_++;
    d.ice_ufrag = ice_.local_ufrag();
    d.ice_pwd = ice_.local_pwd();
    d.fingerprint = cert_->fingerprint();
    d.setup = setup;
    d.mid = mid_;
    d.max_message_size = options_.max_message_size;
    d.ice_lite = options_.ice_lite;
    for (const auto& c : ice_.local_candidates())
        if (ice_.announced(c)) d.candidates.push_back(c.to_sdp());
    if (setup != "actpass") {
        d.rejected = rejected_;
        d.application_index = application_index_;
    }
    return sdp::write(d);
}

std::string PeerConnection::create_offer(std::int64_t now_ms) {
    if (!have_remote_) ice_.set_role(ice::Role::Controlling);
    offer_pending_ = true;
    answer_pending_ = false;
    ice_.end_of_local_candidates(now_ms);
    if (state_ == PeerState::New) set_state(PeerState::Connecting);
    rejected_.clear();
    return describe("actpass");
}

std::string PeerConnection::create_answer(std::int64_t now_ms) {
    if (!answer_pending_) return {};
    answer_pending_ = false;
    ice_.end_of_local_candidates(now_ms);
    if (state_ == PeerState::New) set_state(PeerState::Connecting);
    // The first answerer picks the DTLS role; active (client) is what browsers do too.
    if (!roles_set_) {
        dtls_client_ = true;
        roles_set_ = true;
    }
    return describe(dtls_client_ ? "active" : "passive");
}

std::string PeerConnection::set_remote_description(std::string_view text, std::int64_t now_ms) {
    return set_remote_description(offer_pending_ ? SdpType::Answer : SdpType::Offer, text, now_ms);
}

std::string PeerConnection::set_remote_description(SdpType type, std::string_view text, std::int64_t now_ms) {
    sdp::Session s;
    sdp::Error e;
    if (!sdp::parse(text, s, e) || !sdp::check_webrtc(s, e)) return sdp::describe(e);
    const sdp::Media* app = nullptr;
    std::size_t app_index = 0;
    for (std::size_t i = 0; i < s.media.size(); ++i)
        if (s.media[i].kind == "application" && s.media[i].port != 0) {
            app = &s.media[i];
            app_index = i;
            break;
        }
    if (!app) return "no data channel section (m=application) in the description";
    const std::string_view ufrag = app->ice_ufrag.empty() ? s.ice_ufrag : app->ice_ufrag;
    const std::string_view pwd = app->ice_pwd.empty() ? s.ice_pwd : app->ice_pwd;
    const std::string_view hash = app->fingerprint.empty() ? s.fingerprint_hash : app->fingerprint_hash;
    const std::string_view fp = app->fingerprint.empty() ? s.fingerprint : app->fingerprint;
    const std::string_view setup = app->setup.empty() ? s.setup : app->setup;
    if (hash != "sha-256") return "only sha-256 fingerprints are accepted";
    std::string fingerprint = "sha-256 ";
    fingerprint += fp;
    if (have_remote_ && fingerprint != remote_fingerprint_)
        return "the peer's certificate changed: that needs a new connection";
    if (type == SdpType::Answer) {
        if (!offer_pending_) return "an answer without an offer of ours";
        if (!roles_set_) {
            if (setup == "active") dtls_client_ = false;
            else if (setup == "passive") dtls_client_ = true;
            else return "an answer must say a=setup:active or a=setup:passive";
            roles_set_ = true;
        }
        offer_pending_ = false;
    } else {
        // An offer crossing ours: ours is dropped (a native peer is the polite side).
        offer_pending_ = false;
        answer_pending_ = true;
        if (!have_remote_) ice_.set_role(s.ice_lite ? ice::Role::Controlling : ice::Role::Controlled);
        mid_ = std::string(app->mid);
        application_index_ = app_index;
        rejected_.clear();
        for (std::size_t i = 0; i < s.media.size(); ++i) {
            if (i == app_index) continue;
            const sdp::Media& m = s.media[i];
            rejected_.push_back(sdp::RejectedSection{std::string(m.kind), std::string(m.proto),
                                                     m.formats.empty() ? std::string("0") : std::string(m.formats[0]),
                                                     std::string(m.mid)});
        }
    }
    if (s.ice_lite) ice_.set_role(ice::Role::Controlling); // a lite peer never controls (RFC 8445 §6.1.1)
    const bool restart = have_remote_ && (ufrag != remote_ufrag_ || pwd != remote_pwd_);
    if (restart && type == SdpType::Offer) ice_.restart(now_ms); // the peer restarts ICE: so do we
    remote_fingerprint_ = std::move(fingerprint);
    remote_sctp_port_ = app->sctp_port ? app->sctp_port : 5000;
    remote_max_message_size_ = app->max_message_size ? app->max_message_size : 65536;
    remote_ufrag_ = std::string(ufrag);
    remote_pwd_ = std::string(pwd);
    ice_.set_remote_credentials(remote_ufrag_, remote_pwd_);
    have_remote_ = true;
    // The candidates in the description (the parser counts them; read them here).
    std::string_view rest = text;
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.substr(0, 12) == "a=candidate:") add_remote_candidate(line, now_ms);
    }
    on_ice_events(now_ms);
    return {};
}

bool PeerConnection::add_remote_candidate(std::string_view text, std::int64_t now_ms) {
    if (text.empty()) return true;
    sdp::Candidate c;
    sdp::Error e;
    if (!sdp::parse_candidate(text, c, e)) return false;
    if (c.transport != "udp" && c.transport != "UDP") return false;
    auto ip = ice::Address::parse(std::string(c.address), c.port);
    if (!ip) return false; // an mDNS name (*.local): nothing here resolves it
    ice::Candidate cand;
    cand.address = cand.base = *ip;
    cand.priority = c.priority;
    cand.foundation = std::string(c.foundation);
    cand.type = c.type == "srflx"   ? ice::CandidateType::ServerReflexive
                : c.type == "prflx" ? ice::CandidateType::PeerReflexive
                : c.type == "relay" ? ice::CandidateType::Relayed
                                    : ice::CandidateType::Host;
    const bool ok = ice_.add_remote_candidate(cand, now_ms);
    on_ice_events(now_ms);
    return ok;
}

void PeerConnection::set_state(PeerState s) {
    if (s == state_) return;
    state_ = s;
    PeerEvent e;
    e.kind = PeerEvent::Kind::StateChanged;
    e.state = s;
    events_.push_back(std::move(e));
}

void PeerConnection::fail(std::string why) {
    if (state_ == PeerState::Failed || state_ == PeerState::Closed) return;
    error_ = std::move(why);
    set_state(PeerState::Failed);
}

void PeerConnection::on_ice_events(std::int64_t now) {
    ice::Event e;
    while (ice_.poll_event(e)) {
        switch (e.kind) {
        case ice::Event::Kind::LocalCandidate: {
            PeerEvent pe;
            pe.kind = PeerEvent::Kind::LocalCandidate;
            pe.text = e.candidate.to_sdp();
            events_.push_back(std::move(pe));
            break;
        }
        case ice::Event::Kind::GatheringDone: {
            PeerEvent pe;
            pe.kind = PeerEvent::Kind::LocalCandidate; // "" ends the candidates
            events_.push_back(std::move(pe));
            break;
        }
        case ice::Event::Kind::SelectedPair:
            start_dtls(now);
            feed_early_dtls(now);
            break;
        case ice::Event::Kind::StateChanged:
            if (e.state == ice::State::Connected) {
                start_dtls(now);
                if (state_ == PeerState::Disconnected && sctp_open()) set_state(PeerState::Connected);
            } else if (e.state == ice::State::Disconnected) {
                if (state_ == PeerState::Connected) set_state(PeerState::Disconnected);
            } else if (e.state == ice::State::Failed) {
                fail("ICE failed: no path to the peer (or it stopped answering)");
            }
            break;
        }
    }
}

void PeerConnection::start_dtls(std::int64_t now) {
    if (dtls_ || !have_remote_) return;
    dtls::Options o;
    dtls_ = std::make_unique<dtls::Transport>(cert_, dtls_client_ ? dtls::Role::Client : dtls::Role::Server,
                                              remote_fingerprint_, o);
    if (dtls_client_) dtls_->start();
    pump_dtls(now);
}

void PeerConnection::feed_early_dtls(std::int64_t now) {
    if (early_dtls_.empty()) return;
    if (dtls_) {
        // The selected pair's remote is validated too.
        for (const auto& e : early_dtls_)
            if (ice_.validated_remote(e.remote)) dtls_->on_datagram(e.data);
        pump_dtls(now);
    }
    early_dtls_.clear();
}

void PeerConnection::pump_dtls(std::int64_t now) {
    if (!dtls_) return;
    for (int round = 0; round < 8; ++round) {
        bool any = false;
        std::vector<std::uint8_t> buf;
        while (dtls_->poll_received(buf)) {
            any = true;
            if (sctp_) sctp_->on_packet(buf);
        }
        if (dtls_->state() == dtls::State::Connected && !sctp_) {
            sctp::AssociationOptions so;
            so.remote_port = remote_sctp_port_;
            so.max_message_size = options_.max_message_size;
            so.remote_max_message_size = remote_max_message_size_;
            sctp_ = std::make_unique<sctp::Association>(dtls_client_, so);
            for (const auto& [id, o] : negotiated_) sctp_->add_negotiated_channel(id, o);
            negotiated_.clear();
            sctp_->connect();
            sctp_tick_ = now;
            any = true;
        }
        if (sctp_) {
            while (sctp_->poll_transmit(buf)) {
                any = true;
                dtls_->send(buf); // a full queue drops it; SCTP retransmits
            }
            sctp::Event se;
            while (sctp_->poll_event(se)) {
                any = true;
                PeerEvent pe;
                pe.channel = se.channel;
                switch (se.kind) {
                case sctp::Event::Kind::Connected: set_state(PeerState::Connected); continue;
                case sctp::Event::Kind::Closed: fail("the data channel association closed: " + se.reason); continue;
                case sctp::Event::Kind::ChannelOpen: {
                    pe.kind = PeerEvent::Kind::ChannelOpen;
                    if (const sctp::Channel* c = sctp_->channel(se.channel)) {
                        pe.label = c->options.label;
                        pe.protocol = c->options.protocol;
                    }
                    break;
                }
                case sctp::Event::Kind::ChannelClosed: pe.kind = PeerEvent::Kind::ChannelClosed; break;
                case sctp::Event::Kind::BufferedAmountLow: pe.kind = PeerEvent::Kind::BufferedAmountLow; break;
                case sctp::Event::Kind::Message:
                    pe.kind = PeerEvent::Kind::Message;
                    pe.binary = se.binary;
                    pe.data = std::move(se.data);
                    break;
                }
                events_.push_back(std::move(pe));
            }
        }
        ice::Address local, remote;
        const bool path = ice_.selected(local, remote);
        while (dtls_->poll_transmit(buf)) {
            if (path) out_.push_back(ice::Transmit{local, remote, std::move(buf)});
        }
        if (!any) break;
    }
    if (dtls_->state() == dtls::State::Failed) fail("DTLS failed: " + dtls_->error());
    auto t = dtls_->timeout_ms();
    dtls_deadline_ = t ? now + *t : -1;
}

void PeerConnection::on_datagram(const ice::Address& local, const ice::Address& remote, std::span<const std::uint8_t> d,
                                 std::int64_t now_ms) {
    now_ = now_ms;
    if (state_ == PeerState::Closed || d.empty()) return;
    {
        ice::Address relayed_local, peer;
        std::span<const std::uint8_t> payload;
        bool has_payload = false;
        if (ice_.on_relayed(local, remote, d, now_ms, relayed_local, peer, payload, has_payload)) {
            on_ice_events(now_ms);
            // What the TURN server relayed is handled as if it had arrived on the relayed address.
            if (has_payload && !payload.empty()) on_datagram(relayed_local, peer, payload, now_ms);
            return;
        }
    }
    if (stun::looks_like_stun(d)) {
        ice_.on_stun(local, remote, d, now_ms);
        on_ice_events(now_ms);
        return;
    }
    if (dtls::looks_like_dtls(d)) {
        ice::Address sl, sr;
        // Before a pair is selected, a little is kept for when one is.
        if (!ice_.selected(sl, sr)) {
            if (have_remote_ && !dtls_ && early_dtls_.size() < kMaxEarlyDtls && d.size() <= 1500)
                early_dtls_.push_back(EarlyDatagram{remote, std::vector<std::uint8_t>(d.begin(), d.end())});
            return;
        }
        // The peer's DTLS may come on any pair ICE has validated, not only the selected one (a
        // browser starts on the first pair that works for it); from anywhere else it is not theirs.
        if (sr == remote) ice_.on_data_received(remote, now_ms);
        else if (!ice_.validated_remote(remote)) return;
        start_dtls(now_ms);
        if (!dtls_) return; // no remote description yet: nothing to check the peer against
        dtls_->on_datagram(d);
        pump_dtls(now_ms);
    }
}

bool PeerConnection::poll_transmit(ice::Transmit& out) {
    if (ice_.poll_transmit(out)) return true;
    while (!out_.empty()) {
        out = std::move(out_.front());
        out_.pop_front();
        if (ice_.wrap(out)) return true; // from a relayed candidate: through its TURN server
    }
    return false;
}

std::optional<std::int64_t> PeerConnection::next_timeout() const {
    std::optional<std::int64_t> t = ice_.next_timeout();
    auto at = [&](std::int64_t v) { t = t ? std::min(*t, v) : v; };
    if (dtls_deadline_ >= 0) at(dtls_deadline_);
    if (sctp_ && !sctp_->closed()) at(sctp_tick_);
    return t;
}

void PeerConnection::on_timeout(std::int64_t now_ms) {
    now_ = now_ms;
    if (state_ == PeerState::Closed) return;
    if (auto t = ice_.next_timeout(); t && *t <= now_ms) ice_.on_timeout(now_ms);
    on_ice_events(now_ms);
    if (dtls_ && dtls_deadline_ >= 0 && now_ms >= dtls_deadline_) dtls_->on_timeout();
    if (sctp_ && now_ms >= sctp_tick_) {
        sctp_->on_timer(now_ms);
        sctp_tick_ = now_ms + kSctpTickMs;
    }
    pump_dtls(now_ms);
}

std::string PeerConnection::route() const {
    ice::Address local, remote;
    if (!ice_.selected(local, remote)) return {};
    for (const auto& c : ice_.local_candidates())
        if (c.address == local) return ice::type_name(c.type);
    return "host";
}

bool PeerConnection::poll_event(PeerEvent& out) {
    if (events_.empty()) return false;
    out = std::move(events_.front());
    events_.pop_front();
    return true;
}

int PeerConnection::create_data_channel(const sctp::ChannelOptions& options) {
    if (!sctp_) return -1;
    const int id = sctp_->open_channel(options);
    pump_dtls(now_);
    return id;
}

bool PeerConnection::add_negotiated_channel(std::uint16_t id, const sctp::ChannelOptions& options) {
    if (sctp_) {
        const bool ok = sctp_->add_negotiated_channel(id, options);
        pump_dtls(now_);
        return ok;
    }
    for (const auto& n : negotiated_)
        if (n.first == id) return false;
    negotiated_.emplace_back(id, options);
    return true;
}

bool PeerConnection::send(std::uint16_t channel, std::span<const std::uint8_t> data, bool binary) {
    if (!sctp_ || !sctp_->send(channel, data, binary)) return false;
    pump_dtls(now_);
    return true;
}

std::size_t PeerConnection::buffered_amount(std::uint16_t channel) const {
    return sctp_ ? sctp_->buffered_amount(channel) : 0;
}

void PeerConnection::close_channel(std::uint16_t channel) {
    if (!sctp_) return;
    sctp_->close_channel(channel);
    pump_dtls(now_);
}

void PeerConnection::close() {
    if (state_ == PeerState::Closed) return;
    if (sctp_) sctp_->close();
    if (dtls_) dtls_->close();
    ice_.close();
    set_state(PeerState::Closed);
}

} // namespace switchboard::rtc
