package listener

import (
	"net"
	"net/netip"
	"testing"
)

// UDPReusePort lets two UDP sockets share a port; without it the second
// bind fails; TCP ignores it.
func TestFlagsUDPReusePort(t *testing.T) {
	t.Parallel()
	f := Flags{UDPReusePort: true}
	a, err := ListenUDPWith(loopback, 0, 0, 0, f)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	port := uint16(a.LocalAddr().(*net.UDPAddr).Port)
	b, err := ListenUDPWith(loopback, port, 0, 0, f)
	if err != nil {
		t.Fatalf("second socket with UDPReusePort: %v", err)
	}
	b.Close()
	if c, err := ListenUDP(loopback, port, 0, 0); err == nil {
		c.Close()
		t.Fatal("a socket without the flag bound a shared port")
	}
	ln, err := ListenTCPWith(loopback, 0, 0, 0, f)
	if err != nil {
		t.Fatalf("TCP with UDPReusePort: %v", err)
	}
	ln.Close()
}

// An IPv6 socket on "::" is dual-stack unless IPv6Only, which leaves the
// port's IPv4 side free.
func TestFlagsIPv6Only(t *testing.T) {
	t.Parallel()
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("IPv6 unavailable on this machine: %v", err)
	}
	probe.Close()
	any6 := netip.IPv6Unspecified()
	for _, only := range []bool{false, true} {
		// A port free on IPv4 too: other processes may hold any.
		free, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(free.LocalAddr().(*net.UDPAddr).Port)
		free.Close()
		c, err := ListenUDPWith(any6, port, 0, 0, Flags{IPv6Only: only})
		if err != nil {
			t.Fatal(err)
		}
		c4, err := net.ListenUDP("udp4", &net.UDPAddr{Port: int(port)})
		if c4 != nil {
			c4.Close()
		}
		c.Close()
		if only != (err == nil) {
			t.Errorf("IPv6Only %v: binding 0.0.0.0 on the port: %v", only, err)
		}
	}
}
