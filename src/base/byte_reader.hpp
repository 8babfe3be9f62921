#pragma once
// ByteReader: reads big-endian fields from a borrowed span and fails (returns false / an empty
// span) on truncation instead of reading past the end, so a wire parser never indexes raw bytes
// itself. Borrowed view; valid while the input is.
#include <cstddef>
#include <cstdint>
#include <span>

namespace switchboard {

class ByteReader {
  public:
    explicit ByteReader(std::span<const std::uint8_t> in) noexcept : in_(in) {}

    std::size_t remaining() const noexcept { return in_.size() - pos_; }
    std::size_t position() const noexcept { return pos_; }
    bool ok() const noexcept { return ok_; }

    std::uint8_t u8() noexcept {
        if (!need(1)) return 0;
        return in_[pos_++];
    }
    std::uint16_t u16be() noexcept {
        if (!need(2)) return 0;
        auto v = static_cast<std::uint16_t>(in_[pos_] << 8 | in_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32be() noexcept {
        if (!need(4)) return 0;
        std::uint32_t v = std::uint32_t{in_[pos_]} << 24 | std::uint32_t{in_[pos_ + 1]} << 16 |
                          std::uint32_t{in_[pos_ + 2]} << 8 | in_[pos_ + 3];
        pos_ += 4;
        return v;
    }
    /// The next `n` bytes, or an empty span (and ok() false) if fewer remain.
    std::span<const std::uint8_t> take(std::size_t n) noexcept {
        if (!need(n)) return {};
        auto s = in_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    bool skip(std::size_t n) noexcept { return !take(n).empty() || n == 0; }

  private:
    bool need(std::size_t n) noexcept {
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return false;
        }
        return true;
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

inline void put_u16be(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
inline void put_u32be(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}
inline std::uint16_t get_u16be(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t get_u32be(const std::uint8_t* p) noexcept {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

} // namespace switchboard
