package ropeclient

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/ropehq/rope/rope"
)

// FuzzApply feeds arbitrary server messages, one per line, into a mirror:
// whatever a server sends, the client must not panic or hang.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","method":"rope.init","params":{"protocol":"rope.v1","epoch":"e","seq":1,"resumed":false,"types":[],"objects":[{"id":"a","type":"T","parent":null,"props":{},"appData":{}},{"id":"b","type":"T","parent":"a","props":{"x":1},"appData":{}}]}}
{"jsonrpc":"2.0","method":"rope.updated","params":{"seq":2,"id":"b","props":{"x":2}}}
{"jsonrpc":"2.0","method":"rope.event","params":{"seq":3,"id":"b","event":"e","data":1}}
{"jsonrpc":"2.0","method":"rope.closed","params":{"seq":4,"id":"a"}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"rope.created","params":{"seq":1,"object":{"id":"a","type":"T","parent":"a"}}}
{"jsonrpc":"2.0","method":"rope.closed","params":{"seq":2,"id":"a"}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"rope.init","params":{"epoch":"e","seq":0,"objects":[{"id":"x","parent":"y"},{"id":"y","parent":"x"}]}}
{"jsonrpc":"2.0","method":"rope.init","params":{"epoch":"e","seq":0,"objects":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &session{
			log: slog.New(slog.NewTextHandler(io.Discard, nil)), events: newDispatcher(),
			clients: map[*Client]struct{}{}, connected: make(chan struct{}),
			objects: map[string]*Object{}, pending: map[int64]chan *rope.Message{},
		}
		defer s.events.stop()
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			msg, _, err := rope.Decode(line)
			if err != nil || !msg.IsRequest() {
				continue
			}
			if s.apply(msg) != nil {
				return // a protocol violation ends the connection
			}
		}
	})
}
