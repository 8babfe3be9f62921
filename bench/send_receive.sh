#!/usr/bin/env bash
# Peer-to-peer file transfer between two terminals on this machine: `switchboard send` to
# `switchboard receive` through a room of a local server, direct (host candidates on loopback)
# and relayed through the server's TURN (--relay). Prints the wall time from starting send to
# both commands exiting (connect, join, ICE, DTLS, SCTP, transfer, hash check, last word
# delivered) and MiB/s, the median of RUNS runs. Usage: bench/send_receive.sh BINARY [MIB] [RUNS]
set -euo pipefail
bin=$(realpath "$1")
mib=${2:-200}
runs=${3:-3}
tmp=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen 127.0.0.1:$port --turn-listen 127.0.0.1:0 --turn-allow-peer 127.0.0.0/8 --data "$tmp/data" \
  >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
head -c $((mib * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
url=ws://127.0.0.1:$port
for mode in direct relay; do
  flag=""; [ $mode = relay ] && flag="--relay"
  times=()
  for i in $(seq "$runs"); do
    rm -rf "$tmp/out" && mkdir "$tmp/out"
    "$bin" receive --room "b$mode$i" --out "$tmp/out" --server $url --quiet $flag > /dev/null &
    recv=$!
    sleep 0.3
    start=$(date +%s%N)
    "$bin" send "$tmp/file.bin" --room "b$mode$i" --server $url --quiet $flag > /dev/null
    wait $recv
    end=$(date +%s%N)
    cmp -s "$tmp/file.bin" "$tmp/out/file.bin" || { echo "$mode: the file differs" >&2; exit 1; }
    times+=($(( (end - start) / 1000000 )))
  done
  med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "$mode: ${mib} MiB in ${med} ms median (runs: ${times[*]} ms) = $(python3 -c "print(round($mib / ($med / 1000), 1))") MiB/s"
done
