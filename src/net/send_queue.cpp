#include "net/send_queue.hpp"

#include <algorithm>
#include <limits>

namespace switchboard::net {

void SendQueue::push_owned(const void* p, std::size_t n) {
    if (n == 0) return;
    owned_.append(p, n);
    bytes_ += n;
    // Extend the last owned segment rather than adding one per reply.
    while (n > 0) {
        if (segs_.size() > head_ && !segs_.back().ref &&
            segs_.back().len < std::numeric_limits<std::uint32_t>::max() - n) {
            segs_.back().len += static_cast<std::uint32_t>(n);
            return;
        }
        auto chunk = static_cast<std::uint32_t>(std::min<std::size_t>(n, 1u << 30));
        segs_.push_back(Segment{nullptr, 0, chunk});
        n -= chunk;
    }
}

void SendQueue::push_shared(LocalBlock* b) {
    std::size_t n = b->bytes.size();
    if (n == 0) return;
    segs_.push_back(Segment{b, 0, static_cast<std::uint32_t>(n)});
    LocalPool::retain(b);
    bytes_ += n;
}

int SendQueue::gather(iovec* iov, int max) const noexcept {
    int n = 0;
    const std::uint8_t* owned = owned_.data();
    for (std::size_t i = head_; i < segs_.size() && n < max; ++i) {
        const Segment& s = segs_[i];
        if (s.ref) {
            iov[n].iov_base = const_cast<std::uint8_t*>(s.ref->bytes.data() + s.off);
        } else {
            iov[n].iov_base = const_cast<std::uint8_t*>(owned + s.off);
            owned += s.off + s.len;
        }
        iov[n].iov_len = s.len;
        ++n;
    }
    return n;
}

void SendQueue::consume(std::size_t n) noexcept {
    bytes_ -= n;
    while (n > 0 && head_ < segs_.size()) {
        Segment& s = segs_[head_];
        std::size_t take = std::min<std::size_t>(n, s.len);
        if (!s.ref) owned_.consume(take);
        s.len -= static_cast<std::uint32_t>(take);
        n -= take;
        if (s.len == 0) {
            if (s.ref) LocalPool::release(s.ref);
            s.ref = nullptr;
            ++head_;
        } else if (s.ref) {
            s.off += static_cast<std::uint32_t>(take);
        }
    }
    if (head_ == segs_.size()) {
        segs_.clear();
        head_ = 0;
        // A burst may have grown the owned buffer; don't keep it on an idle connection.
        if (owned_.capacity() > 64 * 1024) owned_.release();
    } else if (head_ > 64 && head_ * 2 > segs_.size()) {
        segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

void SendQueue::clear() noexcept {
    for (std::size_t i = head_; i < segs_.size(); ++i)
        if (segs_[i].ref) LocalPool::release(segs_[i].ref);
    segs_.clear();
    head_ = 0;
    owned_.release();
    bytes_ = 0;
}

} // namespace switchboard::net
