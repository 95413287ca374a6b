package ice

// State is the ICE state of a transport, with mediasoup's names.
type State uint8

// ICE states.
const (
	StateNew State = iota
	StateConnected
	StateCompleted
	StateDisconnected
	StateClosed
)

var stateNames = [...]string{"new", "connected", "completed", "disconnected", "closed"}

// String returns mediasoup's name of s.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// MarshalText encodes s as mediasoup's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
