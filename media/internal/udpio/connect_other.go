//go:build !unix

package udpio

import (
	"errors"
	"net/netip"
)

func connectFD(fd uintptr, domain int, addr netip.AddrPort) error { return errors.ErrUnsupported }
