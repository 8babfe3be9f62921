#pragma once
// Switchboard's native client SDK: connect to a Switchboard server, join a room, and talk to the
// other participants peer to peer over WebRTC data channels — messages, channels of your own,
// and files — with browsers running the JavaScript SDK or with other native clients.
//
//   switchboard::Client client({.url = "ws://127.0.0.1:8080"});
//   client.on_participant_joined = [](const switchboard::Participant& p) { ... };
//   client.on_message = [](const std::string& from, const std::string& text) { ... };
//   if (auto err = client.connect(); !err.empty()) ...
//   if (auto err = client.join("standup"); !err.empty()) ...
//   while (client.poll(100)) { ... }
//
// Single-threaded: nothing runs between calls, and every callback is made from poll(). Rooms
// work as in the browser SDK: whoever joins offers to everyone already there, the signalling
// rides on the server's WebSocket, and data flows peer to peer (through the server's TURN relay
// when no direct path exists). A native peer neither sends nor receives audio or video: it turns
// down browsers' media and keeps the data.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#if defined(__GNUC__)
#define SWITCHBOARD_API __attribute__((visibility("default")))
#else
#define SWITCHBOARD_API
#endif

namespace switchboard {

struct ClientOptions {
    std::string url = "ws://127.0.0.1:8080"; // the server (ws:// or wss://); the path defaults to /connection
    std::string ca_file; // wss://: trust these certificates (PEM) instead of the system's
    std::string token;      // connection token, when the server requires one
    std::string name;       // display name of an anonymous connection
    int timeout_ms = 10000; // for connect() and join()
    bool relay_only = false; // reach peers only through the server's TURN relay (hides our addresses)
};

struct Participant {
    std::string sid;      // participant id: peers are addressed by it
    std::string identity; // user id (or the connection's id when anonymous)
    std::string name;     // info.name, when the token or connection gave one
};

/// How a channel delivers (the browser's RTCDataChannelInit).
struct ChannelOptions {
    bool ordered = true;
    int max_retransmits = -1;      // >= 0: give up on a message after that many retransmissions
    int max_packet_life_time = -1; // >= 0: ... or after that many milliseconds
    std::string protocol;
};

/// A file on its way, either direction.
struct FileTransferInfo {
    std::string sid;    // the other participant
    std::string id;     // the transfer's id (the channel label is "file:<id>")
    std::string name;   // the file name as announced
    std::string path;   // where it is read from or written to
    bool sending = false;
    std::uint64_t bytes = 0, size = 0; // progress
    std::string sha256;                // announced (sending: ours)
};

class SWITCHBOARD_API Client {
  public:
    explicit Client(ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Connects to the server and authenticates; blocks up to timeout_ms. "" or the reason.
    std::string connect();
    /// Joins `room` and starts connecting to everyone there. "" or the server's reason.
    std::string join(const std::string& room, const std::string& room_token = {});
    /// Leaves the room (peers closed, transfers cancelled).
    void leave();
    /// Runs sockets, timers and callbacks for up to `timeout_ms`. False once the server
    /// connection is gone (error() says why).
    bool poll(int timeout_ms);
    /// Why the server connection ended ("" while it lives).
    const std::string& error() const;

    /// Our participant id once joined.
    const std::string& sid() const;
    std::vector<Participant> participants() const;
    /// True when the data path to `sid` is up.
    bool connected_to(const std::string& sid) const;

    /// A text message on the room's message channel (what the browser SDK's room.send() uses).
    /// `sid` empty: to everyone connected. Returns how many it went to.
    int send_message(const std::string& sid, const std::string& text);

    /// A data channel of our own to `sid` (once connected_to(sid)); -1 if it cannot be opened.
    /// on_channel_open says when it is usable.
    int open_channel(const std::string& sid, const std::string& label, const ChannelOptions& options = {});
    bool send(const std::string& sid, int channel, std::span<const std::uint8_t> data, bool binary);
    std::size_t buffered_amount(const std::string& sid, int channel) const;
    void close_channel(const std::string& sid, int channel);

    /// Sends the file at `path` to `sid` (once connected_to(sid)), as the browser SDK does. Returns
    /// the transfer id, or "" with on_file_failed called.
    std::string send_file(const std::string& sid, const std::string& path);
    /// Accepts the files others send into `directory` (written as "<name>.part", renamed when the
    /// hash matched; an existing name gets " (1)"...). Without it incoming files are refused.
    void accept_files(const std::string& directory);
    void cancel_file(const std::string& id);
    /// True when no transfer is running and every final word (the receiver's hash
    /// confirmation, a cancel) has been delivered: poll until then before exiting.
    bool settled() const;

    // Callbacks, made from poll().
    std::function<void(const Participant&)> on_participant_joined;
    std::function<void(const Participant&, const std::string& cause)> on_participant_left;
    std::function<void(const std::string& sid)> on_peer_connected;
    std::function<void(const std::string& sid, const std::string& reason)> on_peer_failed;
    std::function<void(const std::string& sid, const std::string& text)> on_message;
    std::function<void(const std::string& sid, int channel, const std::string& label)> on_channel_open;
    std::function<void(const std::string& sid, int channel, std::span<const std::uint8_t> data, bool binary)>
        on_channel_message;
    std::function<void(const std::string& sid, int channel)> on_channel_closed;
    std::function<void(const std::string& sid, int channel)> on_buffered_amount_low;
    std::function<void(const FileTransferInfo&)> on_file_started; // receiving: announced
    std::function<void(const FileTransferInfo&)> on_file_progress;
    std::function<void(const FileTransferInfo&)> on_file_done; // the hash matched on both sides
    std::function<void(const FileTransferInfo&, const std::string& reason)> on_file_failed;
    std::function<void(const std::string& reason)> on_left; // the server took us out of the room

    struct Impl; // the implementation's, opaque here

  private:
    std::unique_ptr<Impl> impl_;
};

} // namespace switchboard
