#pragma once
// The chunked transfer coding of a request body (RFC 9112 §7.1), sans-I/O and incremental:
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// Decoding can run in place: the data is written at or before the position it is read from,
// because every chunk's size line is at least three bytes long.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace switchboard::http {

/// Not thread-safe; one per request being received.
class ChunkedDecoder {
  public:
    enum class Status { NeedMore, Done, Error };
    struct Step {
        Status status = Status::NeedMore;
        std::size_t consumed = 0;  // encoded bytes taken from the input
        int http_status = 0;       // for errors: 400, 413 or 431
        std::string_view reason;
    };
    static constexpr std::size_t kMaxExtension = 4096; // per size line
    static constexpr std::size_t kMaxTrailers = 8192;  // whole trailer section

    /// Reads `n` encoded bytes at `in` and appends chunk data at `out + written` (advancing
    /// `written`). `out + written` may alias `in` as long as it never passes the read position,
    /// which holds when both start at the same place. The body may not exceed `max_body`.
    Step feed(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t& written, std::size_t max_body);

  private:
    enum class State : std::uint8_t { Size, Extension, SizeLf, Data, DataCr, DataLf, TrailerStart, Trailer, TrailerLf, FinalLf, Done };
    std::uint64_t size_ = 0;   // the chunk size being read, then the data left in the chunk
    std::uint64_t total_ = 0;  // body bytes so far
    std::uint32_t digits_ = 0;
    std::uint32_t extension_ = 0;
    std::uint32_t trailers_ = 0;
    State state_ = State::Size;
};

} // namespace switchboard::http
