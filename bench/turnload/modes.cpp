// Binding flood, allocation cycles and allocations held for memory.
#include "common.hpp"
#include "../wsload/proc_sample.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <map>
#include <thread>

namespace turnload {

namespace {
constexpr int kBatch = 64;

struct Sampled {
    double t0 = 0, cpu0 = 0, self0 = 0;
    void start(int pid) {
        t0 = now_s();
        cpu0 = wsload::sample_server(pid).cpu_s;
        self0 = wsload::self_cpu_s();
    }
};

void report(const Options& o, const char* what, double count, double seconds, const Sampled& s,
            const std::map<std::string, double>& extra) {
    auto srv = wsload::sample_server(o.server_pid);
    double server_cpu = srv.ok ? srv.cpu_s - s.cpu0 : -1;
    double self_cpu = wsload::self_cpu_s() - s.self0;
    if (o.json) {
        std::printf("{\"mode\":\"%s\",\"%s_per_s\":%.1f,\"seconds\":%.3f,\"server_cpu_s\":%.3f,\"loadgen_cpu_s\":%.3f",
                    o.mode.c_str(), what, count / seconds, seconds, server_cpu, self_cpu);
        if (server_cpu > 0) std::printf(",\"%s_per_server_cpu_s\":%.1f", what, count / server_cpu);
        std::printf(",\"server_rss_kb\":%ld", srv.rss_kb);
        for (const auto& [k, v] : extra) std::printf(",\"%s\":%.1f", k.c_str(), v);
        std::printf("}\n");
    } else {
        std::printf("%s: %.0f %s/s over %.1f s; server CPU %.2f s (%.0f per CPU-s), load generator CPU %.2f s\n",
                    o.mode.c_str(), count / seconds, what, seconds, server_cpu, server_cpu > 0 ? count / server_cpu : 0,
                    self_cpu);
        for (const auto& [k, v] : extra) std::printf("  %s: %.1f\n", k.c_str(), v);
    }
}
} // namespace

int run_binding(const Options& o) {
    sockaddr_in server = to_addr(o.host, o.port);
    std::vector<int> fds;
    for (int i = 0; i < o.clients; ++i) fds.push_back(udp_socket());
    std::vector<int> outstanding(fds.size(), 0);
    std::vector<double> last_answer(fds.size(), now_s());
    std::vector<std::uint8_t> req(20);
    {
        stun::Writer w(req, stun::Method::Binding, stun::Class::Request, random_tid());
        req.resize(w.finish());
    }
    std::vector<pollfd> pfds;
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    std::uint8_t bufs[kBatch][256];
    double start = now_s(), measure_from = start + o.warmup, end = measure_from + o.duration;
    double answers = 0, timeouts = 0;
    bool measuring = false;
    Sampled s;
    std::vector<std::uint8_t> gso_buf;
    auto refill = [&](std::size_t i) {
        int n = o.window - outstanding[i];
        if (n <= 0) return;
        if (o.gso && n > 1) {
            outstanding[i] += send_burst(fds[i], server, req, std::min(n, kBatch), gso_buf);
            return;
        }
        for (int k = 0; k < n; ++k) {
            iov[k] = {req.data(), req.size()};
            msgs[k].msg_hdr = {};
            msgs[k].msg_hdr.msg_name = &server;
            msgs[k].msg_hdr.msg_namelen = sizeof server;
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
        }
        int sent = ::sendmmsg(fds[i], msgs, static_cast<unsigned>(n), 0);
        if (sent > 0) outstanding[i] += sent;
    };
    for (std::size_t i = 0; i < fds.size(); ++i) refill(i);
    while (true) {
        double t = now_s();
        if (!measuring && t >= measure_from) {
            measuring = true;
            answers = 0;
            s.start(o.server_pid);
        }
        if (t >= end) break;
        if (::poll(pfds.data(), pfds.size(), 5) < 0) break;
        t = now_s();
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (pfds[i].revents & POLLIN) {
                for (int k = 0; k < kBatch; ++k) {
                    iov[k] = {bufs[k], sizeof bufs[k]};
                    msgs[k].msg_hdr = {};
                    msgs[k].msg_hdr.msg_iov = &iov[k];
                    msgs[k].msg_hdr.msg_iovlen = 1;
                }
                int n = ::recvmmsg(fds[i], msgs, kBatch, MSG_DONTWAIT, nullptr);
                if (n > 0) {
                    // Every answer must be a Binding success (a rate limit shows as timeouts).
                    for (int k = 0; k < n; ++k)
                        if (msgs[k].msg_len >= 20 && bufs[k][0] == 0x01 && bufs[k][1] == 0x01) answers += 1;
                    outstanding[i] -= n;
                    if (outstanding[i] < 0) outstanding[i] = 0;
                    last_answer[i] = t;
                }
            } else if (t - last_answer[i] > 0.2 && outstanding[i] > 0) {
                timeouts += outstanding[i]; // lost or refused: send again
                outstanding[i] = 0;
                last_answer[i] = t;
            }
            refill(i);
        }
    }
    report(o, "answers", answers, now_s() - s.t0, s, {{"timeouts", timeouts}});
    for (int fd : fds) ::close(fd);
    return 0;
}

