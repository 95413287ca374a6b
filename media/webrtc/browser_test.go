package webrtc_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	rope "github.com/ropehq/rope/media/webrtc"
)

// browser is a pion PeerConnection playing the browser running
// mediasoup-client: it offers, and takes an answer built from the
// transport's parameters the way mediasoup-client's RemoteSdp does.
type browser struct {
	pc     *pion.PeerConnection
	track  *pion.TrackLocalStaticRTP
	sender *pion.RTPSender
	dc     *pion.DataChannel
	tracks chan *pion.TrackRemote
	msgs   chan string
	open   chan struct{}
}

const vp8PT = 96

func newBrowser(t *testing.T) *browser {
	t.Helper()
	var me pion.MediaEngine
	must(t, me.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        vp8PT,
	}, pion.RTPCodecTypeVideo))
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeTCP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	// Consent checks every 200 ms (browsers: about 1 s), so that tests can
	// use short ICE consent timeouts.
	se.SetICETimeouts(5*time.Second, 25*time.Second, 200*time.Millisecond)
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	must(t, err)
	b := &browser{pc: pc, tracks: make(chan *pion.TrackRemote, 1), msgs: make(chan string, 8), open: make(chan struct{})}
	t.Cleanup(func() { _ = pc.Close() })
	b.track, err = pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000}, "cam", "browser")
	must(t, err)
	b.sender, err = pc.AddTrack(b.track)
	must(t, err)
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) { b.tracks <- tr })
	negotiated, id := true, uint16(0)
	b.dc, err = pc.CreateDataChannel("chat", &pion.DataChannelInit{Negotiated: &negotiated, ID: &id})
	must(t, err)
	b.dc.OnOpen(func() { close(b.open) })
	b.dc.OnMessage(func(m pion.DataChannelMessage) { b.msgs <- string(m.Data) })
	return b
}

// offer makes and applies the local offer and returns the DTLS parameters
// mediasoup-client would send in connect() (role client).
func (b *browser) offer(t *testing.T) (*sdp.SessionDescription, rope.DTLSParameters) {
	t.Helper()
	offer, err := b.pc.CreateOffer(nil)
	must(t, err)
	must(t, b.pc.SetLocalDescription(offer))
	var desc sdp.SessionDescription
	must(t, desc.UnmarshalString(offer.SDP))
	fp, ok := desc.Attribute("fingerprint")
	if !ok {
		fp, ok = desc.MediaDescriptions[0].Attribute("fingerprint")
	}
	if !ok {
		t.Fatal("offer without fingerprint")
	}
	alg, val, _ := strings.Cut(fp, " ")
	return &desc, rope.DTLSParameters{Role: "client", Fingerprints: []rope.DTLSFingerprint{{Algorithm: alg, Value: val}}}
}

// answer applies the remote answer built from the transport's parameters.
func (b *browser) answer(t *testing.T, offer *sdp.SessionDescription, p rope.Parameters, serverSSRC uint32) {
	t.Helper()
	s := remoteSDP(offer, p, "passive", serverSSRC)
	must(t, b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: s}))
}

// remoteSDP writes the SDP mediasoup-client's RemoteSdp would: ice-lite,
// the last (strongest) fingerprint, per m-section ICE credentials, all
// candidates, end-of-candidates, renomination and the DTLS setup role.
func remoteSDP(offer *sdp.SessionDescription, p rope.Parameters, setup string, serverSSRC uint32) string {
	fp := p.DTLSParameters.Fingerprints[len(p.DTLSParameters.Fingerprints)-1]
	var mids []string
	for _, m := range offer.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		mids = append(mids, mid)
	}
	var w strings.Builder
	fmt.Fprintf(&w, "v=0\r\no=mediasoup-client 10000 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&w, "a=ice-lite\r\na=fingerprint:%s %s\r\n", fp.Algorithm, fp.Value)
	fmt.Fprintf(&w, "a=msid-semantic: WMS *\r\na=group:BUNDLE %s\r\n", strings.Join(mids, " "))
	for i, m := range offer.MediaDescriptions {
		if m.MediaName.Media == "application" {
			fmt.Fprintf(&w, "m=application 7 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\n")
		} else {
			fmt.Fprintf(&w, "m=video 7 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n", vp8PT)
		}
		fmt.Fprintf(&w, "a=mid:%s\r\n", mids[i])
		writeTransport(&w, p, setup)
		if m.MediaName.Media == "application" {
			fmt.Fprintf(&w, "a=sctp-port:5000\r\na=max-message-size:262144\r\n")
			continue
		}
		fmt.Fprintf(&w, "a=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n")
		fmt.Fprintf(&w, "a=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack pli\r\n", vp8PT, vp8PT)
		fmt.Fprintf(&w, "a=msid:rope rope-video\r\na=ssrc:%d cname:rope\r\n", serverSSRC)
	}
	return w.String()
}

func writeTransport(w *strings.Builder, p rope.Parameters, setup string) {
	fmt.Fprintf(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p.ICEParameters.UsernameFragment, p.ICEParameters.Password)
	for _, c := range p.ICECandidates {
		fmt.Fprintf(w, "a=candidate:%s 1 %s %d %s %d typ host", c.Foundation, c.Protocol, c.Priority, c.Address, c.Port)
		if c.TCPType != "" {
			fmt.Fprintf(w, " tcptype %s", c.TCPType)
		}
		w.WriteString("\r\n")
	}
	fmt.Fprintf(w, "a=end-of-candidates\r\na=ice-options:renomination\r\na=setup:%s\r\n", setup)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
