// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// Memory per blocked goroutine and CPU use of an idle Go runtime; the counterpart of
// perf/rss_bench.cpp, with the same JSON lines:
//
//	idle_cpu:              process CPU time (user + system) per wall second, nothing to do
//	rss_blocked_<N>:       RSS growth (/proc/self/statm) per goroutine once N goroutines
//	                       all sleep in time.Sleep(time.Hour)
//	idle_cpu_blocked_<N>:  idle CPU while those N goroutines sleep
//
// Goroutines cannot be cancelled from outside, so one process measures once; run it again
// for more repetitions.
//
//	go run rss.go measure.go [-tasks 100000] [-idle_ms 1000]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

func rssKiB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	fmt.Sscan(string(b), &size, &resident)
	return float64(resident*int64(os.Getpagesize())) / 1024
}

func cpuMs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	ms := func(tv syscall.Timeval) float64 { return float64(tv.Sec)*1e3 + float64(tv.Usec)/1e3 }
	return ms(ru.Utime) + ms(ru.Stime)
}

func idleCPU(idleMs int) float64 {
	c0 := cpuMs()
	t0 := time.Now()
	time.Sleep(time.Duration(idleMs) * time.Millisecond)
	wall := time.Since(t0).Seconds()
	return (cpuMs() - c0) / wall
}

func label(n int64) string {
	switch {
	case n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func emit(workload string, value float64, unit string, extra string) {
	fmt.Printf("{\"workload\": \"%s\", \"impl\": \"go\", \"workers\": %d, \"value\": %.4f, \"unit\": \"%s\"%s}\n",
		workload, runtime.GOMAXPROCS(0), value, unit, extra)
}

func main() {
	tasks := flag.Int64("tasks", 100000, "blocked goroutines")
	idleMs := flag.Int("idle_ms", 1000, "milliseconds of each idle CPU measurement")
	flag.Parse()

	// Idle runtime: one goroutine ran and ended, nothing else to do.
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
	time.Sleep(50 * time.Millisecond)
	emit("idle_cpu", idleCPU(*idleMs), "ms/s", "")

	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	before := rssKiB()
	var asleep int64
	t0 := time.Now()
	for i := int64(0); i < *tasks; i++ {
		go func() {
			atomic.AddInt64(&asleep, 1)
			time.Sleep(time.Hour)
		}()
	}
	for atomic.LoadInt64(&asleep) < *tasks {
		time.Sleep(time.Millisecond)
	}
	spawnMs := float64(time.Since(t0).Microseconds()) / 1e3
	time.Sleep(20 * time.Millisecond)
	after := rssKiB()
	emit("rss_blocked_"+label(*tasks), (after-before)/float64(*tasks), "KiB/task",
		fmt.Sprintf(", \"tasks\": %d, \"rss_before_kib\": %.0f, \"rss_after_kib\": %.0f, \"spawn_block_ms\": %.1f",
			*tasks, before, after, spawnMs))
	emit("idle_cpu_blocked_"+label(*tasks), idleCPU(*idleMs), "ms/s", "")
}
