package listener

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
)

// Bind calls listen on port, or when port is 0 and the range is set, on
// ports of [min, max] starting at a random one until one is free; with
// neither, the system picks a port.
func Bind[T any](ip netip.Addr, port, minPort, maxPort uint16, listen func(netip.AddrPort) (T, error)) (T, error) {
	if port != 0 || minPort == 0 || maxPort == 0 {
		return listen(netip.AddrPortFrom(ip, port))
	}
	var zero T
	if minPort > maxPort {
		return zero, fmt.Errorf("%w: min %d > max %d", ErrNoPort, minPort, maxPort)
	}
	n := int(maxPort-minPort) + 1
	start := rand.IntN(n)
	for i := range n {
		p := minPort + uint16((start+i)%n)
		t, err := listen(netip.AddrPortFrom(ip, p))
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return zero, err
		}
	}
	return zero, fmt.Errorf("%w: %d-%d", ErrNoPort, minPort, maxPort)
}

// network returns "udp4"/"tcp4" for IPv4 addresses, so that sockets never
// see IPv4-mapped IPv6 addresses.
func network(proto string, ip netip.Addr) string {
	if ip.Is4() {
		return proto + "4"
	}
	return proto + "6"
}

// ListenUDP binds a UDP socket on ip with the port rules of [Bind].
func ListenUDP(ip netip.Addr, port, minPort, maxPort uint16) (*net.UDPConn, error) {
	return Bind(ip, port, minPort, maxPort, func(ap netip.AddrPort) (*net.UDPConn, error) {
		return net.ListenUDP(network("udp", ip), net.UDPAddrFromAddrPort(ap))
	})
}

// ListenTCP binds a TCP listener on ip with the port rules of [Bind].
func ListenTCP(ip netip.Addr, port, minPort, maxPort uint16) (*net.TCPListener, error) {
	return Bind(ip, port, minPort, maxPort, func(ap netip.AddrPort) (*net.TCPListener, error) {
		return net.ListenTCP(network("tcp", ip), net.TCPAddrFromAddrPort(ap))
	})
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
