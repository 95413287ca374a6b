//go:build !unix

package listener

import "errors"

func setFlags(fd uintptr, ipv6, udp bool, f Flags) error {
	if udp && f.UDPReusePort {
		return errors.ErrUnsupported
	}
	return nil
}
