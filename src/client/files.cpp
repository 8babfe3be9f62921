// File transfers of switchboard::Client: the browser SDK's protocol (client/file_transfer.hpp)
// over a channel of their own, read from and written to disk in 64 KiB chunks.
#include "client/client_impl.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace switchboard {

using State = Client::Impl::Transfer::State;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// "name.ext", then "name (1).ext", ...: never overwrite what is there.
std::string unique_path(const std::string& dir, const std::string& name) {
    const auto dot = name.rfind('.');
    const std::string stem = dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
    const std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
    std::string path = dir + "/" + name;
    for (int i = 1; (exists(path) || exists(path + ".part")) && i < 10000; ++i)
        path = dir + "/" + stem + " (" + std::to_string(i) + ")" + ext;
    return path;
}

} // namespace

Client::Impl::Transfer* Client::Impl::transfer_on(const std::string& peer, std::uint16_t channel) {
    for (auto& [id, t] : transfers)
        if (t.info.sid == peer && t.channel == channel && t.state != State::Done && t.state != State::Failed) return &t;
    return nullptr;
}

void Client::Impl::progress(Transfer& t, std::int64_t now, bool force) {
    if (!force && now - t.last_progress < 50) return;
    t.last_progress = now;
    if (self.on_file_progress) self.on_file_progress(t.info);
}

void Client::Impl::fail_transfer(Transfer& t, const std::string& reason, bool tell_peer) {
    if (t.state == State::Done || t.state == State::Failed) return;
    t.state = State::Failed;
    if (t.file) std::fclose(t.file);
    t.file = nullptr;
    if (!t.info.sending && !t.part.empty()) std::remove(t.part.c_str());
    if (auto it = peers.find(t.info.sid); it != peers.end() && it->second.connected && !it->second.failed) {
        if (tell_peer) it->second.pc->send(t.channel, bytes_of(client::encode_cancel()), false);
        it->second.pc->close_channel(t.channel);
        t.closing = true;
    }
    const FileTransferInfo info = t.info;
    if (self.on_file_failed) self.on_file_failed(info, reason);
}

void Client::Impl::fail_transfers_of(const std::string& peer, const std::string& reason) {
    for (auto& [id, t] : transfers)
        if (t.info.sid == peer) {
            fail_transfer(t, reason, false);
            t.closing = false; // the peer is gone: nothing more can reach it
        }
}

bool Client::Impl::settled() const {
    for (const auto& [id, t] : transfers)
        if (t.closing || (t.state != State::Done && t.state != State::Failed)) return false;
    return true;
}

std::string Client::Impl::start_send(const std::string& to, const std::string& file_path) {
    Transfer t;
    t.info.sid = to;
    t.info.id = client::new_transfer_id();
    t.info.path = file_path;
    t.info.sending = true;
    const auto slash = file_path.find_last_of('/');
    t.info.name = client::safe_file_name(slash == std::string::npos ? file_path : file_path.substr(slash + 1));
    auto fail_now = [&](const std::string& why) {
        if (self.on_file_failed) self.on_file_failed(t.info, why);
        return std::string();
    };
    Peer* p = connected_peer(to);
    if (!p) return fail_now("not connected to " + to);
    struct stat st {};
    if (::stat(file_path.c_str(), &st) != 0) return fail_now(file_path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail_now(file_path + " is not a regular file");
    t.file = std::fopen(file_path.c_str(), "rb");
    if (!t.file) return fail_now(file_path + ": " + std::strerror(errno));
    // The hash goes in the announcement, so the whole file is read once before sending.
    std::vector<std::uint8_t> buf(client::kFileChunk);
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), t.file)) > 0) {
        t.hash.update({buf.data(), n});
        t.info.size += n;
    }
    if (std::ferror(t.file)) {
        std::fclose(t.file);
        return fail_now(file_path + ": read error");
    }
    std::rewind(t.file);
    t.info.sha256 = t.hash.hex();
    rtc::sctp::ChannelOptions o;
    o.label = std::string(client::kFileChannelPrefix) + t.info.id;
    const int channel = p->pc->create_data_channel(o);
    if (channel < 0) {
        std::fclose(t.file);
        return fail_now("cannot open a data channel to " + to);
    }
    t.channel = static_cast<std::uint16_t>(channel);
    const std::string id = t.info.id;
    transfers.emplace(id, std::move(t));
    return id;
}

void Client::Impl::on_file_channel_open(Peer& p, std::uint16_t channel, const std::string& label) {
    if (Transfer* t = transfer_on(p.info.sid, channel); t && t->info.sending) {
        client::FileMeta meta{t->info.name, "application/octet-stream", t->info.sha256, t->info.size};
        p.pc->send(channel, bytes_of(client::encode_meta(meta)), false);
        t->state = State::Sending;
        return;
    }
    if (accept_dir.empty()) { // nobody asked for files: refuse
        p.pc->send(channel, bytes_of(client::encode_cancel()), false);
        p.pc->close_channel(channel);
        return;
    }
    Transfer t;
    t.info.sid = p.info.sid;
    t.info.id = label.substr(client::kFileChannelPrefix.size());
    t.state = State::AwaitMeta;
    t.channel = channel;
    transfers[t.info.id + "@" + p.info.sid] = std::move(t); // ids are the sender's: keep them apart
}

