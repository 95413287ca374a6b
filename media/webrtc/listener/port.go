package listener

import (
	"context"
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

// Flags are a listen info's socket flags (mediasoup's
// TransportSocketFlags).
type Flags struct {
	// IPv6Only keeps an IPv6 socket off IPv4 (IPV6_V6ONLY); without it
	// an IPv6 socket is dual-stack, as mediasoup's (libuv's).
	IPv6Only bool
	// UDPReusePort lets UDP sockets that all set it bind one address and
	// port (SO_REUSEPORT); ignored for TCP, as mediasoup ignores it.
	UDPReusePort bool
}

// control sets the flags on a socket before it binds.
func (f Flags) control(ipv6, udp bool) func(string, string, syscall.RawConn) error {
	return func(_, _ string, raw syscall.RawConn) error {
		var serr error
		if err := raw.Control(func(fd uintptr) { serr = setFlags(fd, ipv6, udp, f) }); err != nil {
			return err
		}
		return serr
	}
}

// ListenUDP binds a UDP socket on ip with the port rules of [Bind].
func ListenUDP(ip netip.Addr, port, minPort, maxPort uint16) (*net.UDPConn, error) {
	return ListenUDPWith(ip, port, minPort, maxPort, Flags{})
}

// ListenUDPWith is ListenUDP with socket flags.
func ListenUDPWith(ip netip.Addr, port, minPort, maxPort uint16, f Flags) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: f.control(!ip.Is4(), true)}
	return Bind(ip, port, minPort, maxPort, func(ap netip.AddrPort) (*net.UDPConn, error) {
		pc, err := lc.ListenPacket(context.Background(), network("udp", ip), ap.String())
		if err != nil {
			return nil, err
		}
		return pc.(*net.UDPConn), nil
	})
}

// ListenTCP binds a TCP listener on ip with the port rules of [Bind].
func ListenTCP(ip netip.Addr, port, minPort, maxPort uint16) (*net.TCPListener, error) {
	return ListenTCPWith(ip, port, minPort, maxPort, Flags{})
}

// ListenTCPWith is ListenTCP with socket flags.
func ListenTCPWith(ip netip.Addr, port, minPort, maxPort uint16, f Flags) (*net.TCPListener, error) {
	lc := net.ListenConfig{Control: f.control(!ip.Is4(), false)}
	return Bind(ip, port, minPort, maxPort, func(ap netip.AddrPort) (*net.TCPListener, error) {
		ln, err := lc.Listen(context.Background(), network("tcp", ip), ap.String())
		if err != nil {
			return nil, err
		}
		return ln.(*net.TCPListener), nil
	})
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
