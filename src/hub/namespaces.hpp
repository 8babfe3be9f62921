#pragma once
// Per-namespace channel options (docs/protocol.md). The table is built at startup from the
// embedded defaults, the TOML file's [namespaces.NAME] tables and --namespace flags, and is
// read-only afterwards, so every loop reads it without locks.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::hub {

struct NamespaceOptions {
    std::string name;               // "" is the default namespace
    std::uint32_t history_size = 0; // publications kept per channel; 0: no history, no recovery
    std::uint32_t history_ttl = 300; // seconds; 0: kept until pushed out by history_size
    bool durable = false;            // history in SQLite (survives restarts)
    bool presence = false;
    bool join_leave = false;
    bool publish = false;            // clients may publish
    bool subscribe_token = false;    // subscribing needs a subscription token or the channels claim
    bool anonymous = false;          // anonymous connections may use the namespace
};

inline constexpr std::uint32_t kMaxHistorySize = 100000;

/// Sets one option from its name and text value; throws std::invalid_argument naming it.
/// Booleans accept true/false/on/off/1/0 (a bare name in a spec means true).
void set_namespace_option(NamespaceOptions& ns, std::string_view key, std::string_view value);

/// "chat:history_size=100,durable,presence" -> options of namespace "chat" (a spec without ':'
/// names the namespace only: all defaults). Throws std::invalid_argument.
NamespaceOptions parse_namespace_spec(std::string_view spec);

/// Immutable after startup; thread-safe to read.
class Namespaces {
  public:
    /// The embedded defaults: the default namespace (server API only), and `chat` and `typing`
    /// for the demo app at / (anonymous use follows --allow-anonymous).
    static Namespaces defaults();

    /// Adds a namespace or replaces the one with the same name.
    void set(NamespaceOptions ns);
    const NamespaceOptions* find(std::string_view name) const noexcept;
    /// The namespace a channel name belongs to; null for an invalid name or an unknown
    /// namespace.
    const NamespaceOptions* of_channel(std::string_view channel) const noexcept;
    bool any_durable() const noexcept;
    const std::vector<NamespaceOptions>& all() const noexcept { return list_; }

  private:
    std::vector<NamespaceOptions> list_;
};

} // namespace switchboard::hub
