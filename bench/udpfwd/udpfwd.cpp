// udpfwd: the smallest UDP forwarder we can write, to measure what one core of this machine can
// forward at all (the limit a TURN relay is compared with): every datagram that reaches
// --listen goes to --to, read with recvmmsg and written with sendmmsg, nothing else done per
// packet. --connected sends through a connected socket (no address per datagram); --gso hands
// the kernel one buffer of equal-sized datagrams per batch (UDP_SEGMENT). With --flows N the
// traffic has the shape of N TURN allocations: the first payload byte names the flow, and flow
// i leaves through its own socket to port TO + i (as each allocation has its relay socket and
// its peer). --echo instead answers every datagram to its own source with the datagram itself,
// its first two bytes set to a STUN Binding success (0x0101): the most a server can do per
// request when each answer goes to the address it came from, the limit for Binding answers.
//
//   taskset -c 0 udpfwd --listen 127.0.0.1:40000 --to 127.0.0.1:41000 [--flows 16] [--connected] [--gso]
//   taskset -c 0 udpfwd --listen 127.0.0.1:40000 --echo
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <algorithm>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace {
constexpr int kBatch = 64;
volatile std::sig_atomic_t stop = 0;

sockaddr_in parse(const std::string& s) {
    sockaddr_in a{};
    auto colon = s.rfind(':');
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1))));
    if (colon == std::string::npos || inet_pton(AF_INET, s.substr(0, colon).c_str(), &a.sin_addr) != 1) {
        std::fprintf(stderr, "bad address %s\n", s.c_str());
        std::exit(2);
    }
    return a;
}
} // namespace

int main(int argc, char** argv) {
    std::string listen = "127.0.0.1:40000", to = "127.0.0.1:40001";
    bool connected = false, gso = false, echo = false;
    int flows = 1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--listen" && i + 1 < argc) listen = argv[++i];
        else if (a == "--to" && i + 1 < argc) to = argv[++i];
        else if (a == "--connected") connected = true;
        else if (a == "--flows" && i + 1 < argc) flows = std::max(1, std::min(1024, std::atoi(argv[++i])));
        else if (a == "--gso") gso = connected = true;
        else if (a == "--echo") echo = true;
        else {
            std::fprintf(stderr, "usage: udpfwd --listen HOST:PORT (--to HOST:PORT [--flows N] [--connected] [--gso] | --echo)\n");
            return 2;
        }
    }
    std::signal(SIGTERM, [](int) { stop = 1; });
    std::signal(SIGINT, [](int) { stop = 1; });
    sockaddr_in in_addr = parse(listen), base = parse(to);
    int in = ::socket(AF_INET, SOCK_DGRAM, 0);
    int big = 32 << 20;
    setsockopt(in, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    std::vector<int> outs;
    std::vector<sockaddr_in> dests;
    for (int f = 0; f < flows; ++f) {
        outs.push_back(::socket(AF_INET, SOCK_DGRAM, 0));
        setsockopt(outs.back(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        dests.push_back(base);
        dests.back().sin_port = htons(static_cast<std::uint16_t>(ntohs(base.sin_port) + f));
    }
    timeval tv{0, 200000};
    setsockopt(in, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::bind(in, reinterpret_cast<sockaddr*>(&in_addr), sizeof in_addr) != 0) {
        std::perror("bind");
        return 1;
    }
    for (int f = 0; f < flows && connected; ++f)
        if (::connect(outs[static_cast<std::size_t>(f)], reinterpret_cast<sockaddr*>(&dests[static_cast<std::size_t>(f)]), sizeof base) != 0) {
            std::perror("connect");
            return 1;
        }
    static std::uint8_t bufs[kBatch][2048];
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    unsigned long long forwarded = 0;
    static sockaddr_in sources[kBatch];
    // Every slot of the batch made ready for recvmmsg again (with room for the source when
    // echoing, which answers to it).
    auto ready = [&] {
        for (int k = 0; k < kBatch; ++k) {
            iov[k] = {bufs[k], sizeof bufs[k]};
            msgs[k].msg_hdr = {};
            if (echo) {
                msgs[k].msg_hdr.msg_name = &sources[k];
                msgs[k].msg_hdr.msg_namelen = sizeof sources[k];
            }
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
        }
    };
    while (echo && !stop) {
        ready();
        int n = ::recvmmsg(in, msgs, kBatch, MSG_WAITFORONE, nullptr);
        if (n <= 0) continue;
        for (int k = 0; k < n; ++k) {
            iov[k].iov_len = msgs[k].msg_len;
            if (msgs[k].msg_len >= 2) bufs[k][0] = 0x01, bufs[k][1] = 0x01;
        }
        int s = ::sendmmsg(in, msgs, static_cast<unsigned>(n), 0);
        if (s > 0) forwarded += static_cast<unsigned>(s);
    }
    while (!stop) {
        ready();
        int n = ::recvmmsg(in, msgs, kBatch, MSG_WAITFORONE, nullptr);
        if (n <= 0) continue;
        // Runs of datagrams of one flow go out together (a batch from one client usually is one).
        int k0 = 0;
        while (k0 < n) {
            auto flow_of = [&](int k) { return msgs[k].msg_len ? bufs[k][0] % flows : 0; };
            int f = flow_of(k0), k1 = k0 + 1;
            while (k1 < n && flow_of(k1) == f) ++k1;
            int out = outs[static_cast<std::size_t>(f)];
            bool same = gso && k1 - k0 > 1;
            for (int k = k0; k < k1 && same; ++k) same = msgs[k].msg_len == msgs[k0].msg_len;
            if (same) {
                // One buffer, one send: the kernel splits it into datagrams of msg_len bytes.
                static std::uint8_t joined[kBatch * 2048];
                std::size_t seg = msgs[k0].msg_len;
                for (int k = k0; k < k1; ++k) std::memcpy(joined + static_cast<std::size_t>(k - k0) * seg, bufs[k], seg);
                char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
                msghdr mh{};
                iovec one{joined, seg * static_cast<std::size_t>(k1 - k0)};
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
                if (::sendmsg(out, &mh, 0) > 0) forwarded += static_cast<unsigned>(k1 - k0);
            } else {
                for (int k = k0; k < k1; ++k) {
                    iov[k].iov_len = msgs[k].msg_len;
                    msgs[k].msg_hdr.msg_name = connected ? nullptr : &dests[static_cast<std::size_t>(f)];
                    msgs[k].msg_hdr.msg_namelen = connected ? 0 : sizeof base;
                }
                int s = ::sendmmsg(out, msgs + k0, static_cast<unsigned>(k1 - k0), 0);
                if (s > 0) forwarded += static_cast<unsigned>(s);
            }
            k0 = k1;
        }
    }
    std::fprintf(stderr, "udpfwd: forwarded %llu datagrams\n", forwarded);
    return 0;
}
