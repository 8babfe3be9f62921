#include "ws/deflate.hpp"

#include "base/text.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

namespace switchboard::ws {

namespace {
// RFC 7692 §7.1.2: a window-bits value is 8-15, written as decimal without leading zeros (a
// quoted-string form is allowed by the extension grammar).
std::optional<int> parse_bits(std::string_view v) {
    v = trim_ows(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty() || v.size() > 2 || v[0] == '0') return std::nullopt;
    int n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    if (n < 8 || n > 15) return std::nullopt;
    return n;
}

std::optional<DeflateAgreement> try_offer(std::string_view params, const DeflateConfig& cfg) {
    DeflateAgreement a;
    bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
    std::optional<int> client_bits_offered; // client_max_window_bits present (maybe without value)
    bool client_bits_present = false;
    std::optional<int> server_bits;
    while (!params.empty()) {
        auto semi = params.find(';');
        std::string_view p = trim_ows(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
        if (p.empty()) return std::nullopt;
        auto eq = p.find('=');
        std::string_view name = trim_ows(p.substr(0, eq));
        std::optional<std::string_view> value;
        if (eq != std::string_view::npos) value = trim_ows(p.substr(eq + 1));
        if (iequals(name, "server_no_context_takeover")) {
            if (seen_snct || value) return std::nullopt;
            seen_snct = true;
        } else if (iequals(name, "client_no_context_takeover")) {
            if (seen_cnct || value) return std::nullopt;
            seen_cnct = true;
        } else if (iequals(name, "server_max_window_bits")) {
            if (seen_smwb || !value) return std::nullopt;
            seen_smwb = true;
            server_bits = parse_bits(*value);
            if (!server_bits) return std::nullopt;
        } else if (iequals(name, "client_max_window_bits")) {
            if (seen_cmwb) return std::nullopt;
            seen_cmwb = true;
            client_bits_present = true;
            if (value) {
                client_bits_offered = parse_bits(*value);
                if (!client_bits_offered) return std::nullopt;
            }
        } else {
            return std::nullopt; // unknown parameter
        }
    }
    // zlib cannot make a raw deflate stream with an 8-bit window (it silently uses 9), so an
    // offer that insists on 8 for our side is declined rather than answered wrongly.
    int our_bits = cfg.max_window_bits;
    if (server_bits) {
        if (*server_bits < 9) return std::nullopt;
        if (*server_bits < our_bits) our_bits = *server_bits;
    }
    a.server_max_window_bits = our_bits;
    a.server_no_context_takeover = seen_snct || cfg.mode == CompressionMode::Shared;
    // §7.1.1.2: the server may ask the client not to keep its window, which lets one inflater
    // per loop serve every connection in shared mode.
    a.client_no_context_takeover = seen_cnct || cfg.mode == CompressionMode::Shared;
    a.client_max_window_bits = client_bits_offered.value_or(15);

    a.response = "permessage-deflate";
    if (a.server_no_context_takeover) a.response += "; server_no_context_takeover";
    if (a.client_no_context_takeover) a.response += "; client_no_context_takeover";
    if (server_bits || our_bits < 15) a.response += "; server_max_window_bits=" + std::to_string(our_bits);
    if (client_bits_present && client_bits_offered)
        a.response += "; client_max_window_bits=" + std::to_string(*client_bits_offered);
    return a;
}
} // namespace

std::optional<DeflateAgreement> negotiate_deflate(std::string_view header, const DeflateConfig& cfg) {
    if (cfg.mode == CompressionMode::Off) return std::nullopt;
    // Extensions are comma-separated; parameters are semicolon-separated. Commas inside quoted
    // values do not occur in permessage-deflate's grammar.
    while (!header.empty()) {
        auto comma = header.find(',');
        std::string_view ext = trim_ows(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        auto semi = ext.find(';');
        std::string_view name = trim_ows(ext.substr(0, semi));
        if (!iequals(name, "permessage-deflate")) continue;
        std::string_view params = semi == std::string_view::npos ? std::string_view{} : ext.substr(semi + 1);
        if (auto a = try_offer(params, cfg)) return a;
    }
    return std::nullopt;
}

Inflater::Inflater(int window_bits) : z_(new z_stream{}), bits_(window_bits < 9 ? 9 : window_bits) {
    // A larger window than the peer's decodes its stream correctly; 8 is not allowed by zlib.
    if (inflateInit2(z_, -bits_) != Z_OK) {
        delete z_;
        throw std::bad_alloc();
    }
}

Inflater::~Inflater() {
    inflateEnd(z_);
    delete z_;
}

Inflater::Status Inflater::inflate(std::span<const std::uint8_t> in, ByteBuffer& out, std::size_t max_out, bool reset_after) {
    static const std::uint8_t kTail[4] = {0x00, 0x00, 0xFF, 0xFF};
    Status status = Status::Ok;
    const std::size_t start = out.size();
    for (int part = 0; part < 2 && status == Status::Ok; ++part) {
        std::span<const std::uint8_t> src = part == 0 ? in : std::span<const std::uint8_t>(kTail, 4);
        z_->next_in = const_cast<Bytef*>(src.data());
        z_->avail_in = static_cast<uInt>(src.size());
        while (z_->avail_in > 0 || part == 1) {
            std::size_t produced = out.size() - start;
            if (produced >= max_out + 1) { status = Status::TooBig; break; }
            std::size_t room = std::min<std::size_t>(64 * 1024, max_out + 1 - produced);
            std::uint8_t* dst = out.prepare(room);
            z_->next_out = dst;
            z_->avail_out = static_cast<uInt>(room);
            int r = ::inflate(z_, Z_SYNC_FLUSH);
            std::size_t got = room - z_->avail_out;
            out.commit(got);
            if (r == Z_STREAM_END) {
                // A final block inside a message is legal deflate, but context takeover must
                // then start a new stream.
                inflateReset(z_);
                if (z_->avail_in == 0) break;
                continue;
            }
            if (r == Z_BUF_ERROR) break; // no progress possible: input consumed
            if (r != Z_OK) { status = Status::Corrupt; break; }
            if (part == 1 && z_->avail_in == 0 && z_->avail_out != 0) break;
        }
    }
    if (status == Status::Ok && out.size() - start > max_out) status = Status::TooBig;
    if (reset_after || status != Status::Ok) inflateReset(z_);
    return status;
}

Deflater::Deflater(int window_bits, int mem_level) : z_(new z_stream{}), bits_(window_bits) {
    if (deflateInit2(z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        delete z_;
        throw std::bad_alloc();
    }
}

Deflater::~Deflater() {
    deflateEnd(z_);
    delete z_;
}

bool Deflater::deflate(std::span<const std::uint8_t> in, ByteBuffer& out, bool reset_after) {
    const std::size_t start = out.size();
    z_->next_in = const_cast<Bytef*>(in.data());
    z_->avail_in = static_cast<uInt>(in.size());
    do {
        std::size_t room = deflateBound(z_, static_cast<uLong>(z_->avail_in)) + 16;
        std::uint8_t* dst = out.prepare(room);
        z_->next_out = dst;
        z_->avail_out = static_cast<uInt>(room);
        int r = ::deflate(z_, Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_BUF_ERROR) return false;
        out.commit(room - z_->avail_out);
    } while (z_->avail_in > 0 || z_->avail_out == 0);
    // §7.2.1: drop the trailing empty stored block's 00 00 FF FF.
    if (out.size() - start >= 4) {
        const std::uint8_t* t = out.data() + out.size() - 4;
        if (t[0] == 0 && t[1] == 0 && t[2] == 0xFF && t[3] == 0xFF) out.shrink_back(4);
    }
    // §7.2.3.6: with context takeover an empty message right after a flush yields no bytes at
    // all, which the peer can't tell from nothing; send the single-byte empty block instead.
    if (out.size() == start) out.append("\0", 1);
    if (reset_after) deflateReset(z_);
    return true;
}

} // namespace switchboard::ws