int run_alloc(const Options& o) {
    sockaddr_in server = to_addr(o.host, o.port);
    struct Client {
        int fd;
        int state = 0; // 0 unauthenticated Allocate, 1 authenticated Allocate, 2 Refresh 0
        stun::TransactionId tid{};
        double sent_at = 0;
        Credentials creds;
        std::vector<std::uint8_t> req;
    };
    std::vector<Client> cs(static_cast<std::size_t>(o.clients));
    std::vector<pollfd> pfds;
    for (auto& c : cs) {
        c.fd = udp_socket();
        c.creds.user = o.user;
        c.creds.password = o.password;
        pfds.push_back({c.fd, POLLIN, 0});
    }
    auto send = [&](Client& c, bool again = false) {
        if (!again) {
            c.tid = random_tid();
            if (c.state == 0) build_allocate(c.req, c.tid, nullptr);
            else if (c.state == 1) build_allocate(c.req, c.tid, &c.creds);
            else build_refresh(c.req, c.tid, 0, c.creds);
        }
        ::sendto(c.fd, c.req.data(), c.req.size(), 0, reinterpret_cast<const sockaddr*>(&server), sizeof server);
        c.sent_at = now_s();
    };
    for (auto& c : cs) send(c);
    double start = now_s(), measure_from = start + o.warmup, end = measure_from + o.duration;
    double cycles = 0, retransmits = 0;
    std::map<int, double> errors;
    bool measuring = false;
    Sampled s;
    std::uint8_t buf[2048];
    while (true) {
        double t = now_s();
        if (!measuring && t >= measure_from) {
            measuring = true;
            cycles = 0;
            errors.clear();
            s.start(o.server_pid);
        }
        if (t >= end) break;
        if (::poll(pfds.data(), pfds.size(), 5) < 0) break;
        t = now_s();
        for (std::size_t i = 0; i < cs.size(); ++i) {
            Client& c = cs[i];
            if (!(pfds[i].revents & POLLIN)) {
                if (t - c.sent_at > 0.5) {
                    retransmits += 1;
                    send(c, true);
                }
                continue;
            }
            ssize_t n;
            while ((n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                auto m = stun::parse({buf, static_cast<std::size_t>(n)});
                if (!m || m->transaction_id() != c.tid) continue;
                int code = m->cls() == stun::Class::Success ? 200 : m->error_code() ? m->error_code()->first : 0;
                if (code != 200 && !(c.state == 0 && code == 401)) errors[code] += 1;
                if (c.state == 0 && code == 401) {
                    c.creds.learn(*m);
                    c.state = 1;
                } else if (code == 438) {
                    c.creds.learn(*m); // stale nonce: same step again with the new one
                } else if (c.state == 1 && code == 200) {
                    c.state = 2;
                } else if (c.state == 2 && code == 200) {
                    c.state = 0;
                    cycles += 1;
                    if (o.new_tuple) {
                        // The next cycle from a fresh address (servers that keep a freed
                        // allocation's 5-tuple busy would answer 437 otherwise).
                        ::close(c.fd);
                        c.fd = udp_socket();
                        pfds[i].fd = c.fd;
                    }
                } else if (c.state == 1 && code == 437) {
                    // The server still holds an allocation on this 5-tuple: the same address's
                    // last one (servers that free lazily), or, with --new-tuple, one an earlier
                    // run left on a port the kernel handed out again. Try again, from a new
                    // address when that is allowed.
                    if (o.new_tuple) {
                        ::close(c.fd);
                        c.fd = udp_socket();
                        pfds[i].fd = c.fd;
                        c.state = 0;
                    }
                } else {
                    c.state = 0;
                }
                send(c);
                break;
            }
        }
    }
    std::map<std::string, double> extra{{"retransmits", retransmits}};
    for (const auto& [code, count] : errors) extra["error_" + std::to_string(code)] = count;
    report(o, "cycles", cycles, now_s() - s.t0, s, extra);
    // Leave nothing behind: a later run may get these ports again and meet the allocations.
    std::vector<std::uint8_t> req, ans;
    for (auto& c : cs) {
        if (c.state == 2 || c.state == 1) {
            build_refresh(req, random_tid(), 0, c.creds);
            exchange(c.fd, server, req, ans, 0.5);
        }
        ::close(c.fd);
    }
    return 0;
}

int run_hold(const Options& o) {
    sockaddr_in server = to_addr(o.host, o.port);
    if (o.server_pid <= 0) {
        std::fprintf(stderr, "hold needs --server-pid to read the server's memory\n");
        return 2;
    }
    struct Held {
        int fd;
        Credentials creds;
    };
    std::vector<Held> held;
    std::vector<std::uint8_t> req, ans;
    auto allocate_one = [&](Held& h) {
        h.creds.user = o.user;
        h.creds.password = o.password;
        build_allocate(req, random_tid(), nullptr);
        if (!exchange(h.fd, server, req, ans)) return false;
        auto m = stun::parse(ans);
        if (!m || !m->error_code() || m->error_code()->first != 401) return false;
        h.creds.learn(*m);
        build_allocate(req, random_tid(), &h.creds);
        if (!exchange(h.fd, server, req, ans)) return false;
        m = stun::parse(ans);
        return m && m->cls() == stun::Class::Success;
    };
    // One allocation first, so the baseline includes whatever the first one brings in once.
    Held first{udp_socket(), {}};
    if (!allocate_one(first)) {
        std::fprintf(stderr, "hold: the first allocation failed\n");
        return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto before = wsload::sample_server(o.server_pid);
    int ok = 0;
    for (int i = 0; i < o.allocations; ++i) {
        held.push_back({udp_socket(0, 65536), {}});
        if (allocate_one(held.back())) ++ok;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto full = wsload::sample_server(o.server_pid);
    for (auto& h : held) {
        build_refresh(req, random_tid(), 0, h.creds);
        exchange(h.fd, server, req, ans);
        ::close(h.fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    auto after = wsload::sample_server(o.server_pid);
    double per = ok ? static_cast<double>(full.rss_kb - before.rss_kb) * 1024.0 / ok : 0;
    if (o.json)
        std::printf("{\"mode\":\"hold\",\"allocations\":%d,\"rss_before_kb\":%ld,\"rss_held_kb\":%ld,\"rss_after_free_kb\":%ld,"
                    "\"bytes_per_allocation\":%.0f,\"returned_kb\":%ld}\n",
                    ok, before.rss_kb, full.rss_kb, after.rss_kb, per, full.rss_kb - after.rss_kb);
    else
        std::printf("hold: %d allocations; server RSS %ld kB before, %ld kB held (%.0f bytes each), %ld kB after freeing\n",
                    ok, before.rss_kb, full.rss_kb, per, after.rss_kb);
    ::close(first.fd);
    return ok == o.allocations ? 0 : 1;
}

} // namespace turnload
