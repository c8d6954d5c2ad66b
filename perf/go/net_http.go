// SPDX-License-Identifier: Apache-2.0
// net/http server answering "hello\n" to GET: the Go side of perf/net_bench.sh's HTTP
// comparison with spindle_http_hello. Usage: net_http PORT (GOMAXPROCS sets the workers).
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "only GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("hello\n"))
	})
	srv := &http.Server{Addr: ":" + os.Args[1], IdleTimeout: 30 * time.Second}
	fmt.Println("listening on", os.Args[1])
	if err := srv.ListenAndServe(); err != nil {
		panic(err)
	}
}
