package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// maxServerListenInfos is mediasoup's limit of listen infos per
// WebRtcServer.
const maxServerListenInfos = 8

// webRtcServer is mediasoup's WebRtcServer on a media/webrtc Server: its
// sockets route packets to the transports by ufrag, then by tuple.
type webRtcServer struct {
	object
	worker *worker
	srv    *webrtc.Server

	// mu guards transports.
	mu         sync.Mutex
	transports map[string]*webRtcTransport

	onWorkerClose event.Listeners[struct{}]
	onHandled     event.Listeners[media.WebRtcTransport]
	onUnhandled   event.Listeners[media.WebRtcTransport]
}

var _ media.WebRtcServer = (*webRtcServer)(nil)

func (w *worker) CreateWebRtcServer(ctx context.Context, o *media.WebRtcServerOptions) (media.WebRtcServer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.checkOpen("worker"); err != nil {
		return nil, err
	}
	if o == nil || len(o.ListenInfos) == 0 {
		return nil, &media.ParamError{Field: "listenInfos", Reason: "required (empty array)"}
	}
	if len(o.ListenInfos) > maxServerListenInfos {
		return nil, &media.ParamError{Field: "listenInfos", Reason: fmt.Sprintf("too many entries (%d > %d)", len(o.ListenInfos), maxServerListenInfos)}
	}
	infos, err := webRtcListenInfos(w, o.ListenInfos)
	if err != nil {
		return nil, err
	}
	srv, err := webrtc.NewServer(&webrtc.ServerOptions{ListenInfos: infos, Logger: w.logger(),
		OnPanic: func(v any) { w.panicked("WebRtcServer socket", v) }, Loop: w.eventLoop()})
	switch {
	case errors.Is(err, webrtc.ErrInvalidListenInfo):
		return nil, &media.ParamError{Field: "listenInfos", Reason: err.Error()}
	case isListenFailure(err):
		return nil, fmt.Errorf("createWebRtcServer: %w", listenFailure("listenInfos", false, err))
	case err != nil:
		return nil, fmt.Errorf("createWebRtcServer: %w", err)
	}
	s := &webRtcServer{worker: w, srv: srv, transports: map[string]*webRtcTransport{}}
	s.init(newID(), o.AppData)
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		_ = srv.Close()
		return nil, media.NewError(media.ErrClosed, "worker closed")
	}
	w.servers[s.id] = s
	w.mu.Unlock()
	w.onNewWebRtcServer.Emit(s)
	return s, nil
}

func (s *webRtcServer) OnWorkerClose(fn func()) func() { return on(&s.onWorkerClose, fn) }

func (s *webRtcServer) OnWebRtcTransportHandled(fn func(media.WebRtcTransport)) func() {
	return s.onHandled.On(fn)
}

func (s *webRtcServer) OnWebRtcTransportUnhandled(fn func(media.WebRtcTransport)) func() {
	return s.onUnhandled.On(fn)
}

func (s *webRtcServer) Close(ctx context.Context) error {
	s.close(closeBySelf)
	return nil
}

// close closes the transports first (closeBySelf: each emits
// "listenserverclose"; closeByParent: the worker's routers closed them
// already), then the sockets.
func (s *webRtcServer) close(reason closeReason) {
	if s.closed.Swap(true) {
		return
	}
	s.mu.Lock()
	ts := mapValues(s.transports)
	s.transports = map[string]*webRtcTransport{}
	s.mu.Unlock()
	for _, t := range ts {
		t.close(closeByListenServer)
		s.onUnhandled.Emit(t)
	}
	if err := s.srv.Close(); err != nil {
		s.worker.logger().Error("engine: closing WebRtcServer sockets", "id", s.id, "err", err)
	}
	if reason == closeBySelf {
		s.worker.removeServer(s.id)
	}
	if reason == closeByParent {
		emit(&s.onWorkerClose)
	}
	emit(&s.onClose)
	s.onClose.Clear()
}

// handle records a transport created on the server; it fails if the
// server closed meanwhile.
func (s *webRtcServer) handle(t *webRtcTransport) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return media.NewError(media.ErrClosed, "webRtcServer %s closed", s.id)
	}
	s.transports[t.id] = t
	s.mu.Unlock()
	s.onHandled.Emit(t)
	return nil
}

// unhandle forgets a transport that closed by itself or with its router.
func (s *webRtcServer) unhandle(t *webRtcTransport) {
	s.mu.Lock()
	_, ok := s.transports[t.id]
	delete(s.transports, t.id)
	s.mu.Unlock()
	if ok {
		s.onUnhandled.Emit(t)
	}
}

func (s *webRtcServer) Dump(ctx context.Context) (*media.WebRtcServerDump, error) {
	if err := s.checkOpen("webRtcServer"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	byLink := make(map[*webrtc.Transport]string, len(s.transports))
	ids := make([]string, 0, len(s.transports))
	for id, t := range s.transports {
		byLink[t.link.tr] = id
		ids = append(ids, id)
	}
	s.mu.Unlock()
	slices.Sort(ids)
	sd := s.srv.Dump()
	d := &media.WebRtcServerDump{ID: s.id, UDPSockets: []media.IPPort{}, TCPServers: []media.IPPort{},
		WebRtcTransportIDs: ids, LocalIceUsernameFragments: []media.IceUsernameFragment{}, TupleHashes: []media.TupleHash{}}
	for _, a := range sd.UDPSockets {
		d.UDPSockets = append(d.UDPSockets, media.IPPort{IP: a.Addr().Unmap().String(), Port: a.Port()})
	}
	for _, a := range sd.TCPServers {
		d.TCPServers = append(d.TCPServers, media.IPPort{IP: a.Addr().Unmap().String(), Port: a.Port()})
	}
	for _, u := range sd.Ufrags {
		if id, ok := byLink[u.Transport]; ok {
			d.LocalIceUsernameFragments = append(d.LocalIceUsernameFragments, media.IceUsernameFragment{LocalIceUsernameFragment: u.Ufrag, WebRtcTransportID: id})
		}
	}
	for _, tu := range sd.Tuples {
		if id, ok := byLink[tu.Transport]; ok {
			d.TupleHashes = append(d.TupleHashes, media.TupleHash{TupleHash: tupleHash(tu.Tuple), WebRtcTransportID: id})
		}
	}
	slices.SortFunc(d.LocalIceUsernameFragments, func(a, b media.IceUsernameFragment) int {
		return strings.Compare(a.LocalIceUsernameFragment, b.LocalIceUsernameFragment)
	})
	slices.SortFunc(d.TupleHashes, func(a, b media.TupleHash) int {
		return cmp.Compare(a.TupleHash, b.TupleHash)
	})
	return d, nil
}

// tupleHash numbers a tuple below 2^53 (JavaScript's exact integers).
func tupleHash(t ice.Tuple) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(t.String()))
	return h.Sum64() & (1<<53 - 1)
}