bool Client::Impl::on_file_message(Peer& p, std::uint16_t channel, std::span<const std::uint8_t> data, bool binary) {
    Transfer* t = transfer_on(p.info.sid, channel);
    if (!t) return false;
    const std::int64_t now = client_now_ms();
    const std::string_view text(reinterpret_cast<const char*>(data.data()), binary ? 0 : data.size());
    if (t->info.sending) {
        if (binary) return true;
        const client::FileControl c = client::parse_control(text);
        if (c.kind == client::FileControl::Kind::Cancel) return fail_transfer(*t, "cancelled by the other side", false), true;
        if (c.kind != client::FileControl::Kind::Ack) return true;
        if (!c.ok || c.sha256 != t->info.sha256)
            return fail_transfer(*t, "the receiver computed another SHA-256 (" + c.sha256 + ")", false), true;
        t->state = State::Done;
        t->info.bytes = t->info.size;
        std::fclose(t->file);
        t->file = nullptr;
        p.pc->close_channel(channel);
        t->closing = true;
        progress(*t, now, true);
        if (self.on_file_done) self.on_file_done(t->info);
        return true;
    }
    if (t->state == State::AwaitMeta) {
        if (binary) return fail_transfer(*t, "file data before its announcement", true), true;
        client::FileMeta meta;
        if (std::string why = client::parse_meta(text, meta); !why.empty()) return fail_transfer(*t, why, true), true;
        t->info.name = client::safe_file_name(meta.name);
        t->info.size = meta.size;
        t->info.sha256 = meta.sha256;
        t->info.path = unique_path(accept_dir, t->info.name);
        t->part = t->info.path + ".part";
        t->file = std::fopen(t->part.c_str(), "wb");
        if (!t->file) return fail_transfer(*t, t->part + ": " + std::strerror(errno), true), true;
        t->state = State::Receiving;
        if (self.on_file_started) self.on_file_started(t->info);
    } else if (!binary) {
        if (client::parse_control(text).kind == client::FileControl::Kind::Cancel)
            fail_transfer(*t, "cancelled by the other side", false);
        return true;
    } else {
        if (t->info.bytes + data.size() > t->info.size) return fail_transfer(*t, "more bytes than announced", true), true;
        if (std::fwrite(data.data(), 1, data.size(), t->file) != data.size())
            return fail_transfer(*t, t->part + ": write failed: " + std::strerror(errno), true), true;
        t->hash.update(data);
        t->info.bytes += data.size();
        progress(*t, now, false);
    }
    if (t->state == State::Receiving && t->info.bytes == t->info.size) {
        const std::string got = t->hash.hex();
        const bool ok = got == t->info.sha256 && std::fclose(t->file) == 0;
        t->file = nullptr;
        p.pc->send(channel, bytes_of(client::encode_ack(ok, got)), false);
        t->closing = true; // the sender closes the channel once it has the ack
        if (!ok) return fail_transfer(*t, "hash mismatch: the data that arrived hashes to " + got, false), true;
        if (std::rename(t->part.c_str(), t->info.path.c_str()) != 0)
            return fail_transfer(*t, t->info.path + ": " + std::strerror(errno), false), true;
        t->state = State::Done;
        progress(*t, now, true);
        if (self.on_file_done) self.on_file_done(t->info);
    }
    return true;
}

bool Client::Impl::on_file_channel_closed(Peer& p, std::uint16_t channel) {
    for (auto& [id, done] : transfers)
        if (done.info.sid == p.info.sid && done.channel == channel && done.closing &&
            (done.state == State::Done || done.state == State::Failed)) {
            done.closing = false;
            return true;
        }
    Transfer* t = transfer_on(p.info.sid, channel);
    if (!t) return false;
    fail_transfer(*t, t->info.sending ? "the receiver closed the transfer" : "the sender closed the transfer before the end",
                  false);
    return true;
}

void Client::Impl::pump_files(std::int64_t now) {
    std::vector<std::uint8_t>& chunk = file_chunk;
    for (auto& [id, t] : transfers) {
        if (t.state != State::Sending) continue;
        Peer* p = connected_peer(t.info.sid);
        if (!p) continue;
        while (t.read < t.info.size && p->pc->buffered_amount(t.channel) < client::kFileHighWater) {
            chunk.resize(client::kFileChunk);
            const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), t.file);
            if (n == 0) {
                fail_transfer(t, t.info.path + ": the file got shorter while sending", true);
                break;
            }
            if (!p->pc->send(t.channel, {chunk.data(), n}, true)) {
                fail_transfer(t, "the channel refused data", true);
                break;
            }
            t.read += n;
        }
        if (t.state != State::Sending) continue;
        const std::size_t queued = p->pc->buffered_amount(t.channel);
        t.info.bytes = t.read > queued ? t.read - queued : 0;
        if (t.read == t.info.size && queued == 0) t.state = State::AwaitAck;
        progress(t, now, false);
    }
}

} // namespace switchboard
