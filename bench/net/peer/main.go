// The Linux side of `make bench-net`: Go's net/http and a TCP echo server
// with the same two shapes as gmpos's PROG=httpd and PROG=echo, run as PID 1
// of a busybox initramfs under Linux in the same QEMU virtual machine.
//
//	/        an HTML page of -page bytes (gmpos's page size, measured by the
//	         bench before it boots this peer)
//	/health  one line of counters
//	:7       TCP echo
//
// -hogs N adds N CPU-bound goroutines, as gmpos's `N=` does, so that every P
// is busy while it serves.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
)

var requests atomic.Int64

func main() {
	pageBytes := flag.Int("page", 4096, "size of the / page in bytes")
	hogs := flag.Int("hogs", 0, "CPU-bound goroutines to run alongside")
	flag.Parse()

	head := "<!doctype html>\n"
	fill := *pageBytes - len(head) - 1
	if fill < 0 {
		fill = 0
	}
	page := []byte(head + strings.Repeat("x", fill) + "\n")
	for i := 0; i < *hogs; i++ {
		go hog()
	}
	go echo()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprintf(w, "ok goroutines=%d gomaxprocs=%d requests=%d\n",
			runtime.NumGoroutine(), runtime.GOMAXPROCS(0), requests.Load())
	})
	// The same line gmpos's httpd prints: the bench waits for it.
	fmt.Printf("httpd: listening on port 80 (hogs=%d, page=%d bytes, gomaxprocs=%d)\n",
		*hogs, len(page), runtime.GOMAXPROCS(0))
	log.Fatal(http.ListenAndServe(":80", nil))
}

// hog burns CPU for ever, as gmpos's hogs do.
func hog() {
	x := uint64(1)
	for {
		x = x*6364136223846793005 + 1442695040888963407
		if x == 0 {
			fmt.Println(x)
		}
	}
}

func echo() {
	l, err := net.Listen("tcp", ":7")
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}
