#pragma once
// turnload: a STUN/TURN load generator for any server (ours or coturn), one thread on one core.
// Shared pieces: options, UDP sockets, STUN messages built with the project's codec, timing.
#include "stun/message.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace turnload {

namespace stun = switchboard::stun;

struct Options {
    std::string mode;          // binding | alloc | relay | hold
    std::string host = "127.0.0.1";
    std::uint16_t port = 3478;
    std::string user = "bench", password = "bench";
    int clients = 16;          // sockets (5-tuples)
    int window = 8;            // requests in flight per socket (binding, alloc)
    double duration = 5, warmup = 1;
    double rate = 0;           // relay: offered packets/s in total (0: as fast as possible)
    int size = 100;            // relay: payload bytes
    bool raw = false;          // relay: plain datagrams to a forwarder, no TURN
    std::uint16_t peer_port = 0; // relay --raw: where the forwarder sends (our peer socket binds here)
    bool send_indication = false; // relay: Send indications instead of ChannelData
    bool gso = false;          // relay, binding: send each batch as one UDP_SEGMENT buffer (cheaper to offer)
    bool new_tuple = false;    // alloc: each cycle from a new client socket
    int allocations = 1000;    // hold
    int server_pid = 0;
    bool json = false;
};

double now_s();
int udp_socket(std::uint16_t bind_port = 0, int rcvbuf = 4 << 20);
sockaddr_in to_addr(const std::string& host, std::uint16_t port);
stun::TransactionId random_tid();

/// Builds requests into `out` (resized to the message).
struct Credentials {
    std::string user, password, realm, nonce;
    std::array<std::uint8_t, 16> key{};
    bool ready() const noexcept { return !nonce.empty(); }
    void learn(const stun::MessageView& m); // realm and nonce from a 401/438
};
void build_allocate(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, const Credentials* auth);
void build_refresh(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::uint32_t lifetime, const Credentials& auth);
void build_channel_bind(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::uint16_t channel,
                        const stun::Address& peer, const Credentials& auth);
void build_permission(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, const stun::Address& peer,
                      const Credentials& auth);

/// Sends `n` copies of `datagram` to `to` as one buffer the kernel cuts up (UDP_SEGMENT): the
/// load generator spends one pass through the stack per burst, so it can offer more. `n` is cut
/// to what fits in 64 KB; returns how many went out (0 when the send failed).
int send_burst(int fd, const sockaddr_in& to, std::span<const std::uint8_t> datagram, int n, std::vector<std::uint8_t>& scratch);

/// One request/answer exchange on a blocking-with-timeout basis (set-up phases only).
bool exchange(int fd, const sockaddr_in& server, const std::vector<std::uint8_t>& req, std::vector<std::uint8_t>& answer,
              double timeout_s = 2.0);

/// Runs one mode; prints its report; returns the exit status.
int run_binding(const Options& o);
int run_alloc(const Options& o);
int run_relay(const Options& o);
int run_hold(const Options& o);

} // namespace turnload
