#pragma once
// permessage-deflate (RFC 7692): offer negotiation (pure) and zlib streams with bounded output.
#include "base/byte_buffer.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

typedef struct z_stream_s z_stream;

namespace switchboard::ws {

enum class CompressionMode { Off, Shared, Dedicated };

struct DeflateConfig {
    CompressionMode mode = CompressionMode::Shared;
    int max_window_bits = 15; // our deflate window (server_max_window_bits)
    int mem_level = 8;        // zlib memLevel for dedicated compressors
};

/// What was agreed for one connection (RFC 7692 §7.1).
struct DeflateAgreement {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15; // window we compress with
    int client_max_window_bits = 15; // window the client compresses with
    std::string response;            // the Sec-WebSocket-Extensions value to send back
};

/// Picks the first acceptable permessage-deflate offer from Sec-WebSocket-Extensions values.
/// Offers with unknown or malformed parameters are declined (§5: "MUST decline").
std::optional<DeflateAgreement> negotiate_deflate(std::string_view extensions_header, const DeflateConfig& cfg);

/// Raw-deflate decompressor. Not thread-safe.
class Inflater {
  public:
    enum class Status { Ok, TooBig, Corrupt };
    explicit Inflater(int window_bits);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    /// Inflates one message (appending the §7.2.2 tail) into `out`, never past `max_out` bytes.
    Status inflate(std::span<const std::uint8_t> in, ByteBuffer& out, std::size_t max_out, bool reset_after);
    int window_bits() const noexcept { return bits_; }

  private:
    z_stream* z_;
    int bits_;
};

/// Raw-deflate compressor. Not thread-safe.
class Deflater {
  public:
    Deflater(int window_bits, int mem_level);
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;
    /// Compresses one message into `out` without the 00 00 FF FF tail (§7.2.1).
    bool deflate(std::span<const std::uint8_t> in, ByteBuffer& out, bool reset_after);
    int window_bits() const noexcept { return bits_; }

  private:
    z_stream* z_;
    int bits_;
};

} // namespace switchboard::ws
