#!/usr/bin/env bash
# Runs the STUN/TURN matrix against a server already running on 127.0.0.1:PORT as process PID
# (pinned by the caller to CPU 0), with turnload on CPU 1. The server needs a user bench:bench,
# loopback peers allowed, no per-user allocation limit and no unauthenticated rate limit:
#
#   taskset -c 0 build/release/switchboard serve --loops 1 --turn-listen 127.0.0.1:3478 \
#       --turn-user bench:bench --turn-allow-peer 127.0.0.0/8 --turn-unauth-rate 0 \
#       --turn-max-allocations-per-user 0 &
#   taskset -c 0 turnserver -n --listening-ip=127.0.0.1 --listening-port=3478 --relay-ip=127.0.0.1 \
#       --relay-threads=1 --no-tls --no-dtls --no-cli --lt-cred-mech --user=bench:bench \
#       --realm=switchboard --allow-loopback-peers &                                 # the anchor
#   bench/run_turn_matrix.sh PORT PID [REPEATS]
#
# Then the machine's own limit with the same load:
#   taskset -c 0 build/release/udpfwd --listen 127.0.0.1:40000 --to 127.0.0.1:41000 --flows 16 [--gso] &
#   bench/run_turn_matrix.sh --forwarder 40000 PID
#
# Tests (each REPEATS times, 3 by default; the summary shows medians):
#   bind-many  Binding from 512 client sockets, 2 in flight each (every answer to a new address)
#   bind-16    Binding from 16 sockets, 8 in flight each
#   bind-gso   Binding from 16 sockets, 64 in flight, requests sent as UDP_SEGMENT bursts
#   alloc      allocation cycles (Allocate, 401, authenticated Allocate, Refresh 0) from 64
#              sockets, each reallocating from the same address
#   alloc-new  the same with a new socket for every cycle
#   relay      16 allocations, ChannelData of 100 B one way to peers of turnload, unpaced
#   relay-gso  the same, sent as UDP_SEGMENT bursts (the load generator can offer ~1 M pps)
#   relay-R    paced at R packets/s (R = 100k, 200k, 300k; gso-400k, gso-600k, gso-800k):
#              the loss at each offered rate
#   hold       5,000 allocations held: bytes of server memory each, and after freeing them
# Environment: TURNLOAD (build/release/turnload), LOADGEN_CPU (1), DURATION (3), WARMUP (1),
# OUT (file for the JSON lines).
set -euo pipefail
forwarder=0
if [ "${1:-}" = --forwarder ]; then forwarder=1; shift; fi
port=$1 pid=$2 repeats=${3:-3}
tl=${TURNLOAD:-build/release/turnload}
cpu=${LOADGEN_CPU:-1}
duration=${DURATION:-3}
warmup=${WARMUP:-1}
out=${OUT:-$(mktemp /tmp/turn-matrix.XXXXXX.jsonl)}
: >"$out"

run() {
  local name=$1 line
  shift
  line=$(taskset -c "$cpu" "$tl" "$@" --port "$port" --server-pid "$pid" --duration "$duration" --warmup "$warmup" --json) || true
  if [[ $line != \{* ]]; then echo "run_turn_matrix: $name produced no result" >&2; return; fi
  echo "{\"test\":\"$name\",${line#\{}" | tee -a "$out"
}

for r in $(seq "$repeats"); do
  if [ $forwarder = 1 ]; then
    run relay relay --raw --peer-port 41000 --clients 16
    run relay-gso relay --raw --peer-port 41000 --clients 16 --gso
    for rate in 100000 200000 300000; do run "relay-$((rate / 1000))k" relay --raw --peer-port 41000 --clients 16 --rate $rate; done
    for rate in 400000 600000 800000; do run "relay-gso-$((rate / 1000))k" relay --raw --peer-port 41000 --clients 16 --gso --rate $rate; done
    continue
  fi
  run bind-many binding --clients 512 --window 2
  run bind-16 binding --clients 16 --window 8
  run bind-gso binding --clients 16 --window 64 --gso
  run alloc alloc --clients 64
  run alloc-new alloc --clients 64 --new-tuple
  run relay relay --clients 16
  run relay-gso relay --clients 16 --gso
  for rate in 100000 200000 300000; do run "relay-$((rate / 1000))k" relay --clients 16 --rate $rate; done
  for rate in 400000 600000 800000; do run "relay-gso-$((rate / 1000))k" relay --clients 16 --gso --rate $rate; done
done
[ $forwarder = 1 ] || run hold hold --allocations 5000

python3 - "$out" <<'PY'
import json, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line); rows[d["test"]].append(d)
med = lambda xs: sorted(xs)[len(xs) // 2]
print(f"{'test':<18}{'per s':>12}{'per server CPU-s':>18}{'loss %':>9}{'server CPU':>12}")
for t, ds in rows.items():
    if t == "hold":
        d = ds[0]
        print(f"hold: {d['allocations']} allocations, {d['bytes_per_allocation']:.0f} bytes each; RSS {d['rss_before_kb']} -> "
              f"{d['rss_held_kb']} -> {d['rss_after_free_kb']} kB after freeing")
        continue
    key = next(k for k in ("answers_per_s", "cycles_per_s", "relayed_pps") if k in ds[0])
    cpu_key = {"answers_per_s": "answers_per_server_cpu_s", "cycles_per_s": "cycles_per_server_cpu_s",
               "relayed_pps": "relayed_per_server_cpu_s"}[key]
    loss = med([d.get("loss_pct", 0) for d in ds])
    print(f"{t:<18}{med([d[key] for d in ds]):>12,.0f}{med([d.get(cpu_key, 0) for d in ds]):>18,.0f}{loss:>9.3f}"
          f"{med([d['server_cpu_s'] for d in ds]):>12.2f}")
PY
