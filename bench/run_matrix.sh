#!/usr/bin/env bash
# Runs the load matrix of docs/benchmarks.md against one WebSocket server that is already
# running on 127.0.0.1:PORT (with /echo and /broadcast) as process PID, pinned by the caller.
# The load generator runs on CPU ${WSLOAD_CPU:-1}. Each line is one wsload JSON result.
#   bench/run_matrix.sh PORT PID [REPEATS]
set -euo pipefail
port=$1 pid=$2 repeats=${3:-3}
wsload=${WSLOAD:-build/release/wsload}
cpu=${WSLOAD_CPU:-1}
run() { taskset -c "$cpu" "$wsload" "$@" --port "$port" --server-pid "$pid" --json; }
for r in $(seq "$repeats"); do
  run echo --connections 100 --size 64 --pipeline 1 --duration 5 --warmup 1
  run echo --connections 100 --size 16384 --pipeline 1 --duration 5 --warmup 1
  run broadcast --connections 1000 --size 64 --window 32 --duration 5 --warmup 1
done
