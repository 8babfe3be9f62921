#pragma once
// `switchboard send FILE --room R` and `switchboard receive --room R`: peer-to-peer file
// transfer between terminals and browsers through a room of the server (see file_tool.cpp).
namespace switchboard::app {
int send_tool(int argc, char** argv);
int receive_tool(int argc, char** argv);
}
