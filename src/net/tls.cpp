#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <openssl/x509v3.h>

namespace switchboard::net {
namespace {
std::string ssl_error() {
    char buf[256];
    unsigned long e = ERR_get_error();
    if (!e) return "unknown error";
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}
} // namespace

TlsContext::TlsContext(const std::string& cert_file, const std::string& key_file) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_) throw std::runtime_error("TLS: " + ssl_error());
    try {
        configure(cert_file, key_file);
    } catch (...) {
        SSL_CTX_free(ctx_); // a throwing constructor runs no destructor
        ctx_ = nullptr;
        throw;
    }
}

void TlsContext::configure(const std::string& cert_file, const std::string& key_file) {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1)
        throw std::runtime_error("TLS certificate " + cert_file + ": " + ssl_error());
    if (SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            throw std::runtime_error("TLS key " + key_file + " does not match the certificate " + cert_file);
        }
        throw std::runtime_error("TLS key " + key_file + ": " + ssl_error());
    }
    if (SSL_CTX_check_private_key(ctx_) != 1)
        throw std::runtime_error("TLS key does not match the certificate: " + ssl_error());
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_select_cb(
        ctx_,
        [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
           void*) -> int {
            unsigned char* sel = nullptr;
            if (SSL_select_next_proto(&sel, outlen, alpn, sizeof alpn, in, inlen) != OPENSSL_NPN_NEGOTIATED)
                return SSL_TLSEXT_ERR_NOACK;
            *out = sel;
            return SSL_TLSEXT_ERR_OK;
        },
        nullptr);
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<TlsContext> TlsContext::client(const std::string& ca_file) {
    std::unique_ptr<TlsContext> c(new TlsContext());
    c->ctx_ = SSL_CTX_new(TLS_client_method());
    if (!c->ctx_) throw std::runtime_error("TLS: " + ssl_error());
    SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
    const int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(c->ctx_)
                                   : SSL_CTX_load_verify_locations(c->ctx_, ca_file.c_str(), nullptr);
    if (ok != 1) throw std::runtime_error("TLS trust store " + (ca_file.empty() ? "(system)" : ca_file) + ": " + ssl_error());
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(c->ctx_, alpn, sizeof alpn);
    return c;
}

TlsSession::TlsSession(const TlsContext& ctx, const std::string& host) : TlsSession(ctx) {
    SSL_set_connect_state(ssl_);
    // The certificate must name the host: an IP address when one was given, else the DNS name,
    // which also goes in SNI (RFC 6066 keeps IP literals out of it).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
        ERR_clear_error();
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
        SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
    }
}

TlsSession::TlsSession(const TlsContext& ctx) {
    ssl_ = SSL_new(ctx.native());
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    if (!ssl_ || !rbio_ || !wbio_) throw std::bad_alloc();
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_, rbio_, wbio_); // the SSL object owns both BIOs now
    SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

bool TlsSession::handshake_done() const noexcept { return SSL_is_init_finished(ssl_) == 1; }

bool TlsSession::feed(std::span<const std::uint8_t> cipher, ByteBuffer& plain) {
    if (!cipher.empty() && BIO_write(rbio_, cipher.data(), static_cast<int>(cipher.size())) <= 0) return false;
    if (!handshake_done()) {
        int r = SSL_do_handshake(ssl_);
        if (r != 1) {
            int e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
            const long verify = SSL_get_verify_result(ssl_);
            error_ = verify != X509_V_OK ? std::string("certificate not trusted: ") + X509_verify_cert_error_string(verify)
                                         : "TLS handshake failed: " + ssl_error();
            ERR_clear_error();
            return false;
        }
        if (!pending_plain_.empty()) {
            ByteBuffer p = std::move(pending_plain_);
            if (!write(p.span())) return false;
        }
    }
    while (true) {
        std::uint8_t* dst = plain.prepare(16 * 1024);
        int n = SSL_read(ssl_, dst, 16 * 1024);
        if (n > 0) {
            plain.commit(static_cast<std::size_t>(n));
            continue;
        }
        int e = SSL_get_error(ssl_, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
        if (e == SSL_ERROR_ZERO_RETURN) return true; // close_notify; the TCP EOF ends the stream
        ERR_clear_error();
        return false;
    }
}

bool TlsSession::write(std::span<const std::uint8_t> plain) {
    if (!handshake_done()) {
        pending_plain_.append(plain);
        return true;
    }
    while (!plain.empty()) {
        int n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
        if (n <= 0) {
            ERR_clear_error();
            return false;
        }
        plain = plain.subspan(static_cast<std::size_t>(n));
    }
    return true;
}

bool TlsSession::has_output() const noexcept { return BIO_ctrl_pending(wbio_) > 0; }

void TlsSession::take_output(ByteBuffer& out) {
    std::size_t pending = BIO_ctrl_pending(wbio_);
    if (!pending) return;
    std::uint8_t* dst = out.prepare(pending);
    int n = BIO_read(wbio_, dst, static_cast<int>(pending));
    if (n > 0) out.commit(static_cast<std::size_t>(n));
}

void TlsSession::shutdown() {
    if (handshake_done()) SSL_shutdown(ssl_);
}

} // namespace switchboard::net
