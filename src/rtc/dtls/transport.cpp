#include "rtc/dtls/transport.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace switchboard::rtc::dtls {

namespace {

constexpr unsigned kMaxTimeoutUs = 10'000'000;
constexpr int kReadBuffer = 64 * 1024; // one record is at most 16 KiB; SCTP packets are smaller

Transport* owner(BIO* b) { return static_cast<Transport*>(BIO_get_data(b)); }

// Output BIO: every write is one datagram (OpenSSL writes each flight's datagrams separately).
int out_write(BIO* b, const char* data, int len) {
    if (len < 0) return -1;
    owner(b)->queue_datagram(data, len);
    return len;
}

long out_ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return owner(b)->mtu();
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING: return 0;
    default: return 0;
    }
}

int out_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

BIO_METHOD* out_method() {
    static BIO_METHOD* m = [] {
        BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "switchboard-dtls-out");
        BIO_meth_set_write(method, out_write);
        BIO_meth_set_ctrl(method, out_ctrl);
        BIO_meth_set_create(method, out_create);
        return method;
    }();
    return m;
}

// RFC 6347 §4.2.4.1 doubles the timer on each retransmission; the first one is ours to choose.
unsigned int timer_cb(SSL* ssl, unsigned int previous_us) {
    auto* t = static_cast<Transport*>(SSL_get_app_data(ssl));
    if (previous_us == 0) return t->initial_timeout_ms() * 1000;
    return std::min(previous_us * 2, kMaxTimeoutUs);
}

int verify_cb(X509_STORE_CTX* store, void* arg) {
    return static_cast<Transport*>(arg)->verify_peer(X509_STORE_CTX_get0_cert(store)) ? 1 : 0;
}

std::string openssl_error(const char* what) {
    std::string s = what;
    if (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        s += ": ";
        s += buf;
    }
    ERR_clear_error();
    return s;
}

} // namespace

Transport::Transport(std::shared_ptr<const Certificate> cert, Role role, std::string remote_fingerprint, Options options)
    : cert_(std::move(cert)), role_(role), options_(options) {
    // Only sha-256: what every browser sends; weaker hashes are refused.
    constexpr std::string_view kPrefix = "sha-256 ";
    if (remote_fingerprint.size() > kPrefix.size() && std::equal(kPrefix.begin(), kPrefix.end(), remote_fingerprint.begin(),
                                                                  [](char a, char b) { return a == std::tolower(b); }))
        remote_fp_ = remote_fingerprint.substr(kPrefix.size());
    ctx_ = SSL_CTX_new(DTLS_method());
    if (!ctx_) throw std::runtime_error(openssl_error("DTLS context"));
    SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION);
    if (SSL_CTX_use_certificate(ctx_, cert_->x509()) != 1 || SSL_CTX_use_PrivateKey(ctx_, cert_->key()) != 1)
        throw std::runtime_error(openssl_error("DTLS certificate"));
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx_, verify_cb, this);
    SSL_CTX_set1_groups_list(ctx_, "X25519:P-256:P-384");
    // Forward-secret AEAD suites first; what browsers offer.
    SSL_CTX_set_cipher_list(ctx_, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                  "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384");
    if (options_.srtp && SSL_CTX_set_tlsext_use_srtp(ctx_, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0)
        throw std::runtime_error(openssl_error("DTLS-SRTP profiles"));
    SSL_CTX_set_options(ctx_, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    ssl_ = SSL_new(ctx_);
    if (!ssl_) throw std::runtime_error(openssl_error("DTLS session"));
    SSL_set_app_data(ssl_, this);
    in_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1); // empty: "retry", not end of stream
    BIO* out = BIO_new(out_method());
    BIO_set_data(out, this);
    SSL_set_bio(ssl_, in_, out);
    SSL_set_mtu(ssl_, options_.mtu);
    DTLS_set_link_mtu(ssl_, options_.mtu);
    DTLS_set_timer_cb(ssl_, timer_cb);
    if (role_ == Role::Client) SSL_set_connect_state(ssl_);
    else SSL_set_accept_state(ssl_);
}

Transport::~Transport() {
    SSL_free(ssl_); // frees both BIOs
    SSL_CTX_free(ctx_);
}

void Transport::queue_datagram(const char* data, int size) {
    if (out_.size() >= options_.max_queued) return; // a lost datagram: DTLS or SCTP retransmits
    out_.emplace_back(reinterpret_cast<const std::uint8_t*>(data), reinterpret_cast<const std::uint8_t*>(data) + size);
}

