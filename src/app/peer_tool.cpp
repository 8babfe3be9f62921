// `switchboard peer`: a native WebRTC data-channel peer signalled over stdin/stdout, one JSON
// object per line — for interop tests against other WebRTC stacks and for debugging. It echoes
// every text message back, and hashes the binary messages of each channel: the text message
// "digest" is answered with "digest:<bytes>:<sha-256 hex>" of what arrived so far.
//
//   in:  {"type":"offer"|"answer","sdp":"..."}   {"candidate":"candidate:..."}
//        {"send_bytes":N[,"hash":true]}: send N bytes in 64 KiB binary messages on the first open
//        channel ("sent" then carries their SHA-256; not by default: the benchmark sends with it)
//        {"open":"LABEL","ordered":false,"max_retransmits":N}: open another channel (once connected)
//        {"digest":true}: print what arrived on each channel (bytes, SHA-256)
//   out: the same for our side, and {"event":"open"|"message"|"closed"|"state"|"sent"|"digest",...}
#include "app/peer_tool.hpp"

#include "json/reader.hpp"
#include "json/writer.hpp"
#include "rtc/peer/peer_connection.hpp"

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>

namespace switchboard::app {

namespace ice = rtc::ice;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const std::int64_t g_start = now_ms();

// Every line gets "ms": milliseconds since the start, for the benchmark's set-up times.
void emit(std::string line) {
    if (line.size() > 1 && line.back() == '}') {
        line.pop_back();
        line += ",\"ms\":" + std::to_string(now_ms() - g_start) + "}";
    }
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

struct Hash {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    std::uint64_t bytes = 0;
    Hash() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
    std::string hex() {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy{EVP_MD_CTX_new(), EVP_MD_CTX_free};
        EVP_MD_CTX_copy_ex(copy.get(), ctx.get());
        unsigned char md[32];
        unsigned int n = 0;
        EVP_DigestFinal_ex(copy.get(), md, &n);
        std::string s;
        for (unsigned i = 0; i < n; ++i) {
            char b[3];
            std::snprintf(b, sizeof b, "%02x", md[i]);
            s += b;
        }
        return s;
    }
};

constexpr const char* kUsage =
    "Usage: switchboard peer (--offer | --answer) [--bind IP] [--label NAME] [--stun IP:PORT]\n"
    "                        [--turn USER:PASSWORD@IP:PORT]\n\n"
    "A native WebRTC data-channel peer for interop tests: signalling as JSON lines on\n"
    "stdin/stdout. With --offer it prints an offer and, once connected, opens a channel\n"
    "(--label, default \"native\"); with --answer it waits for an offer. Text messages are\n"
    "echoed; \"digest\" is answered with the byte count and SHA-256 of the binary messages.\n";

} // namespace

int peer_tool(int argc, char** argv) {
    bool offer = false, answer = false;
    std::string bind_ip = "127.0.0.1", label = "native";
    rtc::PeerOptions options;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--offer") offer = true;
        else if (a == "--answer") answer = true;
        else if (a == "--bind" && i + 1 < argc) bind_ip = argv[++i];
        else if (a == "--label" && i + 1 < argc) label = argv[++i];
        else if (a == "--stun" && i + 1 < argc) {
            auto server = ice::Address::parse(argv[++i], 3478);
            if (!server) {
                std::fprintf(stderr, "switchboard peer: --stun wants HOST:PORT (an IP address)\n");
                return 2;
            }
            options.stun_servers.push_back(*server);
        } else if (a == "--turn" && i + 1 < argc) {
            const std::string v = argv[++i];
            const auto at = v.rfind('@'), colon = v.find(':');
            auto server = at == std::string::npos ? std::nullopt : ice::Address::parse(v.substr(at + 1), 3478);
            if (!server || colon == std::string::npos || colon > at) {
                std::fprintf(stderr, "switchboard peer: --turn wants USER:PASSWORD@IP:PORT\n");
                return 2;
            }
            options.turn_servers.push_back(ice::TurnServer{*server, v.substr(0, colon), v.substr(colon + 1, at - colon - 1)});
        }
        else {
            std::fputs(kUsage, a == "-h" || a == "--help" ? stdout : stderr);
            return a == "-h" || a == "--help" ? 0 : 2;
        }
    }
    if (offer == answer) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    if (fd < 0 || ::inet_pton(AF_INET, bind_ip.c_str(), &sin.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0) {
        std::fprintf(stderr, "switchboard peer: cannot bind UDP on %s: %s\n", bind_ip.c_str(), std::strerror(errno));
        return 1;
    }
    socklen_t len = sizeof sin;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
    const ice::Address local = ice::Address::v4(ntohl(sin.sin_addr.s_addr), ntohs(sin.sin_port));

    rtc::PeerConnection pc(options);
    pc.add_local_address(local, now_ms());
    auto describe = [&](const char* type, const std::string& sdp) {
        std::string out;
        json::Writer w(out);
        w.begin_object().key("type").string(type).key("sdp").string(sdp).end_object();
        emit(out);
    };
    if (offer) describe("offer", pc.create_offer(now_ms()));
    std::map<std::uint16_t, Hash> hashes;
    int first_channel = -1;
    std::uint64_t to_send = 0, sent = 0;
    std::unique_ptr<Hash> sent_hash;
    std::vector<std::uint8_t> chunk(64 * 1024);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::uint8_t>(i * 31 + 7);
    std::string in_buf;
    bool opened = false, stdin_open = true;
    std::vector<std::uint8_t> datagram(65536);

    while (true) {
        // Signalling from stdin.
        pollfd fds[2] = {{fd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        int timeout = 100;
        if (auto t = pc.next_timeout()) timeout = static_cast<int>(std::clamp<std::int64_t>(*t - now_ms(), 0, 100));
        ::poll(fds, 2, timeout);
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            char buf[65536];
            const ssize_t n = ::read(0, buf, sizeof buf);
            if (n <= 0) {
                stdin_open = false;
                break; // the other side of the test is gone
            }
            in_buf.append(buf, static_cast<std::size_t>(n));
            for (auto nl = in_buf.find('\n'); nl != std::string::npos; nl = in_buf.find('\n')) {
                std::string line = in_buf.substr(0, nl);
                in_buf.erase(0, nl + 1);
                json::Value v;
                if (line.empty() || json::parse(line, v) != json::Error::None) continue;
                std::string type, sdp, candidate, open_label;
                std::uint64_t send_bytes = 0, max_retransmits = 0;
                bool digest = false, ordered = true, has_max_retransmits = false, hash_sent = false;
                json::for_each_member(v, [&](std::string_view k, json::Value m) {
                    if (json::key_is(k, "type")) json::get_string(m, type);
                    else if (json::key_is(k, "sdp")) json::get_string(m, sdp);
                    else if (json::key_is(k, "candidate")) json::get_string(m, candidate);
                    else if (json::key_is(k, "send_bytes")) json::get_u64(m, send_bytes);
                    else if (json::key_is(k, "digest")) digest = true;
                    else if (json::key_is(k, "hash")) json::get_bool(m, hash_sent);
                    else if (json::key_is(k, "open")) json::get_string(m, open_label);
                    else if (json::key_is(k, "ordered")) json::get_bool(m, ordered);
                    else if (json::key_is(k, "max_retransmits")) has_max_retransmits = json::get_u64(m, max_retransmits);
                });
                if (!open_label.empty()) {
                    rtc::sctp::ChannelOptions o;
                    o.label = open_label;
                    o.ordered = ordered;
                    if (has_max_retransmits) {
                        o.reliability = rtc::sctp::Reliability::Rexmit;
                        o.param = static_cast<std::uint32_t>(std::min<std::uint64_t>(max_retransmits, 0xffffffffu));
                    }
                    if (pc.create_data_channel(o) < 0) emit("{\"event\":\"error\",\"reason\":\"cannot open a channel now\"}");
                    continue;
                }
                if (send_bytes) {
                    to_send = send_bytes;
                    sent = 0;
                    sent_hash = hash_sent ? std::make_unique<Hash>() : nullptr;
                    continue;
                }
                if (digest) {
                    if (hashes.empty()) emit("{\"event\":\"digest\",\"bytes\":0}");
                    for (auto& [ch, h] : hashes) {
                        std::string out;
                        json::Writer w(out);
                        w.begin_object().key("event").string("digest").key("channel").number(std::uint64_t{ch});
                        w.key("bytes").number(h.bytes).key("sha256").string(h.hex()).end_object();
                        emit(out);
                    }
                    continue;
                }
                if (!sdp.empty()) {
                    std::string err = pc.set_remote_description(sdp, now_ms());
                    if (!err.empty()) {
                        std::string out;
                        json::Writer w(out);
                        w.begin_object().key("event").string("error").key("reason").string(err).end_object();
                        emit(out);
                        continue;
                    }
                    if (type == "offer") describe("answer", pc.create_answer(now_ms()));
                } else if (!candidate.empty()) {
                    pc.add_remote_candidate(candidate, now_ms());
                }
            }
        }
        // Datagrams.
        for (int i = 0; i < 256; ++i) {
            sockaddr_in from{};
            socklen_t flen = sizeof from;
            const ssize_t n = ::recvfrom(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
            if (n <= 0) break;
            const ice::Address remote = ice::Address::v4(ntohl(from.sin_addr.s_addr), ntohs(from.sin_port));
            pc.on_datagram(local, remote, {datagram.data(), static_cast<std::size_t>(n)}, now_ms());
        }
        if (auto t = pc.next_timeout(); t && *t <= now_ms()) pc.on_timeout(now_ms());
        // Events.
        rtc::PeerEvent e;
        while (pc.poll_event(e)) {
            std::string out;
            json::Writer w(out);
            switch (e.kind) {
            case rtc::PeerEvent::Kind::LocalCandidate:
                w.begin_object().key("candidate").string(e.text).end_object();
                break;
            case rtc::PeerEvent::Kind::StateChanged: {
                static const char* names[] = {"new", "connecting", "connected", "disconnected", "failed", "closed"};
                w.begin_object().key("event").string("state").key("state").string(names[static_cast<int>(e.state)]);
                if (!pc.error().empty()) w.key("reason").string(pc.error());
                if (e.state == rtc::PeerState::Connected) w.key("route").string(pc.route());
                w.end_object();
                if (e.state == rtc::PeerState::Connected && offer && !opened) {
                    rtc::sctp::ChannelOptions o;
                    o.label = label;
                    opened = pc.create_data_channel(o) >= 0;
                }
                break;
            }
            case rtc::PeerEvent::Kind::ChannelOpen:
                if (first_channel < 0) first_channel = e.channel;
                w.begin_object().key("event").string("open").key("channel").number(std::uint64_t{e.channel});
                w.key("label").string(e.label).end_object();
                break;
            case rtc::PeerEvent::Kind::ChannelClosed:
                w.begin_object().key("event").string("closed").key("channel").number(std::uint64_t{e.channel}).end_object();
                break;
            case rtc::PeerEvent::Kind::BufferedAmountLow: continue;
            case rtc::PeerEvent::Kind::Message:
                if (e.binary) {
                    Hash& h = hashes[e.channel];
                    EVP_DigestUpdate(h.ctx.get(), e.data.data(), e.data.size());
                    h.bytes += e.data.size();
                    continue; // not printed: a file is thousands of messages
                }
                {
                    std::string text(e.data.begin(), e.data.end());
                    if (text == "digest") {
                        Hash& h = hashes[e.channel];
                        text = "digest:" + std::to_string(h.bytes) + ":" + h.hex();
                    }
                    pc.send(e.channel, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, false);
                    w.begin_object().key("event").string("message").key("channel").number(std::uint64_t{e.channel});
                    w.key("text").string(text.size() > 200 ? text.substr(0, 200) : text).end_object();
                }
                break;
            }
            emit(out);
        }
        // A bulk send, kept under 4 MiB buffered.
        while (to_send && first_channel >= 0 && pc.buffered_amount(static_cast<std::uint16_t>(first_channel)) < (4u << 20)) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), to_send - sent));
            if (!pc.send(static_cast<std::uint16_t>(first_channel), {chunk.data(), n}, true)) break;
            if (sent_hash) EVP_DigestUpdate(sent_hash->ctx.get(), chunk.data(), n);
            sent += n;
            if (sent == to_send) {
                to_send = 0;
                std::string out;
                json::Writer w(out);
                w.begin_object().key("event").string("sent").key("bytes").number(sent);
                if (sent_hash) w.key("sha256").string(sent_hash->hex());
                w.end_object();
                emit(out);
            }
        }
        ice::Transmit t;
        while (pc.poll_transmit(t)) {
            sockaddr_in to{};
            to.sin_family = AF_INET;
            std::memcpy(&to.sin_addr, t.remote.ip.data(), 4);
            to.sin_port = htons(t.remote.port);
            if (t.remote.is_v4()) ::sendto(fd, t.data.data(), t.data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        }
        if (pc.state() == rtc::PeerState::Failed) break;
    }
    pc.close();
    ::close(fd);
    return pc.state() == rtc::PeerState::Failed ? 1 : 0;
}

} // namespace switchboard::app
