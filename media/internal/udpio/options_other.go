//go:build !unix

package udpio

import "errors"

func setListenOptions(fd uintptr, ipv6 bool, opts ListenOptions) error {
	if opts.ReusePort || (ipv6 && !opts.IPv6Only) {
		return errors.ErrUnsupported
	}
	return nil
}

func bufferSizes(uintptr) (int, int, error) { return 0, 0, errors.ErrUnsupported }
