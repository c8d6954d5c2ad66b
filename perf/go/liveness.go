// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// Go's side of perf/liveness_bench.cpp: 100,000 goroutines each sleep a random 0-1,000 ms;
// the lateness (wake-up minus deadline) p50 and p99 in ms, one JSON line each per repetition.
// And 1 ms sleeps beside a load, as a fraction of the unloaded wake-ups.
//
//	GOMAXPROCS=2 go run liveness.go measure.go [-reps 3] [-window_ms 1000]
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func emit(workload string, value float64, unit string) {
	fmt.Printf("{\"workload\": %q, \"impl\": \"go\", \"workers\": %d, \"value\": %.4f, \"unit\": %q}\n",
		workload, runtime.GOMAXPROCS(0), value, unit)
}

func timers100k(seed int64) (p50, p99 float64) {
	const n = 100000
	late := make([]float64, n)
	rng := rand.New(rand.NewSource(seed))
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		deadline := time.Now().Add(time.Duration(rng.Intn(1001)) * time.Millisecond)
		go func(i int, deadline time.Time) {
			time.Sleep(time.Until(deadline))
			late[i] = float64(time.Since(deadline).Nanoseconds()) / 1e6
			wg.Done()
		}(i, deadline)
	}
	wg.Wait()
	sort.Float64s(late)
	return late[n/2], late[(n-1)*99/100]
}

func wakeups(window time.Duration, load bool) int {
	var stop atomic.Bool
	var wg sync.WaitGroup
	if load {
		for p := 0; p < 2; p++ {
			ping, pong := make(chan int), make(chan int)
			wg.Add(2)
			go func() {
				for !stop.Load() {
					ping <- 1
					<-pong
				}
				close(ping)
				wg.Done()
			}()
			go func() {
				for range ping {
					pong <- 1
				}
				wg.Done()
			}()
		}
	}
	time.Sleep(10 * time.Millisecond)
	n := 0
	for until := time.Now().Add(window); time.Now().Before(until); n++ {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	return n
}

func main() {
	reps := flag.Int("reps", 3, "repetitions")
	windowMs := flag.Int("window_ms", 1000, "window of the wake-up counts")
	flag.Parse()
	for r := 0; r < *reps; r++ {
		window := time.Duration(*windowMs) * time.Millisecond
		base, loaded := wakeups(window, false), wakeups(window, true)
		emit("sleep1ms_pingpong_load", float64(loaded)/float64(base), "of unloaded wake-ups")
	}
	for r := 0; r < *reps; r++ {
		p50, p99 := timers100k(int64(42 + r))
		emit("timers_100k_p50", p50, "ms late")
		emit("timers_100k_p99", p99, "ms late")
	}
}
