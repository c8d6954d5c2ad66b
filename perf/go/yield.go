// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// Yield ping-pong: two goroutines each call runtime.Gosched() in a loop; the time per
// yield. Meant for GOMAXPROCS=1 (the workers field says what it ran with). Prints one JSON
// line per repetition.
//
//	GOMAXPROCS=1 go run yield.go measure.go [-yields 10000] [-reps 5] [-min_time 0.5]
package main

import (
	"flag"
	"runtime"
	"sync"
)

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
	measure("yield", float64(2**yields), *minTime, *reps, run)
}
