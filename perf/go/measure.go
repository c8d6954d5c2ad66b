// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// Shared by the Go benchmark programs, each built together with it
// (go build chan.go measure.go): CPU time, the repetition loop and its JSON line.
package main

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// cpuNs is the CPU time of the whole process (all threads, user + system) so far.
func cpuNs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs run() once as a warm-up, then reps repetitions of as many runs as fit in
// minTime seconds (at least one), printing one JSON line per repetition: the wall and CPU
// time per operation, where one run is opsPerRun operations.
func measure(workload string, opsPerRun float64, minTime float64, reps int, run func()) {
	run()
	for r := 0; r < reps; r++ {
		iters := 0
		cpu0 := cpuNs()
		start := time.Now()
		for iters == 0 || time.Since(start).Seconds() < minTime {
			run()
			iters++
		}
		ops := float64(iters) * opsPerRun
		ns := float64(time.Since(start).Nanoseconds()) / ops
		cpu := (cpuNs() - cpu0) / ops
		fmt.Printf("{\"workload\": \"%s\", \"impl\": \"go\", \"workers\": %d, \"value\": %.3f, "+
			"\"unit\": \"ns/op\", \"cpu_ns_per_op\": %.3f, \"iterations\": %d}\n",
			workload, runtime.GOMAXPROCS(0), ns, cpu, iters)
	}
}
