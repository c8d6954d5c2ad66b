// SPDX-License-Identifier: Apache-2.0
// Echo server, one goroutine per connection: the Go side of perf/net_bench.sh's echo
// comparison with spindle_echo_server. Usage: net_echo PORT (GOMAXPROCS sets the workers).
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", ":"+os.Args[1])
	if err != nil {
		panic(err)
	}
	fmt.Println("listening on", os.Args[1])
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 16*1024)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}(c)
	}
}
