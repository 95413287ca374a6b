//go:build unix

package listener

import "golang.org/x/sys/unix"

func setFlags(fd uintptr, ipv6, udp bool, f Flags) error {
	if ipv6 {
		v6only := 0
		if f.IPv6Only {
			v6only = 1
		}
		if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return err
		}
	}
	if udp && f.UDPReusePort {
		return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	return nil
}
