//go:build ignore

// spawn+join: start N empty goroutines, then wait for all of them with a sync.WaitGroup;
// the time per goroutine. Prints one JSON line per repetition.
//
//	go run spawn.go [-tasks 100000] [-reps 5] [-min_time 0.5]
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// cpuNs is the CPU time of the whole process (all threads, user + system) so far.
func cpuNs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

func label(n int) string {
	switch {
	case n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func main() {
	tasks := flag.Int("tasks", 100000, "goroutines per round")
	reps := flag.Int("reps", 5, "repetitions (one JSON line each)")
	minTime := flag.Float64("min_time", 0.5, "seconds each repetition runs at least")
	flag.Parse()

	run := func() {
		var wg sync.WaitGroup
		wg.Add(*tasks)
		for i := 0; i < *tasks; i++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
	run() // warm-up: the runtime's free goroutines and stacks
	for r := 0; r < *reps; r++ {
		iters := 0
		cpu0 := cpuNs()
		start := time.Now()
		for iters == 0 || time.Since(start).Seconds() < *minTime {
			run()
			iters++
		}
		ops := float64(iters * *tasks)
		ns := float64(time.Since(start).Nanoseconds()) / ops
		cpu := (cpuNs() - cpu0) / ops
		fmt.Printf("{\"workload\": \"spawn_join_%s\", \"impl\": \"go\", \"workers\": %d, \"value\": %.3f, "+
			"\"unit\": \"ns/op\", \"cpu_ns_per_op\": %.3f, \"iterations\": %d}\n",
			label(*tasks), runtime.GOMAXPROCS(0), ns, cpu, iters)
	}
}
