#pragma once
// The file-transfer protocol of the browser SDK (clients/js/src/file-transfer.ts), so native
// clients and browsers exchange files: the sender opens a reliable ordered channel labelled
// "file:<id>", sends {"t":"meta",name,size,type,sha256} as text, the file in binary chunks of
// 64 KiB, and the receiver answers {"t":"ack",ok,sha256} once it has hashed every byte; either
// side may send {"t":"cancel"}. This file holds the messages and the hashing; the client owns
// the channels and the files.
#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace switchboard::client {

inline constexpr std::string_view kFileChannelPrefix = "file:";
inline constexpr std::size_t kFileChunk = 64 * 1024;
inline constexpr std::size_t kFileHighWater = 4 * 1024 * 1024; // channel buffer while sending
// Received files go to disk, not memory: the cap is only against absurd announcements.
inline constexpr std::uint64_t kMaxFileSize = std::uint64_t{1} << 40;

class Sha256 {
  public:
    Sha256();
    void update(std::span<const std::uint8_t> bytes);
    /// The digest of everything so far, lower-case hex (the state stays usable).
    std::string hex() const;

  private:
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

struct FileMeta {
    std::string name, type, sha256;
    std::uint64_t size = 0;
};

std::string encode_meta(const FileMeta& m);
/// Reads a meta message; "" or why it is not one.
std::string parse_meta(std::string_view text, FileMeta& out);

struct FileControl {
    enum class Kind : std::uint8_t { Ack, Cancel, Other };
    Kind kind = Kind::Other;
    bool ok = false;
    std::string sha256;
};
FileControl parse_control(std::string_view text);
std::string encode_ack(bool ok, std::string_view sha256);
std::string encode_cancel();

/// A name safe to create in a directory: the last path component, no control characters, no
/// leading dots, at most 255 bytes; "file" when nothing is left.
std::string safe_file_name(std::string_view name);

/// A random transfer id (16 hex digits), as the browser SDK makes them.
std::string new_transfer_id();

} // namespace switchboard::client
