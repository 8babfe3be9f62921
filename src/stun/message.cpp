#include "stun/message.hpp"

#include "base/byte_reader.hpp"
#include "stun/integrity.hpp"

#include <algorithm>
#include <cstring>

namespace switchboard::stun {

std::string_view to_string(CodecError e) noexcept {
    switch (e) {
    case CodecError::TooShort: return "shorter than its header or length";
    case CodecError::NotStun: return "not a STUN message";
    case CodecError::BadLength: return "bad message length";
    case CodecError::TruncatedAttribute: return "attribute runs past the end";
    case CodecError::TooManyAttributes: return "too many attributes";
    case CodecError::AfterFingerprint: return "attribute after FINGERPRINT";
    }
    return "?";
}

namespace {
constexpr std::size_t padded(std::size_t n) noexcept { return (n + 3) & ~std::size_t{3}; }

// RFC 8489 §5: M11..M0 are spread over the type with C1 at bit 8 and C0 at bit 4.
void split_type(std::uint16_t type, std::uint16_t& method, Class& cls) noexcept {
    method = static_cast<std::uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
    cls = static_cast<Class>(((type >> 4) & 1) | ((type >> 7) & 2));
}
} // namespace

Result<MessageView, CodecError> parse(std::span<const std::uint8_t> in) noexcept {
    if (in.size() < kHeaderSize) return Err{CodecError::TooShort};
    if ((in[0] & 0xC0) != 0 || get_u32be(in.data() + 4) != kMagicCookie) return Err{CodecError::NotStun};
    std::size_t length = get_u16be(in.data() + 2);
    if (length % 4 != 0) return Err{CodecError::BadLength};
    if (kHeaderSize + length > in.size()) return Err{CodecError::TooShort};
    if (kHeaderSize + length != in.size()) return Err{CodecError::BadLength};

    MessageView m;
    m.bytes_ = in;
    std::uint16_t method;
    split_type(get_u16be(in.data()), method, m.cls_);
    m.method_ = static_cast<Method>(method);
    std::memcpy(m.tid_.data(), in.data() + 8, 12);

    ByteReader r(in.subspan(kHeaderSize));
    while (r.remaining() > 0) {
        auto header_at = static_cast<std::uint16_t>(kHeaderSize + r.position());
        std::uint16_t type = r.u16be();
        std::uint16_t len = r.u16be();
        auto value_at = static_cast<std::uint16_t>(kHeaderSize + r.position());
        if (!r.ok() || r.take(len).size() != len || !r.skip(padded(len) - len)) return Err{CodecError::TruncatedAttribute};
        if (m.fingerprint_) return Err{CodecError::AfterFingerprint};
        if (type == attr::Fingerprint) {
            if (len != 4) return Err{CodecError::TruncatedAttribute};
            m.fingerprint_ = header_at;
            continue;
        }
        if (m.integrity_sha256_) continue;             // §14.6: only FINGERPRINT may follow
        if (m.integrity_ && type != attr::MessageIntegritySha256) continue; // §14.5
        if (type == attr::MessageIntegrity) {
            if (len != 20) return Err{CodecError::TruncatedAttribute};
            m.integrity_ = header_at;
            continue;
        }
        if (type == attr::MessageIntegritySha256) {
            // §14.6: 16 to 32 bytes, a multiple of 4.
            if (len < 16 || len > 32 || len % 4 != 0) return Err{CodecError::TruncatedAttribute};
            m.integrity_sha256_ = header_at;
            m.integrity_sha256_len_ = len;
            continue;
        }
        if (m.count_ == kMaxAttributes) return Err{CodecError::TooManyAttributes};
        m.attrs_[m.count_++] = Attribute{type, value_at, len};
    }
    return m;
}

std::optional<std::size_t> frame_length(std::span<const std::uint8_t> in) noexcept {
    // RFC 7983: a first byte of 0-3 is STUN, 64-127 ChannelData (0x4000-0x7FFF, see
    // channel_data.hpp); anything else (a TLS record is 20-63) is neither.
    if (in.empty()) return 0;
    bool is_stun = in[0] <= 3, is_channel = in[0] >= 0x40 && in[0] <= 0x7F;
    if (!is_stun && !is_channel) return std::nullopt;
    if (in.size() < 4) return 0;
    std::size_t len = get_u16be(in.data() + 2);
    return is_stun ? kHeaderSize + len : 4 + padded(len); // RFC 8656 §12.5: padded over streams
}

std::optional<std::span<const std::uint8_t>> MessageView::find(std::uint16_t type) const noexcept {
    for (std::size_t i = 0; i < count_; ++i)
        if (attrs_[i].type == type) return bytes_.subspan(attrs_[i].offset, attrs_[i].length);
    return std::nullopt;
}

std::optional<std::string_view> MessageView::text(std::uint16_t type) const noexcept {
    auto v = find(type);
    if (!v) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

std::optional<std::uint32_t> MessageView::u32(std::uint16_t type) const noexcept {
    auto v = find(type);
    if (!v || v->size() != 4) return std::nullopt;
    return get_u32be(v->data());
}

namespace {
//     0                   1                   2                   3
//    |0 0 0 0 0 0 0 0|    Family     |         X-Port                |
//    |                X-Address (Variable)                           |
std::optional<Address> decode_xor(std::span<const std::uint8_t> v, const TransactionId& tid) noexcept {
    if (v.size() < 4) return std::nullopt;
    Address a;
    if (v[1] == 1 && v.size() == 8) a.family = Family::V4;
    else if (v[1] == 2 && v.size() == 20) a.family = Family::V6;
    else return std::nullopt;
    std::uint8_t key[16];
    put_u32be(key, kMagicCookie);
    std::memcpy(key + 4, tid.data(), 12);
    a.port = static_cast<std::uint16_t>(get_u16be(v.data() + 2) ^ (kMagicCookie >> 16));
    for (std::size_t i = 0; i < a.ip_size(); ++i) a.ip[i] = v[4 + i] ^ key[i];
    return a;
}
} // namespace

std::optional<Address> MessageView::xor_address(std::uint16_t type) const noexcept {
    auto v = find(type);
    if (!v) return std::nullopt;
    return decode_xor(*v, tid_);
}

int MessageView::xor_addresses(std::uint16_t type, std::span<Address> out) const noexcept {
    int n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        if (attrs_[i].type != type) continue;
        auto a = decode_xor(bytes_.subspan(attrs_[i].offset, attrs_[i].length), tid_);
        if (!a) return -1;
        if (static_cast<std::size_t>(n) < out.size()) out[static_cast<std::size_t>(n)] = *a;
        ++n;
    }
    return std::min<int>(n, static_cast<int>(out.size()));
}

std::optional<std::pair<int, std::string_view>> MessageView::error_code() const noexcept {
    auto v = find(attr::ErrorCode);
    if (!v || v->size() < 4) return std::nullopt;
    int code = ((*v)[2] & 0x7) * 100 + (*v)[3];
    return std::pair<int, std::string_view>(code, std::string_view(reinterpret_cast<const char*>(v->data() + 4), v->size() - 4));
}

std::optional<std::uint16_t> MessageView::unknown_required(std::span<const std::uint16_t> known) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
        std::uint16_t t = attrs_[i].type;
        if (attr::comprehension_required(t) && std::find(known.begin(), known.end(), t) == known.end()) return t;
    }
    return std::nullopt;
}

