#include "net/loop.hpp"

#include "net/stream.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

namespace switchboard::net {

Loop::Loop(unsigned index) : index_(index), now_(Clock::now()), read_buf_(kReadBufferSize + 64) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd_ < 0 || wakefd_ < 0) throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr; // the wake-up descriptor
    epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
    cork_.prepare(kCorkSize);
}

Loop::~Loop() {
    for (Stream* s : streams_) delete s;
    reap();
    if (epfd_ >= 0) ::close(epfd_);
    if (wakefd_ >= 0) ::close(wakefd_);
}

void Loop::add(int fd, std::uint32_t events, IoHandler* h) { add_level(fd, events | EPOLLET, h); }

void Loop::add_level(int fd, std::uint32_t events, IoHandler* h) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0)
        throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
}

void Loop::remove(int fd) noexcept { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void Loop::stop() noexcept {
    stopping_ = true;
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wakefd_, &one, sizeof one);
}

void Loop::post(std::function<void()> task) {
    {
        std::lock_guard lock(post_mutex_);
        posts_.push_back(std::move(task));
        if (posts_.size() > 1) return; // a wake-up is already pending
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wakefd_, &one, sizeof one);
}

Loop::TimerId Loop::add_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
    TimerId id = next_timer_id_++;
    timers_.emplace(Clock::now() + delay, Timer{id, std::move(fn)});
    return id;
}

void Loop::cancel_timer(TimerId id) noexcept {
    for (auto it = timers_.begin(); it != timers_.end(); ++it)
        if (it->second.id == id) {
            timers_.erase(it);
            return;
        }
}

void Loop::attach(Stream* s) {
    s->registry_index_ = static_cast<std::uint32_t>(streams_.size());
    streams_.push_back(s);
    stats_.connections_open.add();
    stats_.connections_total.add();
}

void Loop::detach_and_destroy(Stream* s) {
    std::size_t i = s->registry_index_;
    if (i < streams_.size() && streams_[i] == s) {
        streams_[i] = streams_.back();
        streams_[i]->registry_index_ = static_cast<std::uint32_t>(i);
        streams_.pop_back();
        stats_.connections_open.sub();
    }
    // Nothing may reach the stream after this turn's reap().
    std::erase(read_again_, s);
    for (std::size_t j = dirty_head_; j < dirty_.size(); ++j)
        if (dirty_[j] == s) dirty_[j] = nullptr;
    for (std::size_t j = delayed_head_; j < delayed_.size(); ++j)
        if (delayed_[j].stream == s) delayed_[j].stream = nullptr;
    graveyard_.push_back(s);
}

void Loop::mark_dirty(Stream* s) { dirty_.push_back(s); }
void Loop::mark_delayed(Stream* s) { delayed_.push_back(Delayed{s, now_}); }
void Loop::want_read_again(Stream* s) { read_again_.push_back(s); }

void Loop::drain_posts() {
    {
        std::lock_guard lock(post_mutex_);
        running_posts_.swap(posts_);
    }
    for (auto& t : running_posts_) t();
    running_posts_.clear();
}

void Loop::run_timers() {
    while (!timers_.empty() && timers_.begin()->first <= now_) {
        auto node = timers_.extract(timers_.begin());
        auto late = std::chrono::duration_cast<std::chrono::microseconds>(now_ - node.key()).count();
        stats_.lag_last_us.set(static_cast<std::uint64_t>(late));
        if (static_cast<std::uint64_t>(late) > stats_.lag_max_us.get()) stats_.lag_max_us.set(static_cast<std::uint64_t>(late));
        node.mapped().fn();
    }
}

void Loop::flush_dirty(bool all) {
    std::size_t flushed = 0;
    const std::size_t pending = (dirty_.size() - dirty_head_) + (delayed_.size() - delayed_head_);
    const std::size_t limit = all ? SIZE_MAX : std::max(kFlushChunk, pending / kFlushParts);
    // Flushing can mark streams dirty again (a close frame after a failed write); those are
    // appended and taken in the same pass.
    while (dirty_head_ < dirty_.size() && flushed < limit) {
        Stream* s = dirty_[dirty_head_++];
        if (s) {
            s->flush();
            ++flushed;
        }
    }
    if (dirty_head_ == dirty_.size()) {
        dirty_.clear();
        dirty_head_ = 0;
    }
    while (flushed < limit && delayed_head_ < delayed_.size() && delayed_[delayed_head_].since + write_delay_ <= now_) {
        Stream* s = delayed_[delayed_head_++].stream;
        if (s) {
            s->in_delayed_ = false;
            s->flush();
            ++flushed;
        }
    }
    // Stay in the coalescing mode while delayed writes are pending, so a busy loop does not
    // flip back to per-turn writes between two delayed flushes.
    fanout_busy_ = flushed >= kBusyFanout || (fanout_busy_ && delayed_head_ < delayed_.size());
    if (delayed_head_ == delayed_.size()) {
        delayed_.clear();
        delayed_head_ = 0;
    }
}

void Loop::reap() {
    for (Stream* s : graveyard_) delete s;
    graveyard_.clear();
}

void Loop::run() {
    constexpr int kMaxEvents = 512;
    epoll_event events[kMaxEvents];
    while (true) {
        if (stopping_.load(std::memory_order_relaxed)) {
            bool idle;
            {
                std::lock_guard lock(post_mutex_);
                idle = posts_.empty();
            }
            if (idle) break;
        }
        // epoll_pwait2 takes nanoseconds: with epoll_wait's milliseconds, rounding up turned a
        // 1 ms write delay into up to 2 ms, which showed in fan-out latency.
        auto timeout = std::chrono::nanoseconds(std::chrono::seconds(1));
        if (!read_again_.empty() || dirty_head_ < dirty_.size()) timeout = {};
        else {
            auto next = Clock::time_point::max();
            if (!timers_.empty()) next = timers_.begin()->first;
            if (delayed_head_ < delayed_.size()) next = std::min(next, delayed_[delayed_head_].since + write_delay_);
            if (next != Clock::time_point::max()) {
                auto d = next - Clock::now();
                timeout = d < Clock::duration::zero() ? std::chrono::nanoseconds{} : std::min<std::chrono::nanoseconds>(d, timeout);
            }
        }
        timespec ts{static_cast<time_t>(timeout.count() / 1000000000), static_cast<long>(timeout.count() % 1000000000)};
        int n = epoll_pwait2(epfd_, events, kMaxEvents, &ts, nullptr);
        now_ = Clock::now();
        if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
        bool woken = false;
        for (int i = 0; i < n; ++i) {
            auto* h = static_cast<IoHandler*>(events[i].data.ptr);
            if (!h) {
                woken = true;
                continue;
            }
            h->on_io(events[i].events);
        }
        if (!read_again_.empty()) {
            read_again_running_.swap(read_again_);
            for (Stream* s : read_again_running_) s->on_io(EPOLLIN);
            read_again_running_.clear();
        }
        if (woken) {
            std::uint64_t v;
            [[maybe_unused]] auto r = ::read(wakefd_, &v, sizeof v);
            drain_posts();
        }
        run_timers();
        flush_dirty(false);
        reap();
    }
    flush_dirty(true);
}

} // namespace switchboard::net
