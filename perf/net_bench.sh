#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# perf/net_bench.sh [BUILD_DIR]: spindle's servers against Go's, over loopback.
#   HTTP: wrk -t1 -c100 against spindle_http_hello and perf/go/net_http.go (net/http)
#   echo: spindle_net_load, 1,000 connections of closed-loop 64-byte round trips, against
#         spindle_echo_server and perf/go/net_echo.go (p50/p99 latency and throughput)
#   RSS:  each echo server's resident memory with 10,000 idle connections, per connection
# Servers get SPINDLE_WORKERS=GOMAXPROCS=$WORKERS (default 2); the load generators run on
# the same machine. Results: one JSON line per case in $OUT (default perf/results/net.jsonl).
# Needs: a build with examples and perf (or SERVERS_BUILD for the examples), go, wrk.
# Each line also carries the keys tools/bench_table.py reads: workload, impl, workers, value
# (time per request / round trip in ns, or bytes per idle connection), unit.
#
# PINNED=1: the server on CPU 1 (`taskset -c 1`, one worker, GOMAXPROCS=1) and the load
# generator on CPU 0, for spindle under each I/O backend (SPINDLE_IO=epoll, io_uring) and Go
# in the same run: HTTP (wrk -t1 -c100) and echo (100 connections), each with the server's
# CPU time per request or round trip (user + system, from /proc/<pid>/stat) beside the
# throughput. Results: $OUT (default perf/results/net_pinned.jsonl). Needs two CPUs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build/default}" && pwd)
SERVERS_BUILD=$(cd "${SERVERS_BUILD:-$BUILD}" && pwd)
WORKERS=${WORKERS:-2}
SECONDS_PER_RUN=${NET_BENCH_SECONDS:-10}
PINNED=${PINNED:-0}
if [[ "$PINNED" == 1 ]]; then
  OUT=${OUT:-$ROOT/perf/results/net_pinned.jsonl}
else
  OUT=${OUT:-$ROOT/perf/results/net.jsonl}
fi
GOBIN_DIR=$BUILD/gobin
export GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOTOOLCHAIN=local
export GOPATH=$BUILD/gopath GOCACHE=$BUILD/gocache
mkdir -p "$GOBIN_DIR" "$(dirname "$OUT")"
for prog in net_http net_echo; do go build -o "$GOBIN_DIR/$prog" "$ROOT/perf/go/$prog.go"; done
command -v wrk > /dev/null || { echo "net_bench: wrk missing (apt-get install wrk)" >&2; exit 1; }
: > "$OUT"

