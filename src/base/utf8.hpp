#pragma once
// Streaming UTF-8 validation (RFC 3629): text messages arrive in fragments that may split a
// code point, and RFC 6455 §8.1 wants the connection failed as soon as the bytes can no longer
// be valid, so the validator keeps its state between calls.
#include <cstddef>
#include <cstdint>
#include <span>

namespace switchboard {

class Utf8Validator {
  public:
    /// Feeds more bytes; false as soon as they cannot be part of valid UTF-8.
    bool feed(std::span<const std::uint8_t> bytes) noexcept;
    /// True when the bytes fed so far end on a code point boundary.
    bool complete() const noexcept { return need_ == 0; }
    void reset() noexcept { need_ = 0; lo_ = 0x80; hi_ = 0xBF; }

  private:
    std::uint8_t need_ = 0;
    std::uint8_t lo_ = 0x80;
    std::uint8_t hi_ = 0xBF;
};

/// Whole-buffer check.
bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept;

} // namespace switchboard
