package mediatest

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

	"github.com/ropehq/rope/media"
)

// ridBrowser is a pion peer sending one VP8 track in three RID encodings
// (r0, r1, r2), as Chromium does for mediasoup-client's produce() with
// three encodings: no SSRC signalled, MID and RID header extensions on
// the packets.
type ridBrowser struct {
	pc     *pion.PeerConnection
	pt     uint8
	tracks []*pion.TrackLocalStaticRTP
	sender *pion.RTPSender
}

var rids = []string{"r0", "r1", "r2"}

func newRidBrowser(t *testing.T, pt uint8) *ridBrowser {
	t.Helper()
	var me pion.MediaEngine
	vp8 := pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000}
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok(me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: vp8, PayloadType: pion.PayloadType(pt)}, pion.RTPCodecTypeVideo))
	ok(pion.ConfigureSimulcastExtensionHeaders(&me))
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se)).NewPeerConnection(pion.Configuration{})
	ok(err)
	t.Cleanup(func() { _ = pc.Close() })
	b := &ridBrowser{pc: pc, pt: pt}
	for _, rid := range rids {
		tr, err := pion.NewTrackLocalStaticRTP(vp8, "cam", "browser", pion.WithRTPStreamID(rid))
		ok(err)
		b.tracks = append(b.tracks, tr)
	}
	b.sender, err = pc.AddTrack(b.tracks[0])
	ok(err)
	for _, tr := range b.tracks[1:] {
		ok(b.sender.AddEncoding(tr))
	}
	return b
}

// connect offers, connects tr with the offer's fingerprint, applies the
// answer mediasoup-client's RemoteSdp writes for a simulcast send section
// and makes the producer mediasoup-client's produce() asks for: the MID,
// the extensions, encodings with a RID and no SSRC.
func (b *ridBrowser) connect(t *testing.T, tr media.WebRtcTransport, vp8 media.RtpCodecCapability) media.Producer {
	t.Helper()
	ctx := ctxFor(t)
	offer, err := b.pc.CreateOffer(nil)
	if err == nil {
		err = b.pc.SetLocalDescription(offer)
	}
	var desc sdp.SessionDescription
	if err == nil {
		err = desc.UnmarshalString(offer.SDP)
	}
	if err != nil {
		t.Fatal(err)
	}
	fp, ok := desc.Attribute("fingerprint")
	if !ok {
		fp, _ = desc.MediaDescriptions[0].Attribute("fingerprint")
	}
	alg, val, _ := strings.Cut(fp, " ")
	if err := tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{
		Role: "client", Fingerprints: []media.DtlsFingerprint{{Algorithm: alg, Value: val}}}}); err != nil {
		t.Fatal(err)
	}
	exts := map[string]int{}
	for _, a := range desc.MediaDescriptions[0].Attributes {
		if a.Key == "extmap" {
			id, uri, _ := strings.Cut(a.Value, " ")
			n, err := strconv.Atoi(id)
			if err != nil {
				t.Fatal(err)
			}
			exts[uri] = n
		}
	}
	dtls := tr.DtlsParameters()
	sfp := dtls.Fingerprints[len(dtls.Fingerprints)-1]
	ip := tr.IceParameters()
	mid, _ := desc.MediaDescriptions[0].Attribute("mid")
	var w strings.Builder
	fmt.Fprintf(&w, "v=0\r\no=mediasoup-client 10000 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&w, "a=ice-lite\r\na=fingerprint:%s %s\r\na=msid-semantic: WMS *\r\na=group:BUNDLE %s\r\n", sfp.Algorithm, sfp.Value, mid)
	fmt.Fprintf(&w, "m=video 7 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n", b.pt)
	fmt.Fprintf(&w, "a=mid:%s\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", mid, ip.UsernameFragment, ip.Password)
	for _, c := range tr.IceCandidates() {
		fmt.Fprintf(&w, "a=candidate:%s 1 %s %d %s %d typ host\r\n", c.Foundation, c.Protocol, c.Priority, c.Address, c.Port)
	}
	fmt.Fprintf(&w, "a=end-of-candidates\r\na=ice-options:renomination\r\na=setup:passive\r\n")
	fmt.Fprintf(&w, "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n", b.pt, b.pt, b.pt)
	for uri, id := range exts {
		fmt.Fprintf(&w, "a=extmap:%d %s\r\n", id, uri)
	}
	w.WriteString("a=recvonly\r\n")
	for _, rid := range rids {
		fmt.Fprintf(&w, "a=rid:%s recv\r\n", rid)
	}
	fmt.Fprintf(&w, "a=simulcast:recv %s\r\n", strings.Join(rids, ";"))
	if err := b.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: w.String()}); err != nil {
		t.Fatal(err)
	}
	params := media.RtpParameters{
		Mid:    mid,
		Codecs: []media.RtpCodecParameters{{MimeType: vp8.MimeType, PayloadType: int(b.pt), ClockRate: vp8.ClockRate, RtcpFeedback: vp8.RtcpFeedback}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{
			{URI: media.ExtMid, ID: exts[string(media.ExtMid)]},
			{URI: media.ExtRtpStreamID, ID: exts[string(media.ExtRtpStreamID)]},
			{URI: media.ExtRepairedRtpStreamID, ID: exts[string(media.ExtRepairedRtpStreamID)]},
		},
		Rtcp: media.RtcpParameters{CNAME: "browser"},
	}
	for _, rid := range rids {
		params.Encodings = append(params.Encodings, media.RtpEncodingParameters{RID: rid})
	}
	return check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
}

