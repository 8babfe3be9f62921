#pragma once
// The subset of the Switchboard client protocol (docs/protocol.md) that the hub and durable
// modes speak: building commands, and scanning replies and `pub` pushes. Pure functions over
// byte ranges, no JSON tree and no allocation: they run once per delivered message, on the
// load generator's one core, and must stay cheaper than the server work they measure.
//
// Scanning relies on what the protocol guarantees about the server's output, not on its field
// order: keys are found by search, and the values we search past (channel names, our own hex
// payloads, epochs) can contain no '"', so a key can never be matched inside a string value.
// Header-only on purpose, like frame.hpp.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string.h> // memmem (GNU)
#include <string_view>

namespace wsload::hub {

// Command ids (docs/protocol.md "Commands and replies": 1 .. 4294967295, unique in flight).
inline constexpr uint64_t kConnectId = 1;
// Subscription j of a connection (0 <= j < --subs-per-conn <= kMaxSubsPerConn) has id
// kSubscribeId + j; all of them are sent at once, pipelined, in one frame.
inline constexpr uint64_t kSubscribeId = 2;
inline constexpr uint32_t kMaxSubsPerConn = 64;
// A publish carries kPublishIdBase + its in-flight slot, so a reply finds its send time and
// channel without a map, and every publish id has 10 digits. Slots < 2^20 (--window's limit).
inline constexpr uint64_t kPublishIdBase = 1'000'000'000;

/// A borrowed byte range: one JSON object of a frame (frames may batch several, '\n'-separated).
/// Valid for the duration of the call that received it.
struct Bytes {
    const uint8_t* p = nullptr;
    size_t n = 0;
};

inline size_t dec_len(uint64_t v) {
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        ++n;
    }
    return n;
}

// Writes v in decimal at out; returns the digit count (dec_len(v)).
inline size_t put_dec(uint8_t* out, uint64_t v) {
    const size_t n = dec_len(v);
    for (size_t i = n; i-- > 0; v /= 10) out[i] = static_cast<uint8_t>('0' + v % 10);
    return n;
}

inline void put_hex16(uint8_t* out, uint64_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, v >>= 4) out[i] = static_cast<uint8_t>(kHex[v & 15]);
}

inline bool get_hex16(const uint8_t* at, uint64_t& v) {
    v = 0;
    for (int i = 0; i < 16; ++i) {
        const uint8_t c = at[i];
        uint64_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        v = (v << 4) | d;
    }
    return true;
}

// Returns the position just after `key` in [p, end), or nullptr.
inline const uint8_t* after_key(const uint8_t* p, const uint8_t* end, std::string_view key) {
    if (p >= end) return nullptr;
    const void* at = ::memmem(p, static_cast<size_t>(end - p), key.data(), key.size());
    return at ? static_cast<const uint8_t*>(at) + key.size() : nullptr;
}

// An unsigned decimal at p (at most 19 digits, so no overflow); advances p past it.
inline bool read_u64(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
    v = 0;
    const uint8_t* start = p;
    while (p < end && *p >= '0' && *p <= '9' && p - start < 19) v = v * 10 + (*p++ - '0');
    return p > start && (p == end || *p < '0' || *p > '9');
}

// ---- Commands. Each writer returns the byte count; the *_len functions give it beforehand so
// the frame header can be written first and the payload composed in place. -----------------

inline constexpr std::string_view kConnect = R"({"id":1,"op":"connect"})";
inline constexpr std::string_view kConnectBinaryPubs = R"({"id":1,"op":"connect","binary_pubs":true})";

// {"id":<id>,"op":"subscribe","channel":"<ns>:<ch>"}
inline constexpr std::string_view kSubIdHead = R"({"id":)";
inline constexpr std::string_view kSubMid = R"(,"op":"subscribe","channel":")";
inline size_t subscribe_len(uint64_t id, std::string_view ns, uint64_t ch) {
    return kSubIdHead.size() + dec_len(id) + kSubMid.size() + ns.size() + 1 + dec_len(ch) + 2;
}
inline size_t write_subscribe(uint8_t* out, uint64_t id, std::string_view ns, uint64_t ch) {
    size_t n = 0;
    auto put = [&](std::string_view s) {
        std::memcpy(out + n, s.data(), s.size());
        n += s.size();
    };
    put(kSubIdHead);
    n += put_dec(out + n, id);
    put(kSubMid);
    put(ns);
    out[n++] = ':';
    n += put_dec(out + n, ch);
    out[n++] = '"';
    out[n++] = '}';
    return n;
}

