package mediaclient_test

import (
	"context"
	"sync"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

// The local engine has no WebRtcTransport yet: fakeWebRtc is one whose
// common transport part is a DirectTransport of a hidden router (served
// by no ROPE server) and whose ICE/DTLS state the test drives.
type fakeWebRtc struct {
	media.DirectTransport

	// mu guards the state below.
	mu        sync.Mutex
	ice       media.IceParameters
	iceState  media.IceState
	dtlsState media.DtlsState
	remote    *media.DtlsParameters

	onIce   event.Listeners[media.IceState]
	onTuple event.Listeners[media.TransportTuple]
	onDtls  event.Listeners[media.DtlsState]
	onSctp  event.Listeners[media.SctpState]
}

var _ media.WebRtcTransport = (*fakeWebRtc)(nil)

func (t *fakeWebRtc) IceRole() string { return "controlled" }
func (t *fakeWebRtc) IceParameters() media.IceParameters {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ice
}
func (t *fakeWebRtc) IceCandidates() []media.IceCandidate {
	return []media.IceCandidate{{Foundation: "udpcandidate", Priority: 1, Address: "127.0.0.1", Protocol: media.ProtocolUDP, Port: 40000, Type: "host"}}
}
func (t *fakeWebRtc) IceState() media.IceState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.iceState
}
func (t *fakeWebRtc) IceSelectedTuple() *media.TransportTuple { return nil }
func (t *fakeWebRtc) DtlsParameters() media.DtlsParameters {
	return media.DtlsParameters{Role: "auto", Fingerprints: []media.DtlsFingerprint{{Algorithm: "sha-256", Value: "AB:CD"}}}
}
func (t *fakeWebRtc) DtlsState() media.DtlsState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dtlsState
}
func (t *fakeWebRtc) DtlsRemoteCert() string                { return "" }
func (t *fakeWebRtc) SctpParameters() *media.SctpParameters { return nil }
func (t *fakeWebRtc) SctpState() media.SctpState            { return "" }

func (t *fakeWebRtc) Connect(_ context.Context, o *media.WebRtcTransportConnectOptions) error {
	if o == nil || o.DtlsParameters == nil {
		return &media.ParamError{Field: "dtlsParameters", Reason: "required"}
	}
	t.mu.Lock()
	t.remote = o.DtlsParameters
	t.dtlsState = "connecting"
	t.mu.Unlock()
	t.onDtls.Emit("connecting")
	return nil
}

func (t *fakeWebRtc) RestartIce(context.Context) (media.IceParameters, error) {
	t.mu.Lock()
	t.ice.UsernameFragment += "x"
	p := t.ice
	t.mu.Unlock()
	return p, nil
}

// setIceState changes the ICE state and emits icestatechange.
func (t *fakeWebRtc) setIceState(s media.IceState) {
	t.mu.Lock()
	t.iceState = s
	t.mu.Unlock()
	t.onIce.Emit(s)
}

func (t *fakeWebRtc) OnIceStateChange(fn func(media.IceState)) func() { return t.onIce.On(fn) }
func (t *fakeWebRtc) OnIceSelectedTupleChange(fn func(media.TransportTuple)) func() {
	return t.onTuple.On(fn)
}
func (t *fakeWebRtc) OnDtlsStateChange(fn func(media.DtlsState)) func() { return t.onDtls.On(fn) }
func (t *fakeWebRtc) OnSctpStateChange(fn func(media.SctpState)) func() { return t.onSctp.On(fn) }
func (t *fakeWebRtc) OnListenServerClose(func()) func()                 { return func() {} }

// webRtcRouter is a fakeRouter that also makes fakeWebRtc transports.
type webRtcRouter struct {
	*fakeRouter
	hidden media.Router
	made   chan *fakeWebRtc

	onNew event.Listeners[media.Transport]
}

func (r *webRtcRouter) CreateWebRtcTransport(ctx context.Context, _ *media.WebRtcTransportOptions) (media.WebRtcTransport, error) {
	d, err := r.hidden.CreateDirectTransport(ctx, nil)
	if err != nil {
		return nil, err
	}
	t := &fakeWebRtc{DirectTransport: d, ice: media.IceParameters{UsernameFragment: "u", Password: "p", IceLite: true},
		iceState: "new", dtlsState: "new"}
	r.onNew.Emit(t)
	r.made <- t
	return t, nil
}

func (r *webRtcRouter) OnNewTransport(fn func(media.Transport)) func() {
	off1, off2 := r.fakeRouter.OnNewTransport(fn), r.onNew.On(fn)
	return func() { off1(); off2() }
}
