// Relayed packets per second with loss accounting: clients send ChannelData (or Send
// indications) through their allocations to peer sockets of this process, one way; or, with
// --raw, plain datagrams to a forwarder, to measure the machine's own limit the same way.
#include "common.hpp"
#include "../wsload/proc_sample.hpp"

#include "stun/channel_data.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace turnload {

namespace {
constexpr int kBatch = 64;

stun::Address local_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    stun::Address out;
    std::memcpy(out.ip.data(), &a.sin_addr, 4);
    out.port = ntohs(a.sin_port);
    return out;
}

bool setup_client(const Options& o, const sockaddr_in& server, int fd, int peer_fd, std::uint16_t channel,
                  std::vector<std::uint8_t>& packet, Credentials& c) {
    c.user = o.user;
    c.password = o.password;
    std::vector<std::uint8_t> req, ans;
    build_allocate(req, random_tid(), nullptr);
    if (!exchange(fd, server, req, ans)) return false;
    auto m = stun::parse(ans);
    if (!m || !m->error_code() || m->error_code()->first != 401) return false;
    c.learn(*m);
    build_allocate(req, random_tid(), &c);
    if (!exchange(fd, server, req, ans) || stun::parse(ans)->cls() != stun::Class::Success) return false;
    stun::Address peer = local_of(peer_fd);
    if (o.send_indication) build_permission(req, random_tid(), peer, c);
    else build_channel_bind(req, random_tid(), channel, peer, c);
    if (!exchange(fd, server, req, ans) || stun::parse(ans)->cls() != stun::Class::Success) return false;
    std::vector<std::uint8_t> payload(static_cast<std::size_t>(o.size), 'x');
    if (o.send_indication) {
        packet.resize(payload.size() + 64);
        stun::Writer w(packet, stun::Method::Send, stun::Class::Indication, random_tid());
        w.add_xor_address(stun::attr::XorPeerAddress, peer);
        w.add(stun::attr::Data, payload);
        packet.resize(w.finish());
    } else {
        packet.resize(4 + payload.size());
        stun::write_channel_header(packet.data(), channel, static_cast<std::uint16_t>(payload.size()));
        std::memcpy(packet.data() + 4, payload.data(), payload.size());
    }
    return true;
}
} // namespace