// send writes one key frame on every layer, the layer's index as the last
// payload byte, with MID and RID as negotiated.
func (b *ridBrowser) send(t *testing.T, seq uint16) {
	t.Helper()
	var midID, ridID uint8
	for _, e := range b.sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	if midID == 0 || ridID == 0 {
		t.Fatal("mid/rid extensions not negotiated")
	}
	for i, tr := range b.tracks {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: b.pt, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
			Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, byte(i)}}
		_ = pkt.Header.SetExtension(midID, []byte(b.mid()))
		_ = pkt.Header.SetExtension(ridID, []byte(rids[i]))
		_ = tr.WriteRTP(pkt)
	}
}

// mid is the sending transceiver's mid.
func (b *ridBrowser) mid() string {
	for _, tr := range b.pc.GetTransceivers() {
		if tr.Sender() == b.sender {
			return tr.Mid()
		}
	}
	return ""
}

// testWebRtcRidSimulcast: RID simulcast from a peer (no SSRCs
// signalled) through a producer on a WebRtcTransport: the producer learns
// the three streams from MID and RID; simulcast consumers in its router
// and, piped, in another worker's router forward the preferred layer and
// switch when told.
func testWebRtcRidSimulcast(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r1, r2 := newRouter(t, newWorker(t, api)), newRouter(t, newWorker(t, api))
	vp8 := routerVP8(t, r1)
	b := newRidBrowser(t, uint8(*vp8.PreferredPayloadType))
	prod := b.connect(t, webRtcTransport(t, r1, false), vp8)
	if prod.Type() != media.ProducerSimulcast {
		t.Fatalf("producer type %q", prod.Type())
	}
	check[*media.PipeToRouterResult](t)(r1.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: prod.ID(), Router: r2}))
	var consumers []media.Consumer
	var endpoints []*Endpoint
	for _, r := range []media.Router{r1, r2} {
		e := NewEndpoint(t)
		c := check[media.Consumer](t)(connectedPlain(t, r, e).Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: EndpointCaps()}))
		if c.Type() != media.ConsumerSimulcast {
			t.Fatalf("consumer type %q", c.Type())
		}
		consumers, endpoints = append(consumers, c), append(endpoints, e)
	}
	var seq uint16
	layerAt := func(i, layer int) func() bool {
		return func() bool {
			seq++
			b.send(t, seq)
			time.Sleep(5 * time.Millisecond)
			got := endpoints[i].RTP(consumers[i].RtpParameters().Encodings[0].SSRC)
			return len(got) > 0 && got[len(got)-1].Payload[len(got[len(got)-1].Payload)-1] == byte(layer)
		}
	}
	for i, where := range []string{"in the producer's router", "piped to another worker"} {
		eventually(t, "the highest layer "+where, layerAt(i, 2))
		if err := consumers[i].SetPreferredLayers(ctx, media.ConsumerLayers{SpatialLayer: 0}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the lowest layer "+where, layerAt(i, 0))
	}
	st := check[[]media.RtpStreamStats](t)(prod.GetStats(ctx))
	if len(st) != 3 {
		t.Fatalf("producer stats: %d streams: %+v", len(st), st)
	}
	seen := map[uint32]bool{}
	for i, s := range st {
		if s.RID != rids[i] || s.SSRC == 0 || seen[s.SSRC] || s.PacketCount == 0 {
			t.Errorf("stream %d: rid %q ssrc %d packets %d", i, s.RID, s.SSRC, s.PacketCount)
		}
		seen[s.SSRC] = true
	}
}
