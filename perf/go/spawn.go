// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// spawn+join: start N empty goroutines, then wait for all of them with a sync.WaitGroup;
// the time per goroutine. Prints one JSON line per repetition.
//
//	go run spawn.go measure.go [-tasks 100000] [-reps 5] [-min_time 0.5]
package main

import (
	"flag"
	"fmt"
	"sync"
)

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
	measure("spawn_join_"+label(*tasks), float64(*tasks), *minTime, *reps, run)
}
