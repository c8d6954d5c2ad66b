// SPDX-License-Identifier: Apache-2.0
//go:build ignore

// Channel throughput and latency, Go's side (perf/chan_bench.cpp is spindle's): message
// passing between goroutines over buffered and unbuffered channels, and select:
//
//	chan_pingpong        round trips over two unbuffered channels; ns per round trip
//	chan_spsc_1024       one producer, one consumer, capacity 1024; ns per message
//	chan_mpmc_4x4_1024   four producers, four consumers, capacity 1024
//	chan_mpmc_4x4_unbuf  four producers, four consumers, unbuffered
//	chan_select2         one receiver selecting over two unbuffered channels, each fed by
//	                     its own sender
//	chan_select_recv4    one receiver in reflect.Select (spindle: select_recv) over four
//	                     unbuffered channels, each fed by its own sender
//
// Prints one JSON line per workload and repetition (measure.go).
//
//	go run chan.go measure.go [-msgs 100000] [-pingpongs 10000] [-reps 5] [-min_time 0.5]
package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"sync"
)

func streamSum(n int64) int64 { return n * (n - 1) / 2 }

func check(ok bool, workload string) {
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: a message was lost or duplicated\n", workload)
		os.Exit(1)
	}
}

func pingpong(rounds int64) bool {
	ping := make(chan int64)
	pong := make(chan int64)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	var sum int64
	for i := int64(0); i < rounds; i++ {
		ping <- i
		sum += <-pong
	}
	close(ping)
	return sum == streamSum(rounds)
}

// stream: producers send 0..msgs-1 between them into one channel, consumers receive
// until it is closed (once every producer is done).
func stream(producers, consumers, capacity int, msgs int64) bool {
	ch := make(chan int64, capacity)
	var sending, receiving sync.WaitGroup
	sums := make([]int64, consumers)
	receiving.Add(consumers)
	for c := 0; c < consumers; c++ {
		go func(slot *int64) {
			defer receiving.Done()
			var s int64
			for v := range ch {
				s += v
			}
			*slot = s
		}(&sums[c])
	}
	sending.Add(producers)
	for p := 0; p < producers; p++ {
		go func(first int64) {
			defer sending.Done()
			for v := first; v < msgs; v += int64(producers) {
				ch <- v
			}
		}(int64(p))
	}
	sending.Wait()
	close(ch)
	receiving.Wait()
	var total int64
	for _, s := range sums {
		total += s
	}
	return total == streamSum(msgs)
}

func select2(msgs int64) bool {
	a := make(chan int64)
	b := make(chan int64)
	feed := func(ch chan<- int64, first int64) {
		for v := first; v < msgs; v += 2 {
			ch <- v
		}
	}
	go feed(a, 0)
	go feed(b, 1)
	var sum int64
	for i := int64(0); i < msgs; i++ {
		select {
		case v := <-a:
			sum += v
		case v := <-b:
			sum += v
		}
	}
	return sum == streamSum(msgs)
}

func selectRecv4(msgs int64) bool {
	const inputs = 4
	cases := make([]reflect.SelectCase, inputs)
	for k := 0; k < inputs; k++ {
		ch := make(chan int64)
		cases[k] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)}
		go func(ch chan<- int64, first int64) {
			for v := first; v < msgs; v += inputs {
				ch <- v
			}
		}(ch, int64(k))
	}
	var sum int64
	for i := int64(0); i < msgs; i++ {
		_, v, _ := reflect.Select(cases)
		sum += v.Int()
	}
	return sum == streamSum(msgs)
}

func main() {
	msgs := flag.Int64("msgs", 100000, "messages per stream or select round")
	rounds := flag.Int64("pingpongs", 10000, "round trips per ping-pong round")
	reps := flag.Int("reps", 5, "repetitions (one JSON line each)")
	minTime := flag.Float64("min_time", 0.5, "seconds each repetition runs at least")
	flag.Parse()
	n := float64(*msgs)
	measure("chan_pingpong", float64(*rounds), *minTime, *reps,
		func() { check(pingpong(*rounds), "chan_pingpong") })
	measure("chan_spsc_1024", n, *minTime, *reps,
		func() { check(stream(1, 1, 1024, *msgs), "chan_spsc_1024") })
	measure("chan_mpmc_4x4_1024", n, *minTime, *reps,
		func() { check(stream(4, 4, 1024, *msgs), "chan_mpmc_4x4_1024") })
	measure("chan_mpmc_4x4_unbuf", n, *minTime, *reps,
		func() { check(stream(4, 4, 0, *msgs), "chan_mpmc_4x4_unbuf") })
	measure("chan_select2", n, *minTime, *reps,
		func() { check(select2(*msgs), "chan_select2") })
	measure("chan_select_recv4", n, *minTime, *reps,
		func() { check(selectRecv4(*msgs), "chan_select_recv4") })
}
