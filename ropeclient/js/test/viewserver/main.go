// Command viewserver is the Go side of the JS client's view test: a ROPE
// server on a free loopback port serving the standard fixture with its
// views (spec §18.8: a token "fixture-view:<id>" sees the subtree of <id>).
// It prints "listening on ws://…/" and serves until killed.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

func main() {
	srv := ropeserver.New(&ropeserver.Options{Authorize: fixture.Authorize})
	if _, err := fixture.Register(srv); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("viewserver: listening on ws://%s/\n", ln.Addr())
	log.Fatal(http.Serve(ln, srv))
}
