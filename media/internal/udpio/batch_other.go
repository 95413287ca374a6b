//go:build !(linux && (amd64 || arm64))

package udpio

import (
	"net/netip"
	"syscall"
)

// Batches says ReadBatch and WriteBatch use recvmmsg and sendmmsg (else
// they read one datagram and loop over writes).
const Batches = false

type batch struct{}

func newBatch() *batch { return &batch{} }

func (c *Conn) readBatch(_ *batch, ms []Message) (int, error) { return c.readOne(ms) }

type writeBatch struct{}

func (c *Conn) writeBatchConnected(bufs [][]byte) error {
	for _, b := range bufs {
		if err := c.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) writeBatchTo(bufs [][]byte, addr netip.AddrPort) error {
	for _, b := range bufs {
		if err := c.WriteTo(b, addr); err != nil {
			return err
		}
	}
	return nil
}

func socketDomain(syscall.RawConn) int { return 0 }

func (c *Conn) writeMessages(ms []OutMessage) error {
	var first error
	for _, m := range ms {
		if err := c.WriteTo(m.Buf, m.Addr); err != nil && first == nil {
			first = err
		}
	}
	return first
}
