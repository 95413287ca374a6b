//go:build unix

package udpio

import "golang.org/x/sys/unix"

func setListenOptions(fd uintptr, ipv6 bool, opts ListenOptions) error {
	if ipv6 {
		v6only := 0
		if opts.IPv6Only {
			v6only = 1
		}
		if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return err
		}
	}
	if opts.ReusePort {
		return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	return nil
}

func bufferSizes(fd uintptr) (send, recv int, err error) {
	if send, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil {
		return 0, 0, err
	}
	recv, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	return send, recv, err
}