bool Transport::verify_peer(X509* cert) {
    fingerprint_checked_ = !remote_fp_.empty() && same_fingerprint(sha256_fingerprint(cert), remote_fp_);
    if (!fingerprint_checked_ && error_.empty())
        error_ = remote_fp_.empty() ? "no sha-256 fingerprint to check the peer against"
                                    : "the peer's certificate does not match the fingerprint in its SDP";
    return fingerprint_checked_;
}

void Transport::start() {
    if (state_ != State::New) return;
    state_ = State::Handshaking;
    advance();
}

void Transport::on_datagram(std::span<const std::uint8_t> d) {
    if (state_ == State::Failed || state_ == State::Closed || d.empty()) return;
    if (state_ == State::New) state_ = State::Handshaking; // the server starts on the first ClientHello
    BIO_write(in_, d.data(), static_cast<int>(d.size()));
    if (state_ == State::Handshaking) advance();
    else drain_reads();
    // Whatever OpenSSL did not consume (a bad record) must not be read as the next datagram.
    (void)BIO_reset(in_);
}

void Transport::advance() {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
        if (!fingerprint_checked_) return fail("the peer presented no certificate");
        export_keys();
        state_ = State::Connected;
        drain_reads();
        return;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return;
    }
    fail(error_.empty() ? openssl_error("DTLS handshake failed") : error_);
}

void Transport::drain_reads() {
    if (read_buf_.empty()) read_buf_.resize(kReadBuffer);
    std::vector<std::uint8_t>& buf = read_buf_;
    for (;;) {
        const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
        if (n > 0) {
            if (received_.size() < options_.max_queued) received_.emplace_back(buf.begin(), buf.begin() + n);
            continue;
        }
        const int e = SSL_get_error(ssl_, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            state_ = State::Closed;
            break;
        }
        fail(openssl_error("DTLS read failed"));
        break;
    }
    ERR_clear_error();
}

bool Transport::poll_transmit(std::vector<std::uint8_t>& out) {
    if (out_.empty()) return false;
    out = std::move(out_.front());
    out_.pop_front();
    return true;
}

std::optional<std::int64_t> Transport::timeout_ms() const {
    if (state_ != State::Handshaking) return std::nullopt;
    timeval tv{};
    if (DTLSv1_get_timeout(ssl_, &tv) != 1) return std::nullopt;
    return static_cast<std::int64_t>(tv.tv_sec) * 1000 + (tv.tv_usec + 999) / 1000;
}

void Transport::on_timeout() {
    if (state_ != State::Handshaking) return;
    if (DTLSv1_handle_timeout(ssl_) < 0) fail(openssl_error("DTLS handshake timed out"));
}

bool Transport::send(std::span<const std::uint8_t> data) {
    if (state_ != State::Connected || out_.size() >= options_.max_queued || data.empty()) return false;
    const int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
    if (n != static_cast<int>(data.size())) {
        ERR_clear_error();
        return false;
    }
    return true;
}

bool Transport::poll_received(std::vector<std::uint8_t>& out) {
    if (received_.empty()) return false;
    out = std::move(received_.front());
    received_.pop_front();
    return true;
}

void Transport::close() {
    if (state_ == State::Connected) SSL_shutdown(ssl_);
    if (state_ != State::Failed) state_ = State::Closed;
    ERR_clear_error();
}

void Transport::fail(std::string why) {
    state_ = State::Failed;
    error_ = std::move(why);
}

void Transport::export_keys() {
    const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl_);
    if (!p) return;
    std::size_t key = 16, salt = 0;
    std::string name = p->name;
    if (p->id == SRTP_AEAD_AES_128_GCM) salt = 12;
    else if (p->id == SRTP_AES128_CM_SHA1_80 || p->id == SRTP_AES128_CM_SHA1_32) salt = 14;
    else return;
    std::vector<std::uint8_t> m(2 * (key + salt));
    static constexpr char kLabel[] = "EXTRACTOR-dtls_srtp";
    if (SSL_export_keying_material(ssl_, m.data(), m.size(), kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1) {
        ERR_clear_error();
        return;
    }
    // RFC 5764 §4.2: client key | server key | client salt | server salt.
    auto side = [&](bool client) {
        std::vector<std::uint8_t> v(key + salt);
        std::copy_n(m.data() + (client ? 0 : key), key, v.data());
        std::copy_n(m.data() + 2 * key + (client ? 0 : salt), salt, v.data() + key);
        return v;
    };
    const bool client = role_ == Role::Client;
    srtp_ = SrtpKeys{std::move(name), side(client), side(!client)};
}

} // namespace switchboard::rtc::dtls
