// Command trivialserver is the loopback target of the load generator's
// figures: it answers every request with "ok" at once, from its own process
// so the generator's CPU time can be measured apart from the target's. With
// -cold it also sets the cold-start headers the way cmd/fn does.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	cold := flag.Bool("cold", false, "set X-Instance/X-Cold-Start/X-Init-Ms headers")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trivialserver:", err)
		os.Exit(2)
	}
	// The address on stdout is how a harness finds the port.
	fmt.Println(ln.Addr().String())
	var n atomic.Int64
	ok := []byte("ok")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if *cold {
			// One instance per 100 requests, like pods coming and going.
			i := n.Add(1) - 1
			w.Header().Set("X-Instance", "inst-"+strconv.FormatInt(i/100, 10))
			w.Header().Set("X-Cold-Start", strconv.FormatBool(i%100 == 0))
			w.Header().Set("X-Init-Ms", "5")
		}
		w.Write(ok)
	}))
}
