package engine_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/sctp"
	"github.com/pion/stun/v3"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
)

// iceCheck sends nominating ICE checks from c until one is answered.
func iceCheck(t *testing.T, c *srtpBenchConn, ip media.IceParameters) {
	t.Helper()
	req := must[*stun.Message](t)(stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(ip.UsernameFragment+":peer"),
		stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 1, 0xff}},
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: make([]byte, 8)},
		stun.RawAttribute{Type: stun.AttrUseCandidate}, stun.NewShortTermIntegrity(ip.Password), stun.Fingerprint))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.sock.WriteToUDP(req.Raw, c.remote); err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.stun:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no ICE answer")
		}
	}
}

// events records a WebRtcTransport's state events in order.
type events struct {
	mu  sync.Mutex
	all []string
}

func (e *events) add(s string) { e.mu.Lock(); e.all = append(e.all, s); e.mu.Unlock() }

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.all)
}

func (e *events) watch(tr media.WebRtcTransport) {
	tr.OnIceStateChange(func(s media.IceState) { e.add("ice " + string(s)) })
	tr.OnDtlsStateChange(func(s media.DtlsState) { e.add("dtls " + string(s)) })
	tr.OnSctpStateChange(func(s media.SctpState) { e.add("sctp " + string(s)) })
	tr.OnClose(func() { e.add("close") })
}

// As mediasoup's: a transport whose ICE consent expires (the peer sent no
// check for iceConsentTimeout) emits icestatechange "disconnected" and
// nothing else; DTLS and SCTP stay up, what they send meanwhile is
// dropped, and once a check comes back (ICE "completed") a message sent
// while disconnected arrives, retransmitted by SCTP.
func TestWebRtcConsentExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := f.ctx
	tr := f.webRtc(&media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}, EnableSctp: true, IceConsentTimeout: 1})
	var ev events
	ev.watch(tr)
	direct := must[media.DirectTransport](t)(f.router.CreateDirectTransport(ctx, nil))
	dp := must[media.DataProducer](t)(direct.ProduceData(ctx, &media.DataProducerOptions{Label: "chat"}))
	must[media.DataConsumer](t)(tr.ConsumeData(ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))

	// The peer: one ICE check, DTLS as client, SCTP over it.
	cert := must[*dtlstransport.Certificate](t)(dtlstransport.GenerateCertificate())
	mustOK(t, tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{Role: "client",
		Fingerprints: []media.DtlsFingerprint{{Algorithm: cert.Fingerprints[0].Algorithm, Value: cert.Fingerprints[0].Value}}}}))
	ip, cand, fp := tr.IceParameters(), tr.IceCandidates()[0], tr.DtlsParameters().Fingerprints[0]
	var received atomic.Int64
	var wg sync.WaitGroup
	peer, err := dialSRTPBenchConn(fmt.Sprintf("%s:%d", cand.Address, cand.Port), ip.UsernameFragment, ip.Password, cert,
		dtlstransport.Fingerprint{Algorithm: fp.Algorithm, Value: fp.Value}, &received, &wg)
	mustOK(t, err)
	defer func() {
		_ = peer.dtls.Close()
		_ = peer.sock.Close()
		wg.Wait()
	}()
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	assoc := must[*sctp.Association](t)(sctp.Client(sctp.Config{NetConn: peer.dtls, LoggerFactory: quiet}))
	defer assoc.Close()
	msgs := make(chan string, 16)
	wg.Go(func() {
		st, err := assoc.AcceptStream()
		if err != nil {
			return
		}
		buf := make([]byte, 1500)
		for {
			n, _, err := st.ReadSCTP(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	})
	wait.Until(t, "SCTP connected", func() bool { return tr.SctpState() == media.SctpConnected })
	mustOK(t, dp.Send([]byte("before"), nil))
	if m := <-msgs; m != "before" {
		t.Fatalf("peer got %q", m)
	}

	wait.Until(t, "ICE consent expired", func() bool { return tr.IceState() == media.IceState("disconnected") })
	mustOK(t, dp.Send([]byte("while disconnected"), nil))
	iceCheck(t, peer, ip)
	select {
	case m := <-msgs:
		if m != "while disconnected" {
			t.Fatalf("peer got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the message sent while disconnected never arrived; events %v", ev.list())
	}
	want := []string{"ice completed", "dtls connecting", "dtls connected", "sctp connecting", "sctp connected",
		"ice disconnected", "ice completed"}
	if got := ev.list(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if tr.Closed() || tr.DtlsState() != media.DtlsState("connected") || tr.SctpState() != media.SctpConnected {
		t.Fatalf("closed %v dtls %s sctp %s", tr.Closed(), tr.DtlsState(), tr.SctpState())
	}
}