bool MessageView::fingerprint_ok() const noexcept {
    if (!fingerprint_) return false;
    // The length field already covers FINGERPRINT, as the sender computed it.
    return fingerprint(bytes_.first(fingerprint_)) == get_u32be(bytes_.data() + fingerprint_ + 4);
}

namespace {
// The HMAC covers the message up to the integrity attribute, with the header's length set as if
// that attribute were the last one (§14.5).
std::array<std::uint8_t, kHeaderSize> adjusted_header(std::span<const std::uint8_t> msg, std::size_t attr_at,
                                                      std::size_t attr_len) noexcept {
    std::array<std::uint8_t, kHeaderSize> h;
    std::memcpy(h.data(), msg.data(), kHeaderSize);
    put_u16be(h.data() + 2, static_cast<std::uint16_t>(attr_at + 4 + attr_len - kHeaderSize));
    return h;
}
} // namespace

bool MessageView::integrity_ok(std::span<const std::uint8_t> key) const noexcept {
    if (!integrity_) return false;
    auto h = adjusted_header(bytes_, integrity_, 20);
    std::span<const std::uint8_t> parts[] = {h, bytes_.subspan(kHeaderSize, integrity_ - kHeaderSize)};
    auto mac = hmac_sha1(key, parts);
    return equal_constant_time(mac, bytes_.subspan(integrity_ + 4u, 20));
}

bool MessageView::integrity_sha256_ok(std::span<const std::uint8_t> key) const noexcept {
    if (!integrity_sha256_) return false;
    auto h = adjusted_header(bytes_, integrity_sha256_, integrity_sha256_len_);
    std::span<const std::uint8_t> parts[] = {h, bytes_.subspan(kHeaderSize, integrity_sha256_ - kHeaderSize)};
    auto mac = hmac_sha256(key, parts);
    return equal_constant_time(std::span<const std::uint8_t>(mac).first(integrity_sha256_len_),
                               bytes_.subspan(integrity_sha256_ + 4u, integrity_sha256_len_));
}

// ---- Writer --------------------------------------------------------------------------------

Writer::Writer(std::span<std::uint8_t> out, std::uint16_t method, Class cls, const TransactionId& tid) noexcept
    : out_(out) {
    if (out_.size() < kHeaderSize) {
        ok_ = false;
        return;
    }
    put_u16be(out_.data(), message_type(method, cls));
    put_u16be(out_.data() + 2, 0);
    put_u32be(out_.data() + 4, kMagicCookie);
    std::memcpy(out_.data() + 8, tid.data(), 12);
    len_ = kHeaderSize;
}

