//go:build !(linux && (amd64 || arm64))

package udpio

import (
	"errors"
	"net/netip"
	"unsafe"
)

// CanDetach says Detach is supported (Linux).
const CanDetach = false

// fdRef is the detached descriptor (never set here).
type fdRef struct{}

func (r *fdRef) close() error { return errors.ErrUnsupported }

// Detach is Linux only.
func (c *Conn) Detach() error { return errors.ErrUnsupported }

// FromFD is Linux only: it returns nil.
func FromFD(fd int) *Conn { return nil }

// FD is -1: sockets are never detached here.
func (c *Conn) FD() int { return -1 }

// TryReadBatch needs a detached socket.
func (c *Conn) TryReadBatch(ms []Message) (int, error) { return 0, ErrNotDetached }

// TryReadBatchWith needs a detached socket.
func (c *Conn) TryReadBatchWith(s *ReadScratch, ms []Message) (int, error) {
	return 0, ErrNotDetached
}

func (c *Conn) detachedWriteTo(b []byte, addr netip.AddrPort) error { return errors.ErrUnsupported }

func (c *Conn) detachedSend(b []byte, sa unsafe.Pointer, salen uint32) error {
	return errors.ErrUnsupported
}

// sendQueue is Linux only (detached sockets).
type sendQueue struct{}

// EnableSendQueue does nothing here: sockets are never detached.
func (c *Conn) EnableSendQueue(limit int, want func(bool)) {}

// SendQueued is 0 here.
func (c *Conn) SendQueued() int { return 0 }

// FlushSendQueue has nothing to send here.
func (c *Conn) FlushSendQueue() int { return 0 }

func (c *Conn) closeQueue() {}

// Hold fails: sockets are detached only on Linux.
func (c *Conn) Hold() (fd int, ok bool) { return -1, false }

// Release does nothing.
func (c *Conn) Release() {}
