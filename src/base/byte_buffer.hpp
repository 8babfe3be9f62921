#pragma once
// ByteBuffer: a growable byte array without value-initialisation, with a consumed prefix so a
// reader can take bytes from the front without moving the rest each time. An empty buffer owns
// no memory and the object is 24 bytes: idle connections must stay small, so sizes are 32-bit
// (a buffer holds less than 4 GiB; message limits are far below that).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <stdexcept>
#include <utility>

namespace switchboard {

class ByteBuffer {
  public:
    ByteBuffer() noexcept = default;
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;
    ByteBuffer(ByteBuffer&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), begin_(std::exchange(o.begin_, 0)),
          end_(std::exchange(o.end_, 0)), cap_(std::exchange(o.cap_, 0)) {}
    ByteBuffer& operator=(ByteBuffer&& o) noexcept {
        if (this != &o) {
            std::free(data_);
            data_ = std::exchange(o.data_, nullptr);
            begin_ = std::exchange(o.begin_, 0);
            end_ = std::exchange(o.end_, 0);
            cap_ = std::exchange(o.cap_, 0);
        }
        return *this;
    }
    ~ByteBuffer() { std::free(data_); }

    std::uint8_t* data() noexcept { return data_ + begin_; }
    const std::uint8_t* data() const noexcept { return data_ + begin_; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return end_ == begin_; }
    std::size_t capacity() const noexcept { return cap_; }
    std::span<std::uint8_t> span() noexcept { return {data(), size()}; }
    std::span<const std::uint8_t> span() const noexcept { return {data(), size()}; }

    void append(const void* p, std::size_t n) {
        if (n == 0) return;
        std::memcpy(grow(n), p, n);
    }
    void append(std::span<const std::uint8_t> s) { append(s.data(), s.size()); }
    /// Reserves `n` more bytes at the end and returns where to write them; commit with
    /// the returned pointer already counted (the bytes become part of size()).
    std::uint8_t* grow(std::size_t n) {
        reserve_back(n);
        std::uint8_t* p = data_ + end_;
        end_ += static_cast<std::uint32_t>(n);
        return p;
    }
    /// Space to write up to `n` bytes without counting them yet (see commit()).
    std::uint8_t* prepare(std::size_t n) {
        reserve_back(n);
        return data_ + end_;
    }
    void commit(std::size_t n) noexcept { end_ += static_cast<std::uint32_t>(n); }
    void consume(std::size_t n) noexcept {
        begin_ += static_cast<std::uint32_t>(n);
        if (begin_ >= end_) begin_ = end_ = 0;
    }
    void shrink_back(std::size_t n) noexcept { end_ -= static_cast<std::uint32_t>(n); }
    void clear() noexcept { begin_ = end_ = 0; }
    /// Returns the memory to the allocator.
    void release() noexcept {
        std::free(data_);
        data_ = nullptr;
        begin_ = end_ = cap_ = 0;
    }

  private:
    static constexpr std::size_t kMaxSize = 0xFFFFFFFFu;
    void reserve_back(std::size_t n) {
        if (cap_ - end_ >= n) return;
        if (begin_ > 0 && cap_ - size() >= n && begin_ >= size()) {
            std::memmove(data_, data_ + begin_, size());
            end_ -= begin_;
            begin_ = 0;
            return;
        }
        std::size_t want = size() + n;
        if (want > kMaxSize) throw std::length_error("ByteBuffer over 4 GiB");
        std::size_t cap = cap_ ? cap_ : 256;
        while (cap < want) cap *= 2;
        if (cap > kMaxSize) cap = kMaxSize;
        auto* p = static_cast<std::uint8_t*>(std::malloc(cap));
        if (!p) throw std::bad_alloc();
        std::size_t live = size();
        if (live) std::memcpy(p, data_ + begin_, live);
        std::free(data_);
        end_ = static_cast<std::uint32_t>(live);
        begin_ = 0;
        data_ = p;
        cap_ = static_cast<std::uint32_t>(cap);
    }

    std::uint8_t* data_ = nullptr;
    std::uint32_t begin_ = 0;
    std::uint32_t end_ = 0;
    std::uint32_t cap_ = 0;
};

} // namespace switchboard
