package conformance

// Excluded lists the server requirements the suite does not check, with the
// reason (as coder/websocket's autobahn_test.go lists its excluded cases).
func Excluded() []Exclusion {
	return []Exclusion{
		{"2.1.2", "permessage-deflate is optional (MAY); the suite offers no compression"},
		{"2.3.1", "the order of the 400/401/403 checks is unspecified; cases never combine two failing conditions"},
		{"3.4.1", "ids 1.0 and 1e3: a server MAY treat them either way, cases must not rely on it"},
		{"3.4.4", "duplicate in-flight ids are forbidden to clients; the reply order is unspecified (§3.8.1)"},
		{"3.8.1", "concurrent execution and response order are unspecified"},
		{"4.3.1", "the target's allowed origins are not known to the suite"},
		{"5.5.1", "an epoch change on restart needs control over the target's process"},
		{"6.4.2", "the fixture never sets a subset of several props, so shallow merge is not observable"},
		{"9.1.1", "message text is not normative; only its type is checked"},
		{"9.3.2", "server-side logging of errorId is not observable over the wire"},
		{"10.3.1", "closing at overflow: the bound above the floor (checked by rope/10.3.1/1) is implementation-defined; overflowing it needs a stalled reader for an unbounded time"},
		{"10.4.1", "the limit's value is implementation-defined (RECOMMENDED 256) and not announced; rope/10.4.1/1 finds it up to 1024"},
		{"11.1", "keepalive runs at a configurable interval (default 30 s): too slow for the suite"},
		{"12", "client behaviour: this suite tests servers"},
		{"13.1.1", "the fixture's policy refuses no call, so -32004 cannot be provoked"},
		{"13.2.1", "server logging is not observable"},
		{"17.2.3", "unguessability of session ids is not observable from a few samples"},
		{"17.5", "client behaviour: this suite tests servers"},
	}
}
