// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// skynet: a 10-ary tree of goroutines (the canonical version, with an unbuffered channel
// per node); the leaves send their number, every node sums its children. The time per task
// counts every goroutine of the tree (1,111,111 for 1M leaves), as perf/spawn_bench.cpp does.
// Prints one JSON line per repetition; peak_rss_mib is the process's VmHWM so far.
//
//	go run skynet.go measure.go [-leaves 1000000] [-reps 5] [-min_time 0.5]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func skynet(c chan<- int64, num, size, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	sub := size / div
	for i := int64(0); i < div; i++ {
		go skynet(rc, num+i*sub, sub, div)
	}
	var sum int64
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "VmHWM:") {
			fields := strings.Fields(s.Text()[6:])
			kib, _ := strconv.ParseFloat(fields[0], 64)
			return kib / 1024
		}
	}
	return 0
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

func main() {
	leaves := flag.Int64("leaves", 1000000, "leaves of the tree (a power of 10)")
	reps := flag.Int("reps", 5, "repetitions (one JSON line each)")
	minTime := flag.Float64("min_time", 0.5, "seconds each repetition runs at least")
	flag.Parse()

	var tasks int64
	for l := *leaves; l >= 1; l /= 10 {
		tasks += l
	}
	want := *leaves * (*leaves - 1) / 2
	run := func() {
		c := make(chan int64)
		go skynet(c, 0, *leaves, 10)
		if got := <-c; got != want {
			fmt.Fprintf(os.Stderr, "skynet: wrong sum %d, want %d\n", got, want)
			os.Exit(1)
		}
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
		ops := float64(int64(iters) * tasks)
		ns := float64(time.Since(start).Nanoseconds()) / ops
		cpu := (cpuNs() - cpu0) / ops
		fmt.Printf("{\"workload\": \"skynet_%s\", \"impl\": \"go\", \"workers\": %d, \"value\": %.3f, "+
			"\"unit\": \"ns/op\", \"cpu_ns_per_op\": %.3f, \"iterations\": %d, \"peak_rss_mib\": %.1f}\n",
			label(*leaves), runtime.GOMAXPROCS(0), ns, cpu, iters, peakRSSMiB())
	}
}
