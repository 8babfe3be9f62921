#include "common.hpp"

#include "stun/integrity.hpp"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 // linux/udp.h; older libc headers lack it
#endif

namespace turnload {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int udp_socket(std::uint16_t bind_port, int rcvbuf) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a = to_addr("127.0.0.1", bind_port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
    return fd;
}

sockaddr_in to_addr(const std::string& host, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad IPv4 address " + host);
    return a;
}

stun::TransactionId random_tid() {
    static std::mt19937_64 rng(std::random_device{}());
    stun::TransactionId t;
    std::uint64_t a = rng(), b = rng();
    std::memcpy(t.data(), &a, 8);
    std::memcpy(t.data() + 8, &b, 4);
    return t;
}

void Credentials::learn(const stun::MessageView& m) {
    if (auto r = m.text(stun::attr::Realm)) realm.assign(*r);
    if (auto n = m.text(stun::attr::Nonce)) nonce.assign(*n);
    key = stun::long_term_key_md5(user, realm, password);
}

namespace {
void sign(stun::Writer& w, const Credentials& c) {
    w.add(stun::attr::Username, c.user);
    w.add(stun::attr::Realm, c.realm);
    w.add(stun::attr::Nonce, c.nonce);
    w.add_integrity(c.key);
}
void finish(std::vector<std::uint8_t>& out, stun::Writer& w) { out.resize(w.finish()); }
} // namespace

void build_allocate(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, const Credentials* auth) {
    out.resize(512);
    stun::Writer w(out, stun::Method::Allocate, stun::Class::Request, tid);
    w.add_u32(stun::attr::RequestedTransport, 17u << 24);
    if (auth) sign(w, *auth);
    finish(out, w);
}

void build_refresh(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::uint32_t lifetime, const Credentials& auth) {
    out.resize(512);
    stun::Writer w(out, stun::Method::Refresh, stun::Class::Request, tid);
    w.add_u32(stun::attr::Lifetime, lifetime);
    sign(w, auth);
    finish(out, w);
}

void build_channel_bind(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::uint16_t channel,
                        const stun::Address& peer, const Credentials& auth) {
    out.resize(512);
    stun::Writer w(out, stun::Method::ChannelBind, stun::Class::Request, tid);
    w.add_u32(stun::attr::ChannelNumber, std::uint32_t{channel} << 16);
    w.add_xor_address(stun::attr::XorPeerAddress, peer);
    sign(w, auth);
    finish(out, w);
}

void build_permission(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, const stun::Address& peer,
                      const Credentials& auth) {
    out.resize(512);
    stun::Writer w(out, stun::Method::CreatePermission, stun::Class::Request, tid);
    w.add_xor_address(stun::attr::XorPeerAddress, peer);
    sign(w, auth);
    finish(out, w);
}

int send_burst(int fd, const sockaddr_in& to, std::span<const std::uint8_t> datagram, int n, std::vector<std::uint8_t>& scratch) {
    const std::size_t seg = datagram.size();
    n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(n), 65000 / seg));
    scratch.resize(seg * static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) std::memcpy(scratch.data() + static_cast<std::size_t>(k) * seg, datagram.data(), seg);
    char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
    iovec one{scratch.data(), scratch.size()};
    msghdr mh{};
    mh.msg_name = const_cast<sockaddr_in*>(&to);
    mh.msg_namelen = sizeof to;
    mh.msg_iov = &one;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    auto s16 = static_cast<std::uint16_t>(seg);
    std::memcpy(CMSG_DATA(cm), &s16, sizeof s16);
    return ::sendmsg(fd, &mh, MSG_DONTWAIT) >= 0 ? n : 0;
}

bool exchange(int fd, const sockaddr_in& server, const std::vector<std::uint8_t>& req, std::vector<std::uint8_t>& answer,
              double timeout_s) {
    double deadline = now_s() + timeout_s;
    int tries = 0;
    while (now_s() < deadline) {
        if (tries++ % 4 == 0)
            ::sendto(fd, req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&server), sizeof server);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        answer.resize(2048);
        ssize_t n = ::recv(fd, answer.data(), answer.size(), 0);
        if (n <= 0) continue;
        answer.resize(static_cast<std::size_t>(n));
        auto m = stun::parse(answer);
        if (m && m->transaction_id() == stun::parse(req)->transaction_id()) return true;
    }
    return false;
}

} // namespace turnload
