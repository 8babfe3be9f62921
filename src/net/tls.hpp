#pragma once
// TLS over memory BIOs: the stream hands ciphertext in and takes ciphertext out, so nothing
// above net/ knows TLS is there and OpenSSL never touches a socket.
#include "base/byte_buffer.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace switchboard::net {

/// Server certificate and key; shared read-only by all loops (OpenSSL contexts are thread-safe
/// once configured). Or, for clients, the certificates to trust.
class TlsContext {
  public:
    /// Throws std::runtime_error with OpenSSL's reason when the files can't be used.
    TlsContext(const std::string& cert_file, const std::string& key_file);
    /// A client's: servers are verified against `ca_file` (PEM), or the system's store when
    /// empty (which also honours SSL_CERT_FILE). Throws std::runtime_error.
    static std::unique_ptr<TlsContext> client(const std::string& ca_file);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;
    SSL_CTX* native() const noexcept { return ctx_; }

  private:
    TlsContext() = default;
    void configure(const std::string& cert_file, const std::string& key_file);
    SSL_CTX* ctx_ = nullptr;
};

/// One connection's TLS state. Not thread-safe; owned by the stream.
class TlsSession {
  public:
    explicit TlsSession(const TlsContext& ctx);
    /// A client's session to `host` (SNI, and the name or IP address the certificate must
    /// carry). The handshake starts with the first feed() (an empty one is fine).
    TlsSession(const TlsContext& ctx, const std::string& host);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    /// Feeds ciphertext and appends the plaintext it yields to `plain`. False on a TLS error
    /// (the connection must be closed).
    bool feed(std::span<const std::uint8_t> cipher, ByteBuffer& plain);
    /// Encrypts plaintext; the ciphertext is then available from take_output().
    bool write(std::span<const std::uint8_t> plain);
    /// Appends pending ciphertext (handshake records, alerts, application data) to `out`.
    void take_output(ByteBuffer& out);
    bool has_output() const noexcept;
    bool handshake_done() const noexcept;
    void shutdown();
    /// Why the last feed() failed (certificate verification, protocol), "" if it did not.
    const std::string& error() const noexcept { return error_; }

  private:
    SSL* ssl_ = nullptr;
    BIO* rbio_ = nullptr; // ciphertext in
    BIO* wbio_ = nullptr; // ciphertext out
    ByteBuffer pending_plain_; // written before the handshake finished
    std::string error_;
};

} // namespace switchboard::net
