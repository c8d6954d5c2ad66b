//go:build ignore

// Yield ping-pong: two goroutines each call runtime.Gosched() in a loop; the time per
// yield. Meant for GOMAXPROCS=1 (the workers field says what it ran with). Prints one JSON
// line per repetition.
//
//	GOMAXPROCS=1 go run yield.go [-yields 10000] [-reps 5] [-min_time 0.5]
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

func main() {
	yields := flag.Int("yields", 10000, "yields per goroutine per round")
	reps := flag.Int("reps", 5, "repetitions (one JSON line each)")
	minTime := flag.Float64("min_time", 0.5, "seconds each repetition runs at least")
	flag.Parse()

	run := func() {
		var wg sync.WaitGroup
		wg.Add(2)
		body := func() {
			for i := 0; i < *yields; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}
		go body()
		go body()
		wg.Wait()
	}
	run() // warm-up
	for r := 0; r < *reps; r++ {
		iters := 0
		cpu0 := cpuNs()
		start := time.Now()
		for iters == 0 || time.Since(start).Seconds() < *minTime {
			run()
			iters++
		}
		ops := float64(iters * 2 * *yields)
		ns := float64(time.Since(start).Nanoseconds()) / ops
		cpu := (cpuNs() - cpu0) / ops
		fmt.Printf("{\"workload\": \"yield\", \"impl\": \"go\", \"workers\": %d, \"value\": %.3f, "+
			"\"unit\": \"ns/op\", \"cpu_ns_per_op\": %.3f, \"iterations\": %d}\n",
			runtime.GOMAXPROCS(0), ns, cpu, iters)
	}
}