std::uint8_t* Writer::reserve(std::uint16_t type, std::size_t value_len) noexcept {
    if (!ok_ || value_len > 0xFFFF || out_.size() - len_ < 4 + padded(value_len) || len_ + 4 + padded(value_len) - kHeaderSize > 0xFFFF) {
        ok_ = false;
        return nullptr;
    }
    std::uint8_t* p = out_.data() + len_;
    put_u16be(p, type);
    put_u16be(p + 2, static_cast<std::uint16_t>(value_len));
    // Padding is zero (RFC 8489 §14: any value is allowed; zero leaks nothing).
    std::memset(p + 4 + value_len, 0, padded(value_len) - value_len);
    len_ += 4 + padded(value_len);
    return p + 4;
}

void Writer::set_length(std::size_t body) noexcept { put_u16be(out_.data() + 2, static_cast<std::uint16_t>(body)); }

void Writer::add(std::uint16_t type, std::span<const std::uint8_t> value) noexcept {
    if (std::uint8_t* p = reserve(type, value.size()); p && !value.empty()) std::memcpy(p, value.data(), value.size());
}

void Writer::add(std::uint16_t type, std::string_view value) noexcept {
    add(type, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

void Writer::add_u32(std::uint16_t type, std::uint32_t v) noexcept {
    if (std::uint8_t* p = reserve(type, 4)) put_u32be(p, v);
}

void xor_address_bytes(const Address& a, const TransactionId& tid, std::uint8_t* out) noexcept {
    std::uint8_t key[16];
    put_u32be(key, kMagicCookie);
    std::memcpy(key + 4, tid.data(), 12);
    out[0] = 0;
    out[1] = static_cast<std::uint8_t>(a.family);
    put_u16be(out + 2, static_cast<std::uint16_t>(a.port ^ (kMagicCookie >> 16)));
    for (std::size_t i = 0; i < a.ip_size(); ++i) out[4 + i] = a.ip[i] ^ key[i];
}

void Writer::add_xor_address(std::uint16_t type, const Address& a) noexcept {
    if (std::uint8_t* p = reserve(type, 4 + a.ip_size())) {
        TransactionId tid;
        std::memcpy(tid.data(), out_.data() + 8, 12);
        xor_address_bytes(a, tid, p);
    }
}

void Writer::add_address(std::uint16_t type, const Address& a) noexcept {
    if (std::uint8_t* p = reserve(type, 4 + a.ip_size())) {
        p[0] = 0;
        p[1] = static_cast<std::uint8_t>(a.family);
        put_u16be(p + 2, a.port);
        std::memcpy(p + 4, a.ip.data(), a.ip_size());
    }
}

void Writer::add_error(int code, std::string_view reason) noexcept {
    if (code < 300 || code > 699) code = 500;
    reason = reason.substr(0, 128); // §14.8: fewer than 128 characters
    if (std::uint8_t* p = reserve(attr::ErrorCode, 4 + reason.size())) {
        p[0] = p[1] = 0;
        p[2] = static_cast<std::uint8_t>(code / 100);
        p[3] = static_cast<std::uint8_t>(code % 100);
        if (!reason.empty()) std::memcpy(p + 4, reason.data(), reason.size()); // data() may be null
    }
}

void Writer::add_unknown_attributes(std::span<const std::uint16_t> types) noexcept {
    if (std::uint8_t* p = reserve(attr::UnknownAttributes, types.size() * 2))
        for (std::size_t i = 0; i < types.size(); ++i) put_u16be(p + 2 * i, types[i]);
}

void Writer::add_integrity(std::span<const std::uint8_t> key) noexcept {
    std::size_t at = len_;
    std::uint8_t* p = reserve(attr::MessageIntegrity, 20);
    if (!p) return;
    set_length(len_ - kHeaderSize);
    std::span<const std::uint8_t> parts[] = {out_.first(at)};
    auto mac = hmac_sha1(key, parts);
    std::memcpy(p, mac.data(), 20);
}

void Writer::add_integrity_sha256(std::span<const std::uint8_t> key) noexcept {
    std::size_t at = len_;
    std::uint8_t* p = reserve(attr::MessageIntegritySha256, 32);
    if (!p) return;
    set_length(len_ - kHeaderSize);
    std::span<const std::uint8_t> parts[] = {out_.first(at)};
    auto mac = hmac_sha256(key, parts);
    std::memcpy(p, mac.data(), 32);
}

void Writer::add_fingerprint() noexcept {
    std::size_t at = len_;
    std::uint8_t* p = reserve(attr::Fingerprint, 4);
    if (!p) return;
    set_length(len_ - kHeaderSize);
    put_u32be(p, fingerprint(out_.first(at)));
}

std::size_t Writer::finish() noexcept {
    if (!ok_) return 0;
    set_length(len_ - kHeaderSize);
    return len_;
}

} // namespace switchboard::stun
