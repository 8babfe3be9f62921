#!/usr/bin/env bash
# Runs the hub matrix against a Switchboard server that is already running on 127.0.0.1:PORT as
# process PID, pinned by the caller (like bench/run_matrix.sh). It needs the namespaces `bench`
# (publish, anonymous) and `dbench` (publish, anonymous, durable, history_size=1000), no publish
# rate limit, no per-user connection limit, and at least 10 channels per connection (test c):
#
#   taskset -c 0 build/release/switchboard serve --listen 127.0.0.1:47201 --loops 1 \
#       --publish-rate 0 --max-connections-per-user 0 --max-channels-per-connection 128 \
#       --namespace bench:publish,anonymous \
#       --namespace dbench:publish,anonymous,durable,history_size=1000 --data /tmp/sb-bench-data &
#   bench/run_hub_matrix.sh 47201 $!
#
#   bench/run_hub_matrix.sh PORT PID [REPEATS]
#
# Tests (each REPEATS times, 3 by default; the summary shows the median of each column):
#   a  hub: 1 publisher -> 1,000 subscribers of one channel, 64 B, window 32
#   b  hub: 1 publisher -> 10,000 subscribers of one channel, 64 B, window 32
#   c  hub: 10,000 channels x 10 subscribers: 10,000 connections, each subscribed to 10 channels
#      (--subs-per-conn 10, layout spread: subscriber i takes channels (i + 1,000 j) % 10,000,
#      j = 0..9, so every channel has exactly 10 distinct subscriber connections), publishes
#      round-robin over the 10,000 channels, 64 B, window 32
#   cp as c with --sub-layout packed: subscriber i takes channels 10 i .. 10 i + 9, so each run of
#      10 consecutive publishes goes to the same 10 connections and the server can write them
#      with one syscall per connection; a best case for write coalescing, not a typical layout
#   c1k hub: 1,000 channels x 10 subscribers, one channel per connection (10,000 connections;
#      the layout of test c before --subs-per-conn), 64 B, window 32
#   d1 durable: 16 publishers x window 64, 64 B, 1 channel
#   d2 durable: 16 publishers x window 64, 64 B, 1,000 channels
#   e  hub: as a, at --rate half of a's median acknowledged publishes/s (latency below saturation)
# Every hub run also checks ordering: per channel, each subscription must see offsets increase by
# exactly 1 from its subscribe reply, and end with every acknowledged publication. A violation,
# a lost connection or a server that died makes the script exit 1 after the summary.
#
# Environment: WSLOAD (build/release/wsload), WSLOAD_CPU (1), DURATION (5), WARMUP (1),
# OUT (file that keeps the JSON lines; a temporary file by default).
set -euo pipefail
port=$1 pid=$2 repeats=${3:-3}
wsload=${WSLOAD:-build/release/wsload}
cpu=${WSLOAD_CPU:-1}
duration=${DURATION:-5}
warmup=${WARMUP:-1}
out=${OUT:-$(mktemp /tmp/hub-matrix.XXXXXX.jsonl)}
: >"$out"
failed=0

# run NAME ARGS...: one wsload run; prints its JSON line tagged with "test":NAME and keeps it.
run() {
  local name=$1 line rc=0
  shift
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run_hub_matrix: server process $pid is gone (before test $name)" >&2
    exit 1
  fi
  line=$(taskset -c "$cpu" "$wsload" "$@" --port "$port" --server-pid "$pid" \
    --duration "$duration" --warmup "$warmup" --json) || rc=$?
  if [[ $line != \{* ]]; then
    echo "run_hub_matrix: test $name: wsload exited $rc without a result" >&2
    failed=1
    return
  fi
  if ((rc != 0)); then
    echo "run_hub_matrix: test $name: wsload exited $rc (see the errors in its line)" >&2
    failed=1
  fi
  line="{\"test\":\"$name\",\"exit\":$rc,${line#\{}"
  echo "$line" | tee -a "$out"
}

# Median of a field over the runs of one test (for the rate of test e).
median() {
  python3 - "$out" "$1" "$2" <<'EOF'
import json, statistics, sys
path, test, field = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if l.startswith("{")]
vals = [r[field] for r in rows if r["test"] == test and field in r]
print(statistics.median(vals) if vals else 0)
EOF
}

