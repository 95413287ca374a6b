// Package peertest has a pion PeerConnection that plays a browser running
// mediasoup-client against a media.WebRtcTransport, for tests of the
// engine, of the remote client and of mafalda: it offers, and takes the answer
// mediasoup-client's RemoteSdp would write from the transport's
// parameters.
package peertest

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/media"
)

// Browser is a pion PeerConnection playing a browser running
// mediasoup-client: it offers, and takes an answer built from the
// WebRtcTransport's parameters the way mediasoup-client's RemoteSdp does.
type Browser struct {
	PC *pion.PeerConnection
	// Track and Sender send video (sending browser only).
	Track  *pion.TrackLocalStaticRTP
	Sender *pion.RTPSender
	// Tracks receives the remote track (receiving browser only).
	Tracks chan *pion.TrackRemote
	pt     uint8
}

// NewBrowser makes a PeerConnection that knows VP8 with payload type pt
// and either sends a track or receives one; with pt 0 it has no media
// (data channels only).
func NewBrowser(t testing.TB, pt uint8, send bool) *Browser {
	t.Helper()
	return newBrowser(t, pt, send, false)
}

// NewTCPBrowser is NewBrowser with ICE over TCP too (active candidates,
// for a transport that offers passive TCP ones).
func NewTCPBrowser(t testing.TB, pt uint8, send bool) *Browser {
	t.Helper()
	return newBrowser(t, pt, send, true)
}

func newBrowser(t testing.TB, pt uint8, send, tcp bool) *Browser {
	t.Helper()
	var me pion.MediaEngine
	vp8 := pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000}
	mustOK(t, me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: vp8, PayloadType: pion.PayloadType(pt)}, pion.RTPCodecTypeVideo))
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := []pion.NetworkType{pion.NetworkTypeUDP4}
	if tcp {
		networks = append(networks, pion.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	mustOK(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	b := &Browser{PC: pc, pt: pt, Tracks: make(chan *pion.TrackRemote, 1)}
	switch {
	case pt == 0: // data channels only
		return b
	case send:
		b.Track, err = pion.NewTrackLocalStaticRTP(vp8, "cam", "browser")
		mustOK(t, err)
		b.Sender, err = pc.AddTrack(b.Track)
		mustOK(t, err)
		return b
	}
	_, err = pc.AddTransceiverFromKind(pion.RTPCodecTypeVideo, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly})
	mustOK(t, err)
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) { b.Tracks <- tr })
	return b
}

// DataChannel opens a negotiated data channel with the given stream id,
// as mediasoup-client's produceData and consumeData do.
func (b *Browser) DataChannel(t testing.TB, label string, id uint16) (dc *pion.DataChannel, open chan struct{}, msgs chan string) {
	t.Helper()
	negotiated := true
	dc, err := b.PC.CreateDataChannel(label, &pion.DataChannelInit{Negotiated: &negotiated, ID: &id})
	mustOK(t, err)
	open, msgs = make(chan struct{}), make(chan string, 16)
	dc.OnOpen(func() { close(open) })
	dc.OnMessage(func(m pion.DataChannelMessage) { msgs <- string(m.Data) })
	return dc, open, msgs
}

// Offer makes and applies the local offer; it returns the parsed offer
// and the dtlsParameters mediasoup-client sends in connect() (role
// client).
func (b *Browser) Offer(t testing.TB) (*sdp.SessionDescription, *media.DtlsParameters) {
	t.Helper()
	offer, err := b.PC.CreateOffer(nil)
	mustOK(t, err)
	mustOK(t, b.PC.SetLocalDescription(offer))
	var desc sdp.SessionDescription
	mustOK(t, desc.UnmarshalString(offer.SDP))
	fp, ok := desc.Attribute("fingerprint")
	if !ok {
		fp, ok = desc.MediaDescriptions[0].Attribute("fingerprint")
	}
	if !ok {
		t.Fatal("offer without fingerprint")
	}
	alg, val, _ := strings.Cut(fp, " ")
	return &desc, &media.DtlsParameters{Role: "client", Fingerprints: []media.DtlsFingerprint{{Algorithm: alg, Value: val}}}
}

// OfferSSRC is the first a=ssrc of the offer's video section.
func OfferSSRC(t testing.TB, offer *sdp.SessionDescription) uint32 {
	t.Helper()
	for _, m := range offer.MediaDescriptions {
		if v, ok := m.Attribute("ssrc"); ok {
			id, _, _ := strings.Cut(v, " ")
			n, err := strconv.ParseUint(id, 10, 32)
			mustOK(t, err)
			return uint32(n)
		}
	}
	t.Fatal("offer without ssrc")
	return 0
}

// Answer applies the answer mediasoup-client's RemoteSdp would write for
// tr: ice-lite, the last (strongest) fingerprint, ICE credentials, all
// candidates, setup passive (the transport is DTLS server), for a
// receiving browser the consumer's SSRC, and SCTP for data channels.
func (b *Browser) Answer(t testing.TB, offer *sdp.SessionDescription, tr media.WebRtcTransport, sendSSRC uint32) {
	t.Helper()
	dtls := tr.DtlsParameters()
	fp := dtls.Fingerprints[len(dtls.Fingerprints)-1]
	ip := tr.IceParameters()
	var mids []string
	for _, m := range offer.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		mids = append(mids, mid)
	}
	var w strings.Builder
	fmt.Fprintf(&w, "v=0\r\no=mediasoup-client 10000 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&w, "a=ice-lite\r\na=fingerprint:%s %s\r\na=msid-semantic: WMS *\r\n", fp.Algorithm, fp.Value)
	fmt.Fprintf(&w, "a=group:BUNDLE %s\r\n", strings.Join(mids, " "))
	for i, m := range offer.MediaDescriptions {
		if m.MediaName.Media == "application" {
			fmt.Fprintf(&w, "m=application 7 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\n")
		} else {
			fmt.Fprintf(&w, "m=video 7 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n", b.pt)
		}
		fmt.Fprintf(&w, "a=mid:%s\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", mids[i], ip.UsernameFragment, ip.Password)
		for _, c := range tr.IceCandidates() {
			fmt.Fprintf(&w, "a=candidate:%s 1 %s %d %s %d typ host", c.Foundation, c.Protocol, c.Priority, c.Address, c.Port)
			if c.TCPType != "" {
				fmt.Fprintf(&w, " tcptype %s", c.TCPType)
			}
			w.WriteString("\r\n")
		}
		fmt.Fprintf(&w, "a=end-of-candidates\r\na=ice-options:renomination\r\na=setup:passive\r\n")
		if m.MediaName.Media == "application" {
			sp := tr.SctpParameters()
			fmt.Fprintf(&w, "a=sctp-port:%d\r\na=max-message-size:%d\r\n", sp.Port, sp.MaxMessageSize)
			continue
		}
		fmt.Fprintf(&w, "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack pli\r\n", b.pt, b.pt)
		if sendSSRC == 0 {
			w.WriteString("a=recvonly\r\n")
		} else {
			fmt.Fprintf(&w, "a=sendonly\r\na=msid:rope rope-video\r\na=ssrc:%d cname:rope\r\n", sendSSRC)
		}
	}
	mustOK(t, b.PC.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: w.String()}))
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
