package engine_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// simulcastBrowser is a pion PeerConnection sending one VP8 track in three
// RID encodings (r0, r1, r2), as Chromium does for mediasoup-client's
// produce() with three encodings: no SSRC signalled to the SFU, MID and
// RID header extensions on the packets.
type simulcastBrowser struct {
	pc     *pion.PeerConnection
	pt     uint8
	tracks []*pion.TrackLocalStaticRTP
	sender *pion.RTPSender
}

var simulcastRids = []string{"r0", "r1", "r2"}

func newSimulcastBrowser(t *testing.T, pt uint8) *simulcastBrowser {
	t.Helper()
	var me pion.MediaEngine
	vp8 := pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000}
	mustOK(t, me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: vp8, PayloadType: pion.PayloadType(pt)}, pion.RTPCodecTypeVideo))
	mustOK(t, pion.ConfigureSimulcastExtensionHeaders(&me))
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	mustOK(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	b := &simulcastBrowser{pc: pc, pt: pt}
	for _, rid := range simulcastRids {
		tr, err := pion.NewTrackLocalStaticRTP(vp8, "cam", "browser", pion.WithRTPStreamID(rid))
		mustOK(t, err)
		b.tracks = append(b.tracks, tr)
	}
	b.sender, err = pc.AddTrack(b.tracks[0])
	mustOK(t, err)
	for _, tr := range b.tracks[1:] {
		mustOK(t, b.sender.AddEncoding(tr))
	}
	return b
}

// offerExtmaps returns the offer's video header extensions (id by URI).
func offerExtmaps(t *testing.T, offer *sdp.SessionDescription) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, a := range offer.MediaDescriptions[0].Attributes {
		if a.Key != "extmap" {
			continue
		}
		id, uri, _ := strings.Cut(a.Value, " ")
		n, err := strconv.Atoi(id)
		mustOK(t, err)
		out[uri] = n
	}
	return out
}

// answer applies the answer mediasoup-client's RemoteSdp writes for a
// simulcast send section: the header extensions, a=rid recv per
// encoding and a=simulcast:recv.
func (b *simulcastBrowser) answer(t *testing.T, offer *sdp.SessionDescription, tr media.WebRtcTransport) {
	t.Helper()
	dtls := tr.DtlsParameters()
	fp := dtls.Fingerprints[len(dtls.Fingerprints)-1]
	ip := tr.IceParameters()
	mid, _ := offer.MediaDescriptions[0].Attribute("mid")
	var w strings.Builder
	fmt.Fprintf(&w, "v=0\r\no=mediasoup-client 10000 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&w, "a=ice-lite\r\na=fingerprint:%s %s\r\na=msid-semantic: WMS *\r\na=group:BUNDLE %s\r\n", fp.Algorithm, fp.Value, mid)
	fmt.Fprintf(&w, "m=video 7 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n", b.pt)
	fmt.Fprintf(&w, "a=mid:%s\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", mid, ip.UsernameFragment, ip.Password)
	for _, c := range tr.IceCandidates() {
		fmt.Fprintf(&w, "a=candidate:%s 1 %s %d %s %d typ host\r\n", c.Foundation, c.Protocol, c.Priority, c.Address, c.Port)
	}
	fmt.Fprintf(&w, "a=end-of-candidates\r\na=ice-options:renomination\r\na=setup:passive\r\n")
	fmt.Fprintf(&w, "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n", b.pt, b.pt, b.pt)
	for uri, id := range offerExtmaps(t, offer) {
		fmt.Fprintf(&w, "a=extmap:%d %s\r\n", id, uri)
	}
	w.WriteString("a=recvonly\r\n")
	for _, rid := range simulcastRids {
		fmt.Fprintf(&w, "a=rid:%s recv\r\n", rid)
	}
	fmt.Fprintf(&w, "a=simulcast:recv %s\r\n", strings.Join(simulcastRids, ";"))
	mustOK(t, b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: w.String()}))
}