int run_relay(const Options& o) {
    sockaddr_in server = to_addr(o.host, o.port);
    std::vector<int> clients, peers;
    std::vector<std::vector<std::uint8_t>> packets;
    std::vector<Credentials> creds(static_cast<std::size_t>(o.clients));
    if (o.raw) {
        // The forwarder's flows (udpfwd --flows N): client i's first byte is i, its peer port
        // is --peer-port + i.
        for (int i = 0; i < o.clients; ++i) {
            peers.push_back(udp_socket(static_cast<std::uint16_t>(o.peer_port + i), 8 << 20));
            clients.push_back(udp_socket());
            packets.emplace_back(static_cast<std::size_t>(o.size), 'x');
            packets.back()[0] = static_cast<std::uint8_t>(i);
        }
    } else {
        for (int i = 0; i < o.clients; ++i) {
            clients.push_back(udp_socket());
            peers.push_back(udp_socket(0, 8 << 20));
            packets.emplace_back();
            if (!setup_client(o, server, clients.back(), peers.back(), static_cast<std::uint16_t>(0x4000 + i), packets.back(),
                              creds[static_cast<std::size_t>(i)])) {
                std::fprintf(stderr, "relay: setting up client %d failed (is loopback an allowed peer?)\n", i);
                return 1;
            }
        }
    }
    std::vector<pollfd> pfds;
    for (int fd : peers) pfds.push_back({fd, POLLIN, 0});
    mmsghdr smsg[kBatch], rmsg[kBatch];
    iovec siov[kBatch], riov[kBatch];
    static std::uint8_t rbuf[kBatch][2048];
    for (int k = 0; k < kBatch; ++k) {
        riov[k] = {rbuf[k], sizeof rbuf[k]};
        rmsg[k].msg_hdr = {};
        rmsg[k].msg_hdr.msg_iov = &riov[k];
        rmsg[k].msg_hdr.msg_iovlen = 1;
    }
    double start = now_s(), measure_from = start + o.warmup, end = measure_from + o.duration;
    double sent = 0, received = 0, sent_measured = 0, received_measured = 0, send_failed = 0;
    double t_measure = 0, cpu0 = 0, self0 = 0;
    bool measuring = false;
    std::size_t next_client = 0;
    std::vector<std::uint8_t> gso_buf;
    auto receive = [&](int timeout_ms) {
        if (::poll(pfds.data(), pfds.size(), timeout_ms) <= 0) return;
        for (std::size_t i = 0; i < pfds.size(); ++i) {
            if (!(pfds[i].revents & POLLIN)) continue;
            for (int round = 0; round < 8; ++round) {
                int n = ::recvmmsg(peers[i], rmsg, kBatch, MSG_DONTWAIT, nullptr);
                if (n <= 0) break;
                received += n;
                if (measuring) received_measured += n;
                if (n < kBatch) break;
            }
        }
    };
    while (true) {
        double t = now_s();
        if (!measuring && t >= measure_from) {
            measuring = true;
            t_measure = t;
            cpu0 = wsload::sample_server(o.server_pid).cpu_s;
            self0 = wsload::self_cpu_s();
        }
        if (t >= end) break;
        // How many are due: all of a batch per client when unpaced, else what the rate says.
        double due = o.rate > 0 ? std::floor((t - start) * o.rate) - sent : static_cast<double>(kBatch * clients.size());
        while (due > 0) {
            std::size_t c = next_client++ % clients.size();
            int n = static_cast<int>(std::min<double>(due, kBatch));
            if (o.gso && n > 1) {
                n = std::min(n, static_cast<int>(65000 / packets[c].size())); // what one burst holds
                int s = send_burst(clients[c], server, packets[c], n, gso_buf);
                if (s > 0) {
                    n = s;
                    sent += n;
                    if (measuring) sent_measured += n;
                } else {
                    send_failed += n;
                }
                due -= n;
                if (o.rate <= 0 && next_client % clients.size() == 0) break;
                continue;
            }
            for (int k = 0; k < n; ++k) {
                siov[k] = {packets[c].data(), packets[c].size()};
                smsg[k].msg_hdr = {};
                smsg[k].msg_hdr.msg_name = &server;
                smsg[k].msg_hdr.msg_namelen = sizeof server;
                smsg[k].msg_hdr.msg_iov = &siov[k];
                smsg[k].msg_hdr.msg_iovlen = 1;
            }
            int s = ::sendmmsg(clients[c], smsg, static_cast<unsigned>(n), MSG_DONTWAIT);
            if (s < n) send_failed += n - std::max(s, 0);
            if (s > 0) {
                sent += s;
                if (measuring) sent_measured += s;
            }
            due -= n;
            if (o.rate <= 0 && next_client % clients.size() == 0) break;
        }
        receive(0);
    }
    double t_end = now_s();
    auto srv = wsload::sample_server(o.server_pid);
    double server_cpu = srv.ok ? srv.cpu_s - cpu0 : -1;
    double self_cpu = wsload::self_cpu_s() - self0;
    // Drain what is still on its way, then account for every packet sent.
    double drain_until = now_s() + 0.3;
    while (now_s() < drain_until) receive(10);
    double seconds = t_end - t_measure;
    double lost = sent - received;
    if (o.json)
        std::printf("{\"mode\":\"relay\",\"raw\":%s,\"size\":%d,\"clients\":%d,\"offered_pps\":%.0f,\"relayed_pps\":%.0f,"
                    "\"sent\":%.0f,\"received\":%.0f,\"loss_pct\":%.3f,\"send_failed\":%.0f,\"server_cpu_s\":%.3f,"
                    "\"relayed_per_server_cpu_s\":%.0f,\"loadgen_cpu_s\":%.3f,\"seconds\":%.3f}\n",
                    o.raw ? "true" : "false", o.size, o.clients, sent_measured / seconds, received_measured / seconds, sent,
                    received, sent > 0 ? 100.0 * lost / sent : 0, send_failed, server_cpu,
                    server_cpu > 0 ? received_measured / server_cpu : 0, self_cpu, seconds);
    else
        std::printf("relay%s: offered %.0f pps, relayed %.0f pps, loss %.3f%% (%.0f of %.0f), server CPU %.2f s "
                    "(%.0f relayed per CPU-s), load generator CPU %.2f s\n",
                    o.raw ? " (raw, forwarder)" : "", sent_measured / seconds, received_measured / seconds,
                    sent > 0 ? 100.0 * lost / sent : 0, lost, sent, server_cpu,
                    server_cpu > 0 ? received_measured / server_cpu : 0, self_cpu);
    // Free the allocations: a later run may get these ports again.
    std::vector<std::uint8_t> req, ans;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        if (!o.raw) {
            build_refresh(req, random_tid(), 0, creds[i]);
            exchange(clients[i], server, req, ans, 0.5);
        }
        ::close(clients[i]);
    }
    for (int fd : peers) ::close(fd);
    return 0;
}

} // namespace turnload
