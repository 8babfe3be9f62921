#pragma once
// SharedBytes: an immutable, reference-counted byte buffer for fan-out. A publication is framed
// once into one of these and the same object is queued on every subscriber's socket, on any
// loop, without copying. The count is atomic because loops share buffers; the bytes never
// change after construction, so readers need no further synchronisation.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace switchboard {

class SharedBytes {
  public:
    SharedBytes() noexcept = default;

    /// Allocates `size` bytes to be filled through `mutable_data()` before the buffer is shared.
    static SharedBytes allocate(std::size_t size) {
        void* mem = ::operator new(sizeof(Header) + size);
        auto* h = new (mem) Header{};
        h->size = size;
        SharedBytes b;
        b.h_ = h;
        return b;
    }
    static SharedBytes copy_of(std::span<const std::uint8_t> bytes) {
        SharedBytes b = allocate(bytes.size());
        if (!bytes.empty()) std::memcpy(b.mutable_data(), bytes.data(), bytes.size());
        return b;
    }

    SharedBytes(const SharedBytes& o) noexcept : h_(o.h_) {
        if (h_) h_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    SharedBytes(SharedBytes&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    SharedBytes& operator=(SharedBytes o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    ~SharedBytes() { release(); }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    const std::uint8_t* data() const noexcept { return h_ ? payload(h_) : nullptr; }
    std::size_t size() const noexcept { return h_ ? h_->size : 0; }
    std::span<const std::uint8_t> span() const noexcept { return {data(), size()}; }
    /// Only while this is the sole owner (right after allocate()).
    std::uint8_t* mutable_data() noexcept { return payload(h_); }
    /// Shrinks the visible size after filling fewer bytes than allocated.
    void truncate(std::size_t n) noexcept {
        if (h_ && n < h_->size) h_->size = n;
    }
    long use_count() const noexcept { return h_ ? h_->refs.load(std::memory_order_relaxed) : 0; }

  private:
    struct Header {
        std::atomic<long> refs{1};
        std::size_t size = 0;
    };
    static std::uint8_t* payload(Header* h) noexcept {
        return reinterpret_cast<std::uint8_t*>(h) + sizeof(Header);
    }
    void release() noexcept {
        if (h_ && h_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            h_->~Header();
            ::operator delete(h_);
        }
        h_ = nullptr;
    }
    Header* h_ = nullptr;
};

} // namespace switchboard
