#pragma once
// The STUN message codec (RFC 8489), with the TURN (RFC 8656, RFC 6062, RFC 6156) methods and
// attributes. Sans-I/O: parse() reads a datagram or one framed message into a MessageView that
// borrows it; Writer composes a message into a caller's buffer. Neither allocates.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |0 0|     STUN Message Type     |         Message Length        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         Magic Cookie                          |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                     Transaction ID (96 bits)                  |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    then attributes: Type (16) | Length (16) | Value, padded to 4 bytes
#include "base/result.hpp"
#include "stun/address.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace switchboard::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
/// Attributes a message may carry before it is refused (a request has about ten).
inline constexpr std::size_t kMaxAttributes = 32;

enum class Method : std::uint16_t {
    Binding = 0x001,
    Allocate = 0x003,
    Refresh = 0x004,
    Send = 0x006,
    Data = 0x007,
    CreatePermission = 0x008,
    ChannelBind = 0x009,
    Connect = 0x00A,
    ConnectionBind = 0x00B,
    ConnectionAttempt = 0x00C,
};

enum class Class : std::uint8_t { Request = 0, Indication = 1, Success = 2, Error = 3 };

namespace attr {
inline constexpr std::uint16_t MappedAddress = 0x0001;
inline constexpr std::uint16_t Username = 0x0006;
inline constexpr std::uint16_t MessageIntegrity = 0x0008;
inline constexpr std::uint16_t ErrorCode = 0x0009;
inline constexpr std::uint16_t UnknownAttributes = 0x000A;
inline constexpr std::uint16_t ChannelNumber = 0x000C;
inline constexpr std::uint16_t Lifetime = 0x000D;
inline constexpr std::uint16_t XorPeerAddress = 0x0012;
inline constexpr std::uint16_t Data = 0x0013;
inline constexpr std::uint16_t Realm = 0x0014;
inline constexpr std::uint16_t Nonce = 0x0015;
inline constexpr std::uint16_t XorRelayedAddress = 0x0016;
inline constexpr std::uint16_t RequestedAddressFamily = 0x0017;
inline constexpr std::uint16_t EvenPort = 0x0018;
inline constexpr std::uint16_t RequestedTransport = 0x0019;
inline constexpr std::uint16_t DontFragment = 0x001A;
inline constexpr std::uint16_t MessageIntegritySha256 = 0x001C;
inline constexpr std::uint16_t PasswordAlgorithm = 0x001D;
inline constexpr std::uint16_t Userhash = 0x001E;
inline constexpr std::uint16_t XorMappedAddress = 0x0020;
inline constexpr std::uint16_t ReservationToken = 0x0022;
inline constexpr std::uint16_t Priority = 0x0024;
inline constexpr std::uint16_t UseCandidate = 0x0025;
inline constexpr std::uint16_t ConnectionId = 0x002A;
inline constexpr std::uint16_t AdditionalAddressFamily = 0x8000;
inline constexpr std::uint16_t AddressErrorCode = 0x8001;
inline constexpr std::uint16_t PasswordAlgorithms = 0x8002;
inline constexpr std::uint16_t AlternateDomain = 0x8003;
inline constexpr std::uint16_t Icmp = 0x8004;
inline constexpr std::uint16_t Software = 0x8022;
inline constexpr std::uint16_t AlternateServer = 0x8023;
inline constexpr std::uint16_t Fingerprint = 0x8028;
inline constexpr std::uint16_t IceControlled = 0x8029;
inline constexpr std::uint16_t IceControlling = 0x802A;
/// RFC 8489 §14: types 0x0000-0x7FFF must be understood; unknown ones fail the request (420).
constexpr bool comprehension_required(std::uint16_t type) noexcept { return type < 0x8000; }
} // namespace attr

using TransactionId = std::array<std::uint8_t, 12>;

enum class CodecError : std::uint8_t {
    TooShort,          // fewer than 20 bytes, or shorter than the length says
    NotStun,           // top bits set or no magic cookie
    BadLength,         // length not a multiple of 4 or not the datagram's size
    TruncatedAttribute,
    TooManyAttributes,
    AfterFingerprint,  // RFC 8489 §14.7: FINGERPRINT is last
};
std::string_view to_string(CodecError e) noexcept;

/// RFC 7983 first-byte demultiplexing: 0-3 is STUN (and the top two bits are zero).
inline bool looks_like_stun(std::span<const std::uint8_t> in) noexcept {
    return in.size() >= kHeaderSize && (in[0] & 0xC0) == 0 && in[4] == 0x21 && in[5] == 0x12 && in[6] == 0xA4 &&
           in[7] == 0x42;
}

struct Attribute {
    std::uint16_t type;
    std::uint16_t offset; // of the value, from the start of the message
    std::uint16_t length; // of the value, without padding
};

/// A parsed message. Borrowed view: valid while the bytes it was parsed from are.
/// Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (and
/// after MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT) are ignored, as RFC 8489 §14.5 says.
class MessageView {
  public:
    Method method() const noexcept { return method_; }
    Class cls() const noexcept { return cls_; }
    std::uint16_t raw_method() const noexcept { return static_cast<std::uint16_t>(method_); }
    const TransactionId& transaction_id() const noexcept { return tid_; }
    std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
    std::span<const Attribute> attributes() const noexcept { return {attrs_.data(), count_}; }

