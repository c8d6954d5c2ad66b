// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// Concurrency patterns, Go's side (perf/pattern_bench.cpp is spindle's): a pipeline,
// context cancellation fan-out and the or-channel:
//
//	pipeline4       a 4-stage pipeline (source, map, filter, map) with a done channel, as in
//	                "Concurrency in Go" chapter 4; ns per item end to end
//	ctx_cancel_10k  10k context.WithCancel children of one parent, then the parent cancelled;
//	                ns per child
//	or_channel_100  the book's recursive or-channel over 100 done channels, one closed, the
//	                output received; ns per or-channel
//
// Prints one JSON line per workload and repetition (measure.go).
//
//	go run pattern.go measure.go [-items 100000] [-reps 5] [-min_time 0.5]
package main

import (
	"context"
	"flag"
)

func repeatFn(done <-chan struct{}, fn func() int64) <-chan int64 {
	out := make(chan int64)
	go func() {
		defer close(out)
		for {
			select {
			case <-done:
				return
			case out <- fn():
			}
		}
	}()
	return out
}

func take(done <-chan struct{}, in <-chan int64, n int) <-chan int64 {
	out := make(chan int64)
	go func() {
		defer close(out)
		for i := 0; i < n; i++ {
			select {
			case <-done:
				return
			case v, ok := <-in:
				if !ok {
					return
				}
				select {
				case <-done:
					return
				case out <- v:
				}
			}
		}
	}()
	return out
}

func stage(done <-chan struct{}, in <-chan int64, f func(int64) (int64, bool)) <-chan int64 {
	out := make(chan int64)
	go func() {
		defer close(out)
		for {
			select {
			case <-done:
				return
			case v, ok := <-in:
				if !ok {
					return
				}
				r, keep := f(v)
				if !keep {
					continue
				}
				select {
				case <-done:
					return
				case out <- r:
				}
			}
		}
	}()
	return out
}

func pipeline4(items int) int64 {
	ctx, cancel := context.WithCancel(context.Background())
	done := ctx.Done()
	var i int64
	src := take(done, repeatFn(done, func() int64 { i++; return i - 1 }), items)
	doubled := stage(done, src, func(v int64) (int64, bool) { return v * 2, true })
	kept := stage(done, doubled, func(v int64) (int64, bool) { return v, v >= 0 })
	plus := stage(done, kept, func(v int64) (int64, bool) { return v + 1, true })
	var s int64
	for v := range plus {
		s += v
	}
	cancel()
	return s
}

func ctxCancel10k() {
	parent, cancel := context.WithCancel(context.Background())
	children := make([]context.CancelFunc, 0, 10000)
	for i := 0; i < 10000; i++ {
		_, c := context.WithCancel(parent)
		children = append(children, c)
	}
	cancel()
	_ = children
}

func or(channels ...<-chan struct{}) <-chan struct{} {
	switch len(channels) {
	case 0:
		return nil
	case 1:
		return channels[0]
	}
	orDone := make(chan struct{})
	go func() {
		defer close(orDone)
		switch len(channels) {
		case 2:
			select {
			case <-channels[0]:
			case <-channels[1]:
			}
		default:
			select {
			case <-channels[0]:
			case <-channels[1]:
			case <-channels[2]:
			case <-or(append(channels[3:], orDone)...):
			}
		}
	}()
	return orDone
}

func orChannel100() {
	chans := make([]chan struct{}, 100)
	views := make([]<-chan struct{}, 100)
	for i := range chans {
		chans[i] = make(chan struct{})
		views[i] = chans[i]
	}
	any := or(views...)
	close(chans[57])
	<-any
}

func main() {
	items := flag.Int("items", 100000, "items per pipeline run")
	reps := flag.Int("reps", 5, "repetitions (one JSON line each)")
	minTime := flag.Float64("min_time", 0.5, "seconds each repetition runs at least")
	flag.Parse()
	measure("pipeline4", float64(*items), *minTime, *reps, func() { pipeline4(*items) })
	measure("ctx_cancel_10k", 10000, *minTime, *reps, ctxCancel10k)
	measure("or_channel_100", 1, *minTime, *reps, orChannel100)
}