// {"id":<10 digits>,"op":"publish","channel":"<ns>:<ch>","data":"<ts16><seq16><padding>"}
// `padding` is size - 32 bytes of characters that need no JSON escaping.
inline constexpr std::string_view kPubHead = R"({"id":)";
inline constexpr std::string_view kPubMid = R"(,"op":"publish","channel":")";
inline constexpr std::string_view kPubData = R"(","data":")";
inline size_t publish_len(std::string_view ns, uint64_t ch, size_t size) {
    return kPubHead.size() + 10 + kPubMid.size() + ns.size() + 1 + dec_len(ch) + kPubData.size() +
           size + 2;
}
inline size_t write_publish(uint8_t* out, uint64_t id, std::string_view ns, uint64_t ch,
                            uint64_t ts, uint64_t seq, std::string_view padding) {
    size_t n = 0;
    auto put = [&](std::string_view s) {
        std::memcpy(out + n, s.data(), s.size());
        n += s.size();
    };
    put(kPubHead);
    n += put_dec(out + n, id);
    put(kPubMid);
    put(ns);
    out[n++] = ':';
    n += put_dec(out + n, ch);
    put(kPubData);
    put_hex16(out + n, ts);
    put_hex16(out + n + 16, seq);
    n += 32;
    put(padding);
    out[n++] = '"';
    out[n++] = '}';
    return n;
}

// ---- Server output. ------------------------------------------------------------------------

enum class Kind : uint8_t { Reply, Pub, OtherPush, Garbage };

/// A reply {"id":N,"result":{...}} or {"id":N,"error":{"code":C,...}}. `offset` is the first
/// "offset" in the result: the position of a subscribe or publish result.
struct Reply {
    uint64_t id = 0;
    bool ok = false;
    bool has_offset = false;
    uint64_t offset = 0;
    uint64_t code = 0;
};

/// A `pub` push: {"push":"pub","channel":"...","offset":N,...,"data":"..."}. `channel` and
/// `data` borrow the scanned object.
struct Pub {
    std::string_view channel;
    uint64_t offset = 0;
    const uint8_t* data = nullptr; // the data string's contents, if it is a string
    size_t data_len = 0;
};

inline Kind classify(Bytes o) {
    static constexpr std::string_view kId = R"({"id":)";
    static constexpr std::string_view kPubPush = R"({"push":"pub",)";
    static constexpr std::string_view kPush = R"({"push":)";
    auto starts = [&](std::string_view s) {
        return o.n >= s.size() && std::memcmp(o.p, s.data(), s.size()) == 0;
    };
    if (starts(kId)) return Kind::Reply;
    if (starts(kPubPush)) return Kind::Pub;
    if (starts(kPush)) return Kind::OtherPush;
    return Kind::Garbage;
}

inline bool parse_reply(Bytes o, Reply& r) {
    const uint8_t* end = o.p + o.n;
    const uint8_t* p = o.p + 6; // past {"id":
    r = Reply{};
    if (o.n < 6 || !read_u64(p, end, r.id)) return false;
    static constexpr std::string_view kResult = R"(,"result":)";
    static constexpr std::string_view kError = R"(,"error":)";
    const auto rest = static_cast<size_t>(end - p);
    if (rest >= kResult.size() && std::memcmp(p, kResult.data(), kResult.size()) == 0) {
        r.ok = true;
        if (const uint8_t* v = after_key(p, end, R"("offset":)"))
            r.has_offset = read_u64(v, end, r.offset);
        return true;
    }
    if (rest >= kError.size() && std::memcmp(p, kError.data(), kError.size()) == 0) {
        const uint8_t* v = after_key(p, end, R"("code":)");
        return v && read_u64(v, end, r.code);
    }
    return false;
}

