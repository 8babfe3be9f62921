#pragma once
// A connection's outgoing bytes: frames queued during one event-loop turn leave in one send().
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace wsload {

/// Bounded-by-construction output queue. Capacity is sized at connection set-up for the most a
/// connection can have queued (pipeline or window frames plus control frames); growth is a
/// fallback that is counted, not a per-message allocation. Not thread-safe; owned by one Conn.
class OutBuf {
  public:
    void init(size_t capacity) { data_.assign(capacity, 0); }
    size_t size() const { return tail_ - head_; }
    const uint8_t* begin() const { return data_.data() + head_; }

    // Returns room for n bytes at the tail; `grew` is set when the capacity had to grow.
    uint8_t* reserve(size_t n, bool& grew) {
        if (data_.size() - tail_ < n) {
            if (head_ > 0) {
                std::memmove(data_.data(), data_.data() + head_, tail_ - head_);
                tail_ -= head_;
                head_ = 0;
            }
            if (data_.size() - tail_ < n) {
                data_.resize(std::max(data_.size() * 2, tail_ + n));
                grew = true;
            }
        }
        return data_.data() + tail_;
    }
    void commit(size_t n) { tail_ += n; }
    void consume(size_t n) {
        head_ += n;
        if (head_ == tail_) head_ = tail_ = 0;
    }
    void release() {
        std::vector<uint8_t>().swap(data_);
        head_ = tail_ = 0;
    }

  private:
    std::vector<uint8_t> data_;
    size_t head_ = 0;
    size_t tail_ = 0;
};

} // namespace wsload
