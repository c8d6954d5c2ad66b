#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# spindle's comparison benchmarks (`make bench`): builds perf/ in Release (build/bench),
# builds the Go programs in perf/go offline, runs everything, prints one table
# (tools/bench_table.py) and leaves the raw results in perf/results/.
#
# Environment:
#   QUICK=1                 fewer repetitions, shorter runs, smaller sizes (spawn+join 10k
#                           tasks, skynet 100k leaves, one RSS run): under a minute once built
#   SPINDLE_BENCH_WORKERS   worker counts to measure, comma separated (default "1,2"); also
#                           GOMAXPROCS for the Go programs. SPINDLE_WORKERS=N means just N.
#   SPINDLE_BENCH_REPS      repetitions per case (default 5, QUICK 3); the table shows medians
#   SPINDLE_BENCH_MIN_TIME  seconds each repetition runs at least (default 0.5, QUICK 0.05)
#   SPINDLE_BENCH_RSS_TASKS blocked tasks for the RSS measurement, comma separated (default
#                           100000; "100000,1000000" adds a second size, a million: ~4 GiB
#                           for spindle, ~3 GiB for Go, about 2 more minutes)
#   SPINDLE_BENCH_SPAWN_TASKS, SPINDLE_BENCH_SKYNET_LEAVES, SPINDLE_BENCH_YIELDS,
#   SPINDLE_BENCH_CHAN_MSGS, SPINDLE_BENCH_PINGPONGS, SPINDLE_BENCH_PIPELINE_ITEMS
#                           workload sizes, for C++ and Go alike (default 100000, 1000000,
#                           10000, 100000, 10000, 100000; QUICK: 10000, 100000, 10000,
#                           20000, 2000, 20000)
#   SPINDLE_BENCH_FILTER    regular expression: only C++/Go cases whose "workload/impl"
#                           matches run (e.g. 'skynet' or 'spindle|go')
#   BENCH_BUILD_DIR         build tree (default build/bench); BENCH_RESULTS_DIR (perf/results)
#   BENCH_JOBS              parallel build jobs (default: nproc)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

QUICK=${QUICK:-0}
if [[ "$QUICK" == "1" ]]; then
  REPS=${SPINDLE_BENCH_REPS:-3}
  MIN_TIME=${SPINDLE_BENCH_MIN_TIME:-0.05}
  IDLE_MS=300
  RSS_REPS=1
  export SPINDLE_BENCH_SKYNET_LEAVES=${SPINDLE_BENCH_SKYNET_LEAVES:-100000}
  export SPINDLE_BENCH_SPAWN_TASKS=${SPINDLE_BENCH_SPAWN_TASKS:-10000}
  export SPINDLE_BENCH_CHAN_MSGS=${SPINDLE_BENCH_CHAN_MSGS:-20000}
  export SPINDLE_BENCH_PINGPONGS=${SPINDLE_BENCH_PINGPONGS:-2000}
  export SPINDLE_BENCH_PIPELINE_ITEMS=${SPINDLE_BENCH_PIPELINE_ITEMS:-20000}
else
  REPS=${SPINDLE_BENCH_REPS:-5}
  MIN_TIME=${SPINDLE_BENCH_MIN_TIME:-0.5}
  IDLE_MS=1000
  RSS_REPS=$((REPS < 3 ? REPS : 3))
  export SPINDLE_BENCH_SKYNET_LEAVES=${SPINDLE_BENCH_SKYNET_LEAVES:-1000000}
  export SPINDLE_BENCH_SPAWN_TASKS=${SPINDLE_BENCH_SPAWN_TASKS:-100000}
  export SPINDLE_BENCH_CHAN_MSGS=${SPINDLE_BENCH_CHAN_MSGS:-100000}
  export SPINDLE_BENCH_PINGPONGS=${SPINDLE_BENCH_PINGPONGS:-10000}
  export SPINDLE_BENCH_PIPELINE_ITEMS=${SPINDLE_BENCH_PIPELINE_ITEMS:-100000}
