package dtlstransport

// State is a DTLS state with mediasoup's names.
type State uint8

// DTLS states.
const (
	StateNew State = iota
	StateConnecting
	StateConnected
	StateFailed
	StateClosed
)

var stateNames = [...]string{"new", "connecting", "connected", "failed", "closed"}

// String returns mediasoup's name of s.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// MarshalText encodes s as mediasoup's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