// The position just after `key` if it starts exactly at `at`, or nullptr.
inline const uint8_t* key_at(const uint8_t* at, const uint8_t* end, std::string_view key) {
    if (static_cast<size_t>(end - at) >= key.size() && std::memcmp(at, key.data(), key.size()) == 0)
        return at + key.size();
    return nullptr;
}

// A pub push's members come in one order ({"push":"pub","channel":..,"offset":..,"time":..,
// "data":..}), so the scan first looks for each where the previous one ended: a few compares
// instead of a search from the start of the object per member, so that at saturation the load
// generator is not what limits the server. Any other order still parses through the search.
inline bool parse_pub(Bytes o, Pub& out) {
    static constexpr std::string_view kHead = R"({"push":"pub",)";
    const uint8_t* end = o.p + o.n;
    const uint8_t* ch = o.n > kHead.size() ? key_at(o.p + kHead.size(), end, R"("channel":")") : nullptr;
    if (!ch) ch = after_key(o.p, end, R"("channel":")");
    if (!ch) return false;
    const void* q = std::memchr(ch, '"', static_cast<size_t>(end - ch));
    if (!q) return false;
    const auto* ch_end = static_cast<const uint8_t*>(q);
    out.channel = std::string_view(reinterpret_cast<const char*>(ch), static_cast<size_t>(ch_end - ch));
    const uint8_t* off = key_at(ch_end + 1, end, R"(,"offset":)");
    if (!off) off = after_key(o.p, end, R"("offset":)");
    if (!off || !read_u64(off, end, out.offset)) return false;
    out.data = nullptr;
    out.data_len = 0;
    const uint8_t* next = off; // read_u64 moved it past the digits
    if (const uint8_t* t = key_at(next, end, R"(,"time":)")) {
        uint64_t ignored = 0;
        if (read_u64(t, end, ignored)) next = t;
    }
    const uint8_t* d = key_at(next, end, R"(,"data":")");
    if (!d) d = after_key(o.p, end, R"("data":")");
    if (d) {
        // Our payloads hold no '"' and no escapes, so the first '"' ends the string.
        const void* dq = std::memchr(d, '"', static_cast<size_t>(end - d));
        if (!dq) return false;
        out.data = d;
        out.data_len = static_cast<size_t>(static_cast<const uint8_t*>(dq) - d);
    }
    return true;
}

// A binary pub push (docs/protocol.md "Binary pub pushes"): a 28-byte head (kind 1, lengths of
// channel, client, user and info, offset, time; big-endian), those strings, then the data's
// JSON text. `data` is the inside of a JSON string, as for the text push.
inline uint64_t get_be(const uint8_t* p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | p[i];
    return v;
}
inline bool parse_binary_pub(Bytes o, Pub& out) {
    if (o.n < 28 || o.p[0] != 1 || o.p[3] != 0) return false;
    const uint64_t strings = uint64_t{o.p[1]} + o.p[2] + get_be(o.p + 4, 4) + get_be(o.p + 8, 4);
    if (strings > o.n - 28) return false;
    out.channel = std::string_view(reinterpret_cast<const char*>(o.p + 28), o.p[1]);
    out.offset = get_be(o.p + 12, 8);
    const uint8_t* d = o.p + 28 + strings;
    const size_t dn = static_cast<size_t>(o.p + o.n - d);
    out.data = nullptr;
    out.data_len = 0;
    if (dn >= 2 && d[0] == '"' && d[dn - 1] == '"') {
        out.data = d + 1;
        out.data_len = dn - 2;
    }
    return true;
}

// If `channel` is "<ns>:<decimal>", stores the number in ch and returns true.
inline bool channel_index(std::string_view channel, std::string_view ns, uint64_t& ch) {
    if (channel.size() <= ns.size() + 1 || channel.compare(0, ns.size(), ns) != 0 ||
        channel[ns.size()] != ':')
        return false;
    const auto* p = reinterpret_cast<const uint8_t*>(channel.data()) + ns.size() + 1;
    const auto* end = reinterpret_cast<const uint8_t*>(channel.data()) + channel.size();
    return read_u64(p, end, ch) && p == end;
}

} // namespace wsload::hub