fi
export SPINDLE_BENCH_YIELDS=${SPINDLE_BENCH_YIELDS:-10000}
if [[ -n "${SPINDLE_BENCH_WORKERS:-}" ]]; then
  WORKERS=$SPINDLE_BENCH_WORKERS
elif [[ -n "${SPINDLE_WORKERS:-}" ]]; then
  WORKERS=$SPINDLE_WORKERS
else
  WORKERS=1,2
fi
export SPINDLE_BENCH_WORKERS=$WORKERS
RSS_TASKS=${SPINDLE_BENCH_RSS_TASKS:-100000}
FILTER=${SPINDLE_BENCH_FILTER:-.}
BUILD=${BENCH_BUILD_DIR:-build/bench}
RESULTS=${BENCH_RESULTS_DIR:-perf/results}
JOBS=${BENCH_JOBS:-$(nproc 2>/dev/null || echo 2)}
CASE_TIMEOUT=${BENCH_CASE_TIMEOUT:-300}
IFS=, read -r -a WORKER_LIST <<<"$WORKERS"

START=$(date +%s)
step() { printf '==> [%4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
FAILED=()

# ---------------------------------------------------------------------------------------
step "configure + build (Release, $BUILD)"
rm -rf "$BUILD/logs"
mkdir -p "$BUILD/logs"
GENERATOR=()
if [[ ! -f "$BUILD/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
  GENERATOR=(-G Ninja)
fi
cmake -S . -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DSPINDLE_BUILD_TESTS=OFF -DSPINDLE_BUILD_EXAMPLES=OFF -DSPINDLE_BUILD_BENCH=ON \
  >"$BUILD/logs/configure.log" 2>&1 || { cat "$BUILD/logs/configure.log"; exit 1; }
grep 'spindle perf:' "$BUILD/logs/configure.log" | sed 's/^-- /    /' || true
cmake --build "$BUILD" -j "$JOBS" >"$BUILD/logs/build.log" 2>&1 ||
  { tail -50 "$BUILD/logs/build.log"; exit 1; }

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
{
  echo "{"
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"host\": \"$(uname -srm)\","
  echo "  \"cpu\": \"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)\","
  echo "  \"cores\": $(nproc),"
  echo "  \"load_average\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"workers\": \"$WORKERS\", \"repetitions\": $REPS, \"min_time_s\": $MIN_TIME, \"quick\": $QUICK,"
  echo "  \"compiler\": \"$(${CXX:-c++} --version 2>/dev/null | head -1)\","
  echo "  \"go\": \"$(go version 2>/dev/null || echo none)\""
  echo "}"
} >"$RESULTS/machine.json"

# How far apart two CPUs are (a cache line's round trip), before and after the run: on a VM
# it moves with the host's placement of the vCPUs, and every two-worker figure moves with it.
core_latency() {
  if [[ -x "$BUILD/perf/spindle_core_latency" ]]; then
    "$BUILD/perf/spindle_core_latency" >"$RESULTS/core_latency_$1.json" ||
      FAILED+=("spindle_core_latency ($1)")
    step "cross-core round trip ($1): $(cat "$RESULTS/core_latency_$1.json" 2>/dev/null)"
  fi
}
core_latency before

# ---------------------------------------------------------------------------------------
# C++ benchmarks: one process per workload/implementation pair, so that one case's memory
# (peak RSS) or crash does not spill into another's.
run_gbench() {
  local exe=$1
  local path="$BUILD/perf/$exe"
  if [[ ! -x "$path" ]]; then
    step "skip $exe (not built)"
    return 0
  fi
  local groups g rc
  groups=$("$path" --benchmark_list_tests=true | awk -F/ '!seen[$1 "/" $2]++ {print $1 "/" $2}')
  for g in $groups; do
    [[ "$g" =~ $FILTER ]] || continue
    local out="$RESULTS/cpp_${g//\//_}.json" log="$BUILD/logs/${g//\//_}.log"
    step "$g"
    rc=0
    timeout "$CASE_TIMEOUT" "$path" \
      --benchmark_filter="^${g//./\\.}(/|$)" \
      --benchmark_repetitions="$REPS" \
      --benchmark_min_time="$MIN_TIME" \
      --benchmark_report_aggregates_only=true \
      --benchmark_out="$out" --benchmark_out_format=json >"$log" 2>&1 || rc=$?
    # Show the medians as they come; the full console output stays in $BUILD/logs.
    grep '_median' "$log" | sed 's/^/    /' || true
    if [[ $rc -ne 0 ]]; then
      echo "    FAILED (exit $rc), see $log" >&2
      FAILED+=("$g")
    fi
  done
}

run_gbench spindle_switch_bench
run_gbench spindle_spawn_bench
run_gbench spindle_yield_bench
run_gbench spindle_chan_bench
run_gbench spindle_pattern_bench

IFS=, read -r -a RSS_SIZES <<<"$RSS_TASKS"
if [[ -x "$BUILD/perf/spindle_rss_bench" && "rss_blocked/spindle" =~ $FILTER ]]; then
  for n in "${RSS_SIZES[@]}"; do
    for w in "${WORKER_LIST[@]}"; do
      step "rss_blocked_$n + idle_cpu / spindle, workers=$w"
      rc=0
      timeout "$CASE_TIMEOUT" "$BUILD/perf/spindle_rss_bench" --tasks="$n" --workers="$w" \
        --reps="$RSS_REPS" --idle-ms="$IDLE_MS" >"$RESULTS/rss.tmp" || rc=$?
      sed 's/^/    /' "$RESULTS/rss.tmp"
      cat "$RESULTS/rss.tmp" >>"$RESULTS/cpp_rss_spindle.jsonl"
      rm -f "$RESULTS/rss.tmp"
      [[ $rc -eq 0 ]] || FAILED+=("rss_blocked_$n/spindle/workers:$w (exit $rc)")
    done
  done
fi

# ---------------------------------------------------------------------------------------
# Go: built offline with the system toolchain; every program prints JSON lines.
if command -v go >/dev/null 2>&1; then
  GOBIN_DIR="$BUILD/go"
  mkdir -p "$GOBIN_DIR"
  export GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOTOOLCHAIN=local
  BUILD_ABS=$(cd "$BUILD" && pwd)  # BENCH_BUILD_DIR may be absolute or relative
  export GOPATH="$BUILD_ABS/gopath" GOCACHE="$BUILD_ABS/gocache"
  step "go build perf/go/*.go ($(go version | cut -d' ' -f3))"
  for prog in skynet spawn yield rss chan pattern; do
    # measure.go: what the programs share (CPU time, the repetition loop).
    go build -o "$GOBIN_DIR/$prog" "perf/go/$prog.go" perf/go/measure.go || FAILED+=("go build $prog")
  done
  SKYNET_LEAVES=$SPINDLE_BENCH_SKYNET_LEAVES
  SPAWN_TASKS=$SPINDLE_BENCH_SPAWN_TASKS
  YIELDS=$SPINDLE_BENCH_YIELDS
  go_run() {  # go_run <label> <gomaxprocs> <program> <args...>
    local label=$1 procs=$2 prog=$3 rc=0
    shift 3
    [[ -x "$GOBIN_DIR/$prog" ]] || return 0
    step "$label / go, GOMAXPROCS=$procs"
    GOMAXPROCS=$procs timeout "$CASE_TIMEOUT" "$GOBIN_DIR/$prog" "$@" \
      >"$RESULTS/go_run.tmp" || rc=$?
    sed 's/^/    /' "$RESULTS/go_run.tmp"
    cat "$RESULTS/go_run.tmp" >>"$RESULTS/go_$prog.jsonl"
    rm -f "$RESULTS/go_run.tmp"
    [[ $rc -eq 0 ]] || FAILED+=("go $prog GOMAXPROCS=$procs")
  }
  for w in "${WORKER_LIST[@]}"; do
    if [[ "spawn_join/go" =~ $FILTER ]]; then
      go_run "spawn_join_$SPAWN_TASKS" "$w" spawn -tasks "$SPAWN_TASKS" -reps "$REPS" -min_time "$MIN_TIME"
    fi
    if [[ "skynet/go" =~ $FILTER ]]; then
      go_run "skynet_$SKYNET_LEAVES" "$w" skynet -leaves "$SKYNET_LEAVES" -reps "$REPS" -min_time "$MIN_TIME"
    fi
    if [[ "chan/go" =~ $FILTER ]]; then
      go_run "chan_* (5 workloads)" "$w" chan -msgs "$SPINDLE_BENCH_CHAN_MSGS" \
        -pingpongs "$SPINDLE_BENCH_PINGPONGS" -reps "$REPS" -min_time "$MIN_TIME"
    fi
    if [[ "pipeline4/go" =~ $FILTER || "ctx_cancel/go" =~ $FILTER || "or_channel/go" =~ $FILTER ]]; then
      go_run "pipeline4, ctx_cancel_10k, or_channel_100" "$w" pattern \
        -items "$SPINDLE_BENCH_PIPELINE_ITEMS" -reps "$REPS" -min_time "$MIN_TIME"
    fi
  done
  if [[ "yield/go" =~ $FILTER ]]; then
    go_run yield 1 yield -yields "$YIELDS" -reps "$REPS" -min_time "$MIN_TIME"
  fi
  if [[ "rss_blocked/go" =~ $FILTER ]]; then
    for n in "${RSS_SIZES[@]}"; do
      for w in "${WORKER_LIST[@]}"; do
        for ((r = 1; r <= RSS_REPS; r++)); do
          # Goroutines cannot be stopped, so each repetition is a fresh process.
          go_run "rss_blocked_$n + idle_cpu ($r/$RSS_REPS)" "$w" rss -tasks "$n" -idle_ms "$IDLE_MS"
        done
      done
    done
  fi
else
  step "skip Go programs: no 'go' in PATH (Debian: golang-go)"
fi

# ---------------------------------------------------------------------------------------
# Network servers: spindle's echo and HTTP examples against Go's, over loopback.
if [[ "net/" =~ $FILTER ]] && command -v go >/dev/null 2>&1 &&
  command -v wrk >/dev/null 2>&1; then
  step "network servers: HTTP (wrk), echo, idle-connection RSS vs Go (perf/net_bench.sh)"
  SERVERS=$BUILD/servers
  cmake -S . -B "$SERVERS" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release -DSPINDLE_BUILD_TESTS=OFF \
    -DSPINDLE_BUILD_EXAMPLES=ON -DSPINDLE_BUILD_BENCH=OFF >"$BUILD/logs/servers.log" 2>&1 &&
    cmake --build "$SERVERS" -j "$JOBS" --target spindle_http_hello spindle_echo_server \
      >>"$BUILD/logs/servers.log" 2>&1 &&
    SERVERS_BUILD=$SERVERS OUT=$RESULTS/net.jsonl WORKERS=2 \
      NET_BENCH_SECONDS=$([[ "$QUICK" == "1" ]] && echo 1 || echo 3) bash perf/net_bench.sh "$BUILD" ||
    { tail -20 "$BUILD/logs/servers.log"; FAILED+=("net_bench"); }
else
  step "skip network servers: needs go and wrk"
fi

core_latency after

# ---------------------------------------------------------------------------------------
step "table"
python3 tools/bench_table.py "$RESULTS"
step "done in $(($(date +%s) - START)) s; raw results in $RESULTS/"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo "FAILED: ${FAILED[*]}" >&2
  exit 1
fi
