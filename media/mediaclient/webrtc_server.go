package mediaclient

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/ropehq/rope/media"
)

// webRtcServer is a remote media.WebRtcServer.
type webRtcServer struct {
	*base

	// mu guards handled.
	mu sync.Mutex
	// handled are the server's transports seen in "webrtctransporthandled"
	// since the wrapper exists, so that "webrtctransportunhandled" finds
	// a transport whose mirror has closed already.
	handled map[string]media.WebRtcTransport
}

var _ media.WebRtcServer = (*webRtcServer)(nil)

func newWebRtcServer(b *base) *webRtcServer {
	s := &webRtcServer{base: b, handled: map[string]media.WebRtcTransport{}}
	b.o.OnEvent(func(e string, data json.RawMessage) {
		var id string
		if e != "webrtctransporthandled" || json.Unmarshal(data, &id) != nil {
			return
		}
		if t, ok := s.transport(id); ok {
			s.mu.Lock()
			s.handled[id] = t
			s.mu.Unlock()
		}
	})
	return s
}

func (s *webRtcServer) Close(ctx context.Context) error { return s.close(ctx) }

func (s *webRtcServer) Dump(ctx context.Context) (*media.WebRtcServerDump, error) {
	var d media.WebRtcServerDump
	return &d, s.call(ctx, "dump", nil, &d)
}

func (s *webRtcServer) OnWorkerClose(fn func()) func() { return s.on("workerclose", fn) }

func (s *webRtcServer) OnWebRtcTransportHandled(fn func(media.WebRtcTransport)) func() {
	return onData(s.base, "webrtctransporthandled", func(id string) {
		if t, ok := s.transport(id); ok {
			fn(t)
		}
	})
}

// OnWebRtcTransportUnhandled fires with the transport, also when its
// mirror closed before the event (the server closed it): then it is the
// transport seen when handled, or, if that happened before this wrapper
// existed, the event is not delivered.
func (s *webRtcServer) OnWebRtcTransportUnhandled(fn func(media.WebRtcTransport)) func() {
	return onData(s.base, "webrtctransportunhandled", func(id string) {
		s.mu.Lock()
		t, ok := s.handled[id]
		delete(s.handled, id)
		s.mu.Unlock()
		if !ok {
			t, ok = s.transport(id)
		}
		if ok {
			fn(t)
		}
	})
}

// transport returns the wrapper of a live transport mirror.
func (s *webRtcServer) transport(id string) (media.WebRtcTransport, bool) {
	x, ok := s.object(id)
	if !ok {
		return nil, false
	}
	t, ok := x.(media.WebRtcTransport)
	return t, ok
}
