//go:build unix

package udpio

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

func connectFD(fd uintptr, domain int, addr netip.AddrPort) error {
	var sa unix.Sockaddr
	if addr.Addr().Is4() && domain != unix.AF_INET6 {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	return unix.Connect(int(fd), sa)
}
