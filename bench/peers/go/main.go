// Command peers runs one scheduler operation N times in Go, for
// bench/peers/run.sh, which counts its instructions under callgrind at two
// values of N and divides the difference by the difference in operations.
//
// Usage: peers OP N, with OP one of yield, spawn, spawn_many, chan_pingpong.
// Run it with GOMAXPROCS=1 and GODEBUG=asyncpreemptoff=1 (Go's signal-based
// preemption does not work under valgrind).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// yield: two goroutines take turns calling runtime.Gosched, N times each
// (2N yields).
func yield(n int) {
	var wg sync.WaitGroup
	var stop atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			runtime.Gosched()
		}
	}()
	for i := 0; i < n; i++ {
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
}

// spawn: start an empty goroutine and wait for it, N times.
func spawn(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go wg.Done()
		wg.Wait()
	}
}

// spawnMany: N/1000 rounds of starting 1000 empty goroutines, then waiting
// for all of them.
func spawnMany(n int) {
	var wg sync.WaitGroup
	for r := 0; r < n/1000; r++ {
		wg.Add(1000)
		for i := 0; i < 1000; i++ {
			go wg.Done()
		}
		wg.Wait()
	}
}

// chanPingpong: N round trips over two unbuffered channels.
func chanPingpong(n int) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	close(ping)
	<-pong
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: peers yield|spawn|spawn_many|chan_pingpong N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 0 {
		fmt.Fprintln(os.Stderr, "peers: N must be a whole number")
		os.Exit(2)
	}
	ops := map[string]func(int){"yield": yield, "spawn": spawn, "spawn_many": spawnMany, "chan_pingpong": chanPingpong}
	op, ok := ops[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "peers: unknown operation %q\n", os.Args[1])
		os.Exit(2)
	}
	op(n)
}