SERVER_PID=
SERVER_PREFIX=()  # what runs the server (taskset in the pinned mode)
start_server() {  # start_server LOG CMD...: runs CMD, waits for "listening on"
  local log=$1
  shift
  SPINDLE_WORKERS=$WORKERS GOMAXPROCS=$WORKERS "${SERVER_PREFIX[@]}" "$@" > "$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q "listening on" "$log" && return 0
    sleep 0.05
  done
  echo "net_bench: server did not start: $*" >&2
  cat "$log" >&2
  return 1
}
stop_server() {
  kill -TERM "$SERVER_PID" 2> /dev/null || true
  wait "$SERVER_PID" 2> /dev/null || true
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# User plus system CPU time of a process so far, in clock ticks (fields 14 and 15 of its
# stat; the command name, field 2, may hold spaces, so count from the closing parenthesis).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

PORT=18431
declare -A HTTP_SERVER=([spindle]="$SERVERS_BUILD/examples/spindle_http_hello $PORT"
                        [go]="$GOBIN_DIR/net_http $PORT")
declare -A ECHO_SERVER=([spindle]="$SERVERS_BUILD/examples/spindle_echo_server $PORT"
                        [go]="$GOBIN_DIR/net_echo $PORT")

if [[ "$PINNED" == 1 ]]; then
  command -v taskset > /dev/null || { echo "net_bench: taskset missing (util-linux)" >&2; exit 1; }
  [[ $(nproc) -ge 2 ]] || { echo "net_bench: PINNED=1 needs two CPUs" >&2; exit 1; }
  WORKERS=1
  SERVER_PREFIX=(taskset -c 1)
  LOAD=(taskset -c 0)
  TICK_NS=$(( 1000000000 / $(getconf CLK_TCK) ))
  # pinned_case IMPL SPINDLE_IO: HTTP then echo against IMPL's servers (SPINDLE_IO for spindle).
  pinned_case() {
    local impl=$1 io=$2 label=$1 res rps reqs t0 t1 cpu_ns rt per_sec
    [[ "$impl" == spindle ]] && label="spindle_$io"
    # shellcheck disable=SC2086
    SPINDLE_IO=$io start_server /tmp/net_bench_server.log ${HTTP_SERVER[$impl]}
    "${LOAD[@]}" wrk -t1 -c100 -d1s "http://127.0.0.1:$PORT/" > /dev/null  # warm-up
    t0=$(cpu_ticks "$SERVER_PID")
    res=$("${LOAD[@]}" wrk -t1 -c100 -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$PORT/")
    t1=$(cpu_ticks "$SERVER_PID")
    stop_server
    rps=$(awk '/^Requests\/sec/ {print $2}' <<< "$res")
    reqs=$(awk '/requests in/ {print $1}' <<< "$res")
    cpu_ns=$(awk -v t=$(( (t1 - t0) * TICK_NS )) -v n="$reqs" 'BEGIN { printf "%.0f", t / n }')
    echo "{\"workload\":\"net_http_c100_pinned\",\"impl\":\"$label\",\"workers\":1,\"value\":$cpu_ns,\"unit\":\"server CPU ns/op\",\"requests_per_sec\":$rps,\"requests\":$reqs}" | tee -a "$OUT"
    # shellcheck disable=SC2086
    SPINDLE_IO=$io start_server /tmp/net_bench_server.log ${ECHO_SERVER[$impl]}
    t0=$(cpu_ticks "$SERVER_PID")
    res=$(SPINDLE_WORKERS=1 SPINDLE_IO=epoll "${LOAD[@]}" "$BUILD/perf/spindle_net_load" echo $PORT 100 "$SECONDS_PER_RUN" 64)
    t1=$(cpu_ticks "$SERVER_PID")
    stop_server
    rt=$(sed -n 's/.*"round_trips":\([0-9]*\).*/\1/p' <<< "$res")
    per_sec=$(sed -n 's/.*"per_sec":\([0-9.]*\).*/\1/p' <<< "$res")
    cpu_ns=$(awk -v t=$(( (t1 - t0) * TICK_NS )) -v n="$rt" 'BEGIN { printf "%.0f", t / n }')
    echo "{\"workload\":\"net_echo_c100_pinned\",\"impl\":\"$label\",\"workers\":1,\"value\":$cpu_ns,\"unit\":\"server CPU ns/op\",\"round_trips_per_sec\":$per_sec,\"result\":$res}" | tee -a "$OUT"
  }
  pinned_case spindle epoll
  pinned_case spindle io_uring
  pinned_case go epoll
  exit 0
fi

for impl in spindle go; do
  # shellcheck disable=SC2086
  start_server /tmp/net_bench_server.log ${HTTP_SERVER[$impl]}
  wrk -t1 -c100 -d1s "http://127.0.0.1:$PORT/" > /dev/null  # warm-up
  res=$(wrk -t1 -c100 -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$PORT/")
  stop_server
  rps=$(awk '/^Requests\/sec/ {print $2}' <<< "$res")
  p50=$(awk '$1 == "50%" {print $2}' <<< "$res")
  p99=$(awk '$1 == "99%" {print $2}' <<< "$res")
  ns=$(awk -v r="$rps" 'BEGIN { printf "%.1f", 1e9 / r }')
  echo "{\"workload\":\"net_http_c100\",\"impl\":\"$impl\",\"workers\":$WORKERS,\"value\":$ns,\"unit\":\"ns/op\",\"requests_per_sec\":$rps,\"p50\":\"$p50\",\"p99\":\"$p99\"}" | tee -a "$OUT"
done

for impl in spindle go; do
  # shellcheck disable=SC2086
  start_server /tmp/net_bench_server.log ${ECHO_SERVER[$impl]}
  res=$(SPINDLE_WORKERS=1 "$BUILD/perf/spindle_net_load" echo $PORT 1000 "$SECONDS_PER_RUN" 64)
  stop_server
  per_sec=$(sed -n 's/.*"per_sec":\([0-9.]*\).*/\1/p' <<< "$res")
  ns=$(awk -v r="$per_sec" 'BEGIN { printf "%.1f", 1e9 / r }')
  echo "{\"workload\":\"net_echo_c1000\",\"impl\":\"$impl\",\"workers\":$WORKERS,\"value\":$ns,\"unit\":\"ns/op\",\"result\":$res}" | tee -a "$OUT"
done

for impl in spindle go; do
  # shellcheck disable=SC2086
  start_server /tmp/net_bench_server.log ${ECHO_SERVER[$impl]}
  before=$(rss_kib "$SERVER_PID")
  SPINDLE_WORKERS=1 "$BUILD/perf/spindle_net_load" idle $PORT 10000 8 > /dev/null &
  load=$!
  sleep 6
  after=$(rss_kib "$SERVER_PID")
  wait "$load"
  stop_server
  per=$(( (after - before) * 1024 / 10000 ))
  echo "{\"workload\":\"net_rss_idle_10k\",\"impl\":\"$impl\",\"workers\":$WORKERS,\"value\":$per,\"unit\":\"B/conn\",\"rss_before_kib\":$before,\"rss_after_kib\":$after}" | tee -a "$OUT"
done
