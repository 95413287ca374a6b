package ortc

import (
	"fmt"
	"strconv"

	"github.com/ropehq/rope/media"
)

// path is the dotted name of the field being validated, e.g.
// "rtpParameters.codecs[0].payloadType".
type path string

func (p path) dot(name string) path {
	if p == "" {
		return path(name)
	}
	return p + "." + path(name)
}

func (p path) at(i int) path { return p + "[" + path(strconv.Itoa(i)) + "]" }

func (p path) key(k string) path { return p + "[" + path(strconv.Quote(k)) + "]" }

func (p path) errorf(format string, args ...any) error {
	return &media.ParamError{Field: string(p), Reason: fmt.Sprintf(format, args...)}
}
