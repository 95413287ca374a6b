package udpio

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ListenOptions are the socket options of ListenWith (mediasoup's
// TransportListenInfo flags and buffer sizes).
type ListenOptions struct {
	// IPv6Only keeps an IPv6 socket to IPv6 (IPV6_V6ONLY). Without it an
	// IPv6 socket is dual-stack: on "::" it receives IPv4 too, as
	// mediasoup's (libuv's) sockets do. Ignored for IPv4.
	IPv6Only bool
	// ReusePort lets sockets that all set it bind one address and port
	// (SO_REUSEPORT; mediasoup's udpReusePort).
	ReusePort bool
	// SendBuffer and RecvBuffer are the socket buffer sizes asked for
	// (the kernel caps them at net.core.wmem_max and rmem_max, and
	// doubles them); 0 means 4 MiB.
	SendBuffer, RecvBuffer int
}

// ListenWith opens a UDP socket on ip and port (0: an ephemeral port)
// with opts; an IPv4 ip gives an IPv4 socket, an IPv6 one an IPv6 socket.
func ListenWith(ip netip.Addr, port uint16, opts ListenOptions) (*Conn, error) {
	network := "udp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: func(_, _ string, raw syscall.RawConn) error {
		var serr error
		err := raw.Control(func(fd uintptr) { serr = setListenOptions(fd, network == "udp6", opts) })
		if err != nil {
			return err
		}
		return serr
	}}
	addr := netip.AddrPortFrom(ip, port)
	pc, err := lc.ListenPacket(context.Background(), network, addr.String())
	if err != nil {
		return nil, fmt.Errorf("udpio: listen %s: %w", addr, err)
	}
	udp := pc.(*net.UDPConn)
	send, recv := socketBuffer, socketBuffer
	if opts.SendBuffer > 0 {
		send = opts.SendBuffer
	}
	if opts.RecvBuffer > 0 {
		recv = opts.RecvBuffer
	}
	_ = udp.SetWriteBuffer(send)
	_ = udp.SetReadBuffer(recv)
	c, err := Wrap(udp)
	if err != nil {
		udp.Close()
	}
	return c, err
}

// ListenRangeWith is ListenWith on the first free port of [min, max],
// starting at a pseudo-random offset.
func ListenRangeWith(ip netip.Addr, min, max uint16, start uint32, opts ListenOptions) (*Conn, error) {
	if min == 0 || max < min {
		return nil, fmt.Errorf("udpio: invalid port range [%d, %d]", min, max)
	}
	n := uint32(max-min) + 1
	var lastErr error
	for i := uint32(0); i < n; i++ {
		c, err := ListenWith(ip, min+uint16((start+i)%n), opts)
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("udpio: no free port in [%d, %d]: %w", min, max, lastErr)
}

// BufferSizes returns the socket's send and receive buffer sizes as the
// kernel reports them.
func (c *Conn) BufferSizes() (send, recv int, err error) {
	var serr error
	err = c.raw.Control(func(fd uintptr) { send, recv, serr = bufferSizes(fd) })
	if err == nil {
		err = serr
	}
	return send, recv, err
}
