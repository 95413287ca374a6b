// Package cuttest gives tests an HTTP client whose TCP connections can be
// dropped abruptly (no close frame, no FIN handshake at the WebSocket
// level), to exercise reconnection and resume over real sockets.
package cuttest

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// Cutter records the connections its client dials.
type Cutter struct {
	mu    sync.Mutex
	conns []net.Conn
}

// Client returns an HTTP client whose connections Cut drops.
func (c *Cutter) Client() *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()
		}
		return conn, err
	}}}
}

// Cut closes every connection dialed so far.
func (c *Cutter) Cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}
