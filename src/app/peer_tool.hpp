#pragma once
// `switchboard peer`: a native WebRTC data-channel peer signalled over stdin/stdout (see
// peer_tool.cpp), for interop tests and debugging.
namespace switchboard::app {
int peer_tool(int argc, char** argv);
}
