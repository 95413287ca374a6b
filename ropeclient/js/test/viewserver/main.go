// Command viewserver is the Go side of the JS client's view test: a ROPE
// server on a free loopback port serving the standard fixture with its
// views (spec §18.8: a token "fixture-view:<id>" sees the subtree of <id>).
// A token "expiring:<ms>:<name>" gets full access for ms milliseconds from
// its first handshake (spec §18.9: then 4003, and 401 at a handshake); any
// other token is refused with 401. It prints "listening on ws://…/" and
// serves until killed.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

func main() {
	srv := ropeserver.New(&ropeserver.Options{Authorize: (&expiring{first: map[string]time.Time{}}).authorize})
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

// expiring serves the fixture's views and the expiring tokens.
type expiring struct {
	// mu guards first.
	mu    sync.Mutex
	first map[string]time.Time // by token: its first handshake
}

func (e *expiring) authorize(r *http.Request, token string) (*ropeserver.Grant, error) {
	rest, ok := strings.CutPrefix(token, "expiring:")
	if !ok {
		return fixture.Authorize(r, token)
	}
	msText, name, _ := strings.Cut(rest, ":")
	ms, err := strconv.Atoi(msText)
	if err != nil || name == "" {
		return nil, fmt.Errorf("viewserver: bad token %q", token)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, seen := e.first[token]; !seen {
		e.first[token] = time.Now()
	}
	return &ropeserver.Grant{Subject: name, Expires: e.first[token].Add(time.Duration(ms) * time.Millisecond)}, nil
}
