package webrtc

import (
	"testing"

	"github.com/ropehq/rope/media/webrtc/ice"
)

// An ICE result computed before Close but applied after it (a TCP
// connection the peer closed when it saw close_notify) leaves the state
// closed, without a callback: Close's closed state is the last word.
func TestICEResultAfterCloseKeepsClosed(t *testing.T) {
	var changes []ice.State
	tr, err := NewTransport(&TransportOptions{ListenInfos: []ListenInfo{{Protocol: "udp", IP: "127.0.0.1"}},
		OnICEStateChange: func(s ice.State) { changes = append(changes, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr.iceMu.Lock()
	tr.apply(ice.Result{StateChanged: true, State: ice.StateDisconnected}, ice.Tuple{}, nil)
	tr.iceMu.Unlock()
	if st := tr.ICEState(); st != ice.StateClosed || len(changes) != 0 {
		t.Fatalf("state %v after a late result, callbacks %v", st, changes)
	}
}