// TestWebRtcRidSimulcast sends RID simulcast from a pion PeerConnection
// through a Producer on a WebRtcTransport (SRTP) to a simulcast Consumer
// on another one and a receiving PeerConnection: the producer learns the
// three streams from MID and RID, the consumer forwards the preferred
// layer and switches when told.
func TestWebRtcRidSimulcast(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := f.ctx
	caps := f.router.RtpCapabilities()
	var vp8 media.RtpCodecCapability
	for _, c := range caps.Codecs {
		if strings.EqualFold(c.MimeType, "video/VP8") {
			vp8 = c
		}
	}
	pt := uint8(*vp8.PreferredPayloadType)

	sendTr := f.webRtc(nil)
	a := newSimulcastBrowser(t, pt)
	offerA, err := a.pc.CreateOffer(nil)
	mustOK(t, err)
	mustOK(t, a.pc.SetLocalDescription(offerA))
	var descA sdp.SessionDescription
	mustOK(t, descA.UnmarshalString(offerA.SDP))
	if _, ok := descA.MediaDescriptions[0].Attribute("simulcast"); !ok {
		t.Fatalf("offer without simulcast:\n%s", offerA.SDP)
	}
	fpAttr, ok := descA.Attribute("fingerprint")
	if !ok {
		fpAttr, _ = descA.MediaDescriptions[0].Attribute("fingerprint")
	}
	alg, val, _ := strings.Cut(fpAttr, " ")
	mustOK(t, sendTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{
		Role: "client", Fingerprints: []media.DtlsFingerprint{{Algorithm: alg, Value: val}}}}))
	a.answer(t, &descA, sendTr)

	// What mediasoup-client's Chrome111 handler sends in produce():
	// the MID, the extensions, encodings with rid and no ssrc.
	mid, _ := descA.MediaDescriptions[0].Attribute("mid")
	exts := offerExtmaps(t, &descA)
	params := media.RtpParameters{
		Mid:    mid,
		Codecs: []media.RtpCodecParameters{{MimeType: vp8.MimeType, PayloadType: int(pt), ClockRate: vp8.ClockRate, RtcpFeedback: vp8.RtcpFeedback}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{
			{URI: media.ExtMid, ID: exts[string(media.ExtMid)]},
			{URI: media.ExtRtpStreamID, ID: exts[string(media.ExtRtpStreamID)]},
			{URI: media.ExtRepairedRtpStreamID, ID: exts[string(media.ExtRepairedRtpStreamID)]},
		},
		Rtcp: media.RtcpParameters{CNAME: "browser-a"},
	}
	for _, rid := range simulcastRids {
		params.Encodings = append(params.Encodings, media.RtpEncodingParameters{RID: rid})
	}
	prod := must[media.Producer](t)(sendTr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))

	recvTr := f.webRtc(nil)
	cons := must[media.Consumer](t)(recvTr.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: &caps}))
	if cons.Type() != media.ConsumerSimulcast {
		t.Fatalf("consumer type %s", cons.Type())
	}
	cp := cons.RtpParameters()
	b := peertest.NewBrowser(t, uint8(cp.Codecs[0].PayloadType), false)
	offerB, dtlsB := b.Offer(t)
	mustOK(t, recvTr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtlsB}))
	b.Answer(t, offerB, recvTr, cp.Encodings[0].SSRC)
	wait.Until(t, "both transports connected", func() bool {
		return sendTr.DtlsState() == "connected" && recvTr.DtlsState() == "connected"
	})

	// The sending browser writes key frames on every layer, the layer's
	// index in the payload, with MID and RID as negotiated.
	var midID, ridID uint8
	for _, e := range a.sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	if midID == 0 || ridID == 0 {
		t.Fatalf("mid/rid extensions not negotiated: %+v", a.sender.GetParameters().HeaderExtensions)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint16(1); ; seq++ {
			for i, tr := range a.tracks {
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
					Timestamp: uint32(seq) * 3000, Marker: true}, Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, byte(i)}}
				_ = pkt.Header.SetExtension(midID, []byte(mid))
				_ = pkt.Header.SetExtension(ridID, []byte(simulcastRids[i]))
				_ = tr.WriteRTP(pkt)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()

	var track *pion.TrackRemote
	select {
	case track = <-b.Tracks:
	case <-time.After(5 * time.Second):
		t.Fatal("receiving browser got no track")
	}
	layerOf := func() byte {
		t.Helper()
		mustOK(t, track.SetReadDeadline(time.Now().Add(5*time.Second)))
		pkt, _, err := track.ReadRTP()
		mustOK(t, err)
		if pkt.SSRC != cp.Encodings[0].SSRC || len(pkt.Payload) != 7 {
			t.Fatalf("receiving browser got %v", pkt)
		}
		return pkt.Payload[6]
	}
	if l := layerOf(); l != 2 {
		t.Fatalf("first packet from layer %d, want 2 (preferred)", l)
	}
	mustOK(t, cons.SetPreferredLayers(ctx, media.ConsumerLayers{SpatialLayer: 0}))
	deadline := time.Now().Add(5 * time.Second)
	for layerOf() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("consumer did not switch to layer 0")
		}
	}

	stats := must[[]media.RtpStreamStats](t)(prod.GetStats(ctx))
	if len(stats) != 3 {
		t.Fatalf("producer stats: %d streams: %+v", len(stats), stats)
	}
	seen := map[uint32]bool{}
	for i, st := range stats {
		if st.RID != simulcastRids[i] || st.SSRC == 0 || seen[st.SSRC] || st.PacketCount == 0 {
			t.Errorf("stream %d: rid %q ssrc %d packets %d", i, st.RID, st.SSRC, st.PacketCount)
		}
		seen[st.SSRC] = true
	}
}