    /// The first attribute of `type` (only those that count, see above).
    std::optional<std::span<const std::uint8_t>> find(std::uint16_t type) const noexcept;
    bool has(std::uint16_t type) const noexcept { return find(type).has_value(); }
    std::optional<std::string_view> text(std::uint16_t type) const noexcept;
    std::optional<std::uint32_t> u32(std::uint16_t type) const noexcept;
    /// An XOR-…-ADDRESS attribute (XOR-MAPPED, XOR-PEER, XOR-RELAYED), decoded.
    std::optional<Address> xor_address(std::uint16_t type) const noexcept;
    /// Every XOR-PEER-ADDRESS (CreatePermission may carry several); returns how many were put
    /// in `out` (at most out.size()); -1 if one of them does not decode.
    int xor_addresses(std::uint16_t type, std::span<Address> out) const noexcept;
    /// ERROR-CODE as a number (e.g. 401) and its reason.
    std::optional<std::pair<int, std::string_view>> error_code() const noexcept;
    /// The first comprehension-required attribute type that is not in `known`, if any.
    std::optional<std::uint16_t> unknown_required(std::span<const std::uint16_t> known) const noexcept;

    /// FINGERPRINT present and right (RFC 8489 §14.7).
    bool has_fingerprint() const noexcept { return fingerprint_ != 0; }
    bool fingerprint_ok() const noexcept;
    /// MESSAGE-INTEGRITY(-SHA256) present and verified with `key` (RFC 8489 §14.5, §14.6).
    bool has_integrity() const noexcept { return integrity_ != 0; }
    bool has_integrity_sha256() const noexcept { return integrity_sha256_ != 0; }
    bool integrity_ok(std::span<const std::uint8_t> key) const noexcept;
    bool integrity_sha256_ok(std::span<const std::uint8_t> key) const noexcept;

  private:
    friend Result<MessageView, CodecError> parse(std::span<const std::uint8_t> in) noexcept;
    std::span<const std::uint8_t> bytes_;
    Method method_{};
    Class cls_{};
    TransactionId tid_{};
    std::array<Attribute, kMaxAttributes> attrs_{};
    std::size_t count_ = 0;
    std::uint16_t integrity_ = 0;        // offset of MESSAGE-INTEGRITY's header, 0 if none
    std::uint16_t integrity_sha256_ = 0; // the same for MESSAGE-INTEGRITY-SHA256
    std::uint16_t integrity_sha256_len_ = 0;
    std::uint16_t fingerprint_ = 0;
};

/// Parses exactly one message filling all of `in` (a datagram, or a frame cut by
/// frame_length()). Checks structure only; integrity and fingerprint are the caller's call.
Result<MessageView, CodecError> parse(std::span<const std::uint8_t> in) noexcept;

/// Over a stream transport (TCP, TLS), the size of the STUN message or ChannelData frame that
/// starts `in` (RFC 8656 §12.5: ChannelData padded to 4 bytes), 0 if more bytes are needed to
/// tell, or nullopt if the first byte starts neither.
std::optional<std::size_t> frame_length(std::span<const std::uint8_t> in) noexcept;

/// Composes a message into `out`. Every add_* checks the space left; ok() turns false once
/// something did not fit and stays false. finish() fixes the length field and returns the
/// message's size (0 if !ok()). Integrity and fingerprint are added last, in that order.
class Writer {
  public:
    Writer(std::span<std::uint8_t> out, std::uint16_t method, Class cls, const TransactionId& tid) noexcept;
    Writer(std::span<std::uint8_t> out, Method method, Class cls, const TransactionId& tid) noexcept
        : Writer(out, static_cast<std::uint16_t>(method), cls, tid) {}

    void add(std::uint16_t type, std::span<const std::uint8_t> value) noexcept;
    void add(std::uint16_t type, std::string_view value) noexcept;
    void add_u32(std::uint16_t type, std::uint32_t v) noexcept;
    void add_xor_address(std::uint16_t type, const Address& a) noexcept;
    void add_address(std::uint16_t type, const Address& a) noexcept; // MAPPED-ADDRESS (plain)
    /// ERROR-CODE (RFC 8489 §14.8): code 300-699 and a reason.
    void add_error(int code, std::string_view reason) noexcept;
    void add_unknown_attributes(std::span<const std::uint16_t> types) noexcept;
    void add_integrity(std::span<const std::uint8_t> key) noexcept;
    void add_integrity_sha256(std::span<const std::uint8_t> key) noexcept;
    void add_fingerprint() noexcept;

    bool ok() const noexcept { return ok_; }
    std::size_t size() const noexcept { return ok_ ? len_ : 0; }
    std::size_t finish() noexcept;

  private:
    std::uint8_t* reserve(std::uint16_t type, std::size_t value_len) noexcept;
    void set_length(std::size_t body) noexcept;
    std::span<std::uint8_t> out_;
    std::size_t len_ = 0;
    bool ok_ = true;
};

/// The transaction's magic cookie + id, as XOR-…-ADDRESS needs it (RFC 8489 §14.2).
void xor_address_bytes(const Address& a, const TransactionId& tid, std::uint8_t* out_port2_ip) noexcept;

/// The message type field for a method and class (RFC 8489 §5: the class bits interleave).
constexpr std::uint16_t message_type(std::uint16_t method, Class c) noexcept {
    auto m = static_cast<std::uint16_t>(method & 0x0FFF);
    auto k = static_cast<std::uint16_t>(c);
    return static_cast<std::uint16_t>((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((k & 1) << 4) |
                                      ((k & 2) << 7));
}

} // namespace switchboard::stun
