package mediaclient

// catalogueType is the catalogue type whose wrapper serves objects of
// type t: t itself, or the type it extends (Options.Extends).
func (c *Client) catalogueType(t string) string {
	if base, ok := c.opts.Extends[t]; ok {
		return base
	}
	return t
}

// FromWire turns an error of a ROPE call on a media server into the error
// the media API returns: a server error becomes an *Error matching its
// media sentinel (and still the *rope.Error); a lost object becomes
// media.ErrClosed; others come back as they are. Packages that call
// methods of their own on a media server (mafalda/mafaldaclient) use it.
func FromWire(err error) error { return fromWire(err) }
