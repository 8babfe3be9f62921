#pragma once
// The state behind switchboard::Client (include/switchboard/client.hpp): the hub session, the
// room, one PeerConnection with UDP ports of its own per other participant, and the file
// transfers riding on their channels. client.cpp runs the hub and the peers, files.cpp the
// transfers.
#include "switchboard/client.hpp"

#include "client/file_transfer.hpp"
#include "client/hub_session.hpp"
#include "json/reader.hpp"
#include "net/client_socket.hpp"
#include "net/tls.hpp"
#include "rtc/peer/peer_connection.hpp"

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

struct Client::Impl {
    struct Peer {
        Participant info;
        std::unique_ptr<rtc::PeerConnection> pc;
        std::vector<net::UdpPort> ports;
        bool described = false; // our offer or answer went out: candidates may follow
        bool have_remote = false;
        bool connected = false, failed = false;
        std::vector<std::string> local_candidates;  // until described
        std::vector<std::string> remote_candidates; // until have_remote
    };
    struct Transfer {
        enum class State : std::uint8_t { Opening, AwaitMeta, Sending, AwaitAck, Receiving, Done, Failed };
        FileTransferInfo info;
        State state = State::Opening;
        std::uint16_t channel = 0;
        std::FILE* file = nullptr;
        client::Sha256 hash;
        std::uint64_t read = 0; // sender: bytes handed to the channel
        std::string part;       // receiver: the file being written
        std::int64_t last_progress = 0;
        // Our last word (ack, cancel, close) is on its way: until the channel has closed on
        // both sides, leaving now could lose it (the peer would see us leave instead).
        bool closing = false;
    };

    Client& self;
    ClientOptions options;
    std::string host, path; // from the URL
    std::uint16_t server_port = 8080;
    net::TcpClient tcp;
    bool secure = false; // wss://
    std::unique_ptr<net::TlsContext> tls_ctx;
    std::unique_ptr<net::TlsSession> tls;
    ByteBuffer tls_out, tls_plain;
    std::unique_ptr<client::HubSession> hub;
    std::vector<std::uint8_t> io_buf;
    std::string error, room, sid;
    std::vector<rtc::ice::Address> stun_servers;
    std::vector<rtc::ice::TurnServer> turn_servers;
    std::map<std::string, Participant> participants;
    std::map<std::string, Peer> peers;
    std::map<std::uint32_t, client::HubMessage> replies;
    std::map<std::string, Transfer> transfers; // by id
    std::string accept_dir;
    bool joined = false;
    std::vector<std::uint8_t> datagram = std::vector<std::uint8_t>(65536);
    std::vector<std::uint8_t> file_chunk; // read buffer of the senders, kept between polls

    Impl(Client& c, ClientOptions o) : self(c), options(std::move(o)) {}
    ~Impl();

    // client.cpp
    std::string parse_url();
    bool wait_reply(std::uint32_t id, client::HubMessage& out);
    void step(int timeout_ms);
    void on_hub(client::HubMessage& m);
    void on_push(const client::HubMessage& m);
    void add_ice_server(json::Value server);
    void on_signal(const std::string& from, const std::string& kind, const std::string& data);
    Peer& peer_for(const Participant& p);
    void signal(const std::string& to, const std::string& kind, const std::string& data);
    void send_candidate(Peer& p, const std::string& candidate);
    void pump_peer(Peer& p, std::int64_t now);
    void drop_peer(const std::string& sid, const std::string& why);
    void drop_peers(const std::string& why);
    void flush_hub();
    void flush_tls();
    void on_server_bytes(std::span<const std::uint8_t> bytes);
    void lost(std::string why);
    Peer* connected_peer(const std::string& sid);

    // files.cpp
    std::string start_send(const std::string& to, const std::string& file_path);
    void on_file_channel_open(Peer& p, std::uint16_t channel, const std::string& label);
    bool on_file_message(Peer& p, std::uint16_t channel, std::span<const std::uint8_t> data, bool binary);
    bool on_file_channel_closed(Peer& p, std::uint16_t channel);
    void pump_files(std::int64_t now);
    void fail_transfer(Transfer& t, const std::string& reason, bool tell_peer);
    void fail_transfers_of(const std::string& sid, const std::string& reason);
    Transfer* transfer_on(const std::string& sid, std::uint16_t channel);
    void progress(Transfer& t, std::int64_t now, bool force);
    bool settled() const;
};

std::int64_t client_now_ms();

} // namespace switchboard