echo "note: one connection per subscription would make 10,000 channels x 10 subscribers" \
  "100,000 connections, beyond the 20,000 descriptors one process may hold here; test c uses" \
  "10,000 connections with 10 subscriptions each instead" >&2

hub=(hub --size 64 --window 32)
for _ in $(seq "$repeats"); do
  run a "${hub[@]}" --connections 1000 --channels 1
  run b "${hub[@]}" --connections 10000 --channels 1 --sources 4
  run c "${hub[@]}" --connections 10000 --subs-per-conn 10 --channels 10000 --sources 4
  run cp "${hub[@]}" --connections 10000 --subs-per-conn 10 --channels 10000 --sources 4 \
    --sub-layout packed
  run c1k "${hub[@]}" --connections 10000 --channels 1000 --sources 4
  run d1 durable --connections 16 --window 64 --size 64 --channels 1
  run d2 durable --connections 16 --window 64 --size 64 --channels 1000
done
rate=$(median a acked_per_s)
rate=$(python3 -c "print(max(1, int(float('$rate') / 2)))")
echo "test e: --rate $rate (half of test a's median acknowledged publishes/s)" >&2
for _ in $(seq "$repeats"); do
  run e "${hub[@]}" --connections 1000 --channels 1 --rate "$rate"
done

python3 - "$out" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
tests = [("a", "hub 1 -> 1,000 subs, 1 channel"),
         ("b", "hub 1 -> 10,000 subs, 1 channel"),
         ("c", "hub 10,000 channels x 10 subs (10,000 conns x 10 subs)"),
         ("cp", "as c, packed layout (coalescing best case)"),
         ("c1k", "hub 1,000 channels x 10 subs (10,000 conns x 1 sub)"),
         ("d1", "durable 16 pubs x window 64, 1 channel"),
         ("d2", "durable 16 pubs x window 64, 1,000 channels"),
         ("e", "hub 1 -> 1,000 subs at half of a's rate")]
def med(rs, f):
    v = [f(r) for r in rs]
    return statistics.median(v) if v else float("nan")
print()
print("| test | what | runs | subscriptions | channels | acked publishes/s | deliveries/s "
      "| per server CPU-s | latency p50 / p99 / p999 (ms) | ack p50 / p99 (ms) | order |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for t, what in tests:
    rs = [r for r in rows if r["test"] == t]
    if not rs:
        continue
    hub = rs[0]["mode"] == "hub"
    lat = lambda k: med(rs, lambda r: r["latency_us"][k] / 1e3)
    ack = lambda k: med(rs, lambda r: r["ack_latency_us"][k] / 1e3)
    subs = "{:,}".format(rs[0]["subscriptions"]) if hub else "-"
    chans = "{:,}".format(rs[0]["channels"])
    if hub:
        bad = sum(r["order_violations"] + r["undelivered"] for r in rs)
        order = "ok" if bad == 0 and all(r["completeness_checked"] for r in rs) else (
            "FAIL (%d)" % bad if bad else "unchecked")
        deliv = "{:,.0f}".format(med(rs, lambda r: r["deliveries_per_s"]))
        latency = "%.2f / %.2f / %.2f" % (lat("p50"), lat("p99"), lat("p999"))
    else:
        order, deliv, latency = "-", "-", "-"
    per_cpu = "{:,.0f}".format(med(rs, lambda r: r.get("msgs_per_server_cpu_s", 0)))
    errors = sum(r["errors"] for r in rs)
    if errors and order in ("ok", "-"):
        order += " (errors: %d)" % errors
    print("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        t, what, len(rs), subs, chans, "{:,.0f}".format(med(rs, lambda r: r["acked_per_s"])), deliv,
        per_cpu, latency, "%.2f / %.2f" % (ack("p50"), ack("p99")), order))
print()
print("per server CPU-s: deliveries (hub) or acknowledged publishes (durable) per second of "
      "server CPU time")
e = [r for r in rows if r["test"] == "e"]
if e:
    print("test e: --rate %.0f, delivery latency p99 %.2f ms (median of %d)" % (
        e[0]["rate"], med(e, lambda r: r["latency_us"]["p99"] / 1e3), len(e)))
print("JSON lines:", sys.argv[1])
EOF

if ((failed)); then
  echo "run_hub_matrix: FAILED: at least one run reported errors (order, lost connections," \
    "publish errors); see the lines above" >&2
  exit 1
fi
