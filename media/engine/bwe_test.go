package engine_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestTransportCCFeedback sends VP8 from a pion PeerConnection that
// numbers its packets with the transport-wide-cc-01 extension and runs
// pion's send-side bandwidth estimator (GCC) on our feedback, as a
// browser does: transport-cc feedback covering its packets reaches it,
// its estimate rises above its start bitrate, and after
// setMaxIncomingBitrate a REMB with that bitrate arrives too (and one with
// bitrate 0, unlimited, once it is unset), as mediasoup sends them.
func TestTransportCCFeedback(t *testing.T) {
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
	if !hasFb(vp8.RtcpFeedback, "transport-cc") {
		t.Fatalf("router VP8 without transport-cc feedback: %+v", vp8.RtcpFeedback)
	}
	pt := uint8(*vp8.PreferredPayloadType)

	// The sending browser.
	const startBitrate = 100_000
	var me pion.MediaEngine
	codec := pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []pion.RTCPFeedback{{Type: pion.TypeRTCPFBTransportCC}}}
	mustOK(t, me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: codec, PayloadType: pion.PayloadType(pt)}, pion.RTPCodecTypeVideo))
	mustOK(t, me.RegisterHeaderExtension(pion.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, pion.RTPCodecTypeVideo))
	var reg interceptor.Registry
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(startBitrate), gcc.SendSideBWEMinBitrate(startBitrate/2))
	})
	mustOK(t, err)
	estimators := make(chan cc.BandwidthEstimator, 1)
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { estimators <- e })
	reg.Add(ccf)
	// Added last, so it numbers the packets before GCC's pacer sees them.
	seqs, err := twcc.NewHeaderExtensionInterceptor()
	mustOK(t, err)
	reg.Add(seqs)
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&reg))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	mustOK(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	track, err := pion.NewTrackLocalStaticRTP(codec, "cam", "browser")
	mustOK(t, err)
	sender, err := pc.AddTrack(track)
	mustOK(t, err)
	estimator := <-estimators

	tr := f.webRtc(nil)
	offer, err := pc.CreateOffer(nil)
	mustOK(t, err)
	mustOK(t, pc.SetLocalDescription(offer))
	var desc sdp.SessionDescription
	mustOK(t, desc.UnmarshalString(offer.SDP))
	fpAttr, ok := desc.Attribute("fingerprint")
	if !ok {
		fpAttr, _ = desc.MediaDescriptions[0].Attribute("fingerprint")
	}
	alg, val, _ := strings.Cut(fpAttr, " ")
	mustOK(t, tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{
		Role: "client", Fingerprints: []media.DtlsFingerprint{{Algorithm: alg, Value: val}}}}))
	exts := offerExtmaps(t, &desc)
	tccID := exts[sdp.TransportCCURI]
	if tccID == 0 {
		t.Fatalf("offer without transport-cc extension:\n%s", offer.SDP)
	}
	mid, _ := desc.MediaDescriptions[0].Attribute("mid")
	dtls, ip := tr.DtlsParameters(), tr.IceParameters()
	fp := dtls.Fingerprints[len(dtls.Fingerprints)-1]
	var w strings.Builder
	fmt.Fprintf(&w, "v=0\r\no=mediasoup-client 10000 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&w, "a=ice-lite\r\na=fingerprint:%s %s\r\na=msid-semantic: WMS *\r\na=group:BUNDLE %s\r\n", fp.Algorithm, fp.Value, mid)
	fmt.Fprintf(&w, "m=video 7 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 127.0.0.1\r\n", pt)
	fmt.Fprintf(&w, "a=mid:%s\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", mid, ip.UsernameFragment, ip.Password)
	for _, c := range tr.IceCandidates() {
		fmt.Fprintf(&w, "a=candidate:%s 1 %s %d %s %d typ host\r\n", c.Foundation, c.Protocol, c.Priority, c.Address, c.Port)
	}
	fmt.Fprintf(&w, "a=end-of-candidates\r\na=setup:passive\r\na=rtcp-mux\r\na=rtcp-rsize\r\n")
	fmt.Fprintf(&w, "a=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d transport-cc\r\na=extmap:%d %s\r\na=recvonly\r\n", pt, pt, tccID, sdp.TransportCCURI)
	mustOK(t, pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: w.String()}))

	// What mediasoup-client sends in produce().
	prod := must[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
		Mid:              mid,
		Codecs:           []media.RtpCodecParameters{{MimeType: vp8.MimeType, PayloadType: int(pt), ClockRate: vp8.ClockRate, RtcpFeedback: []media.RtcpFeedback{{Type: "transport-cc"}}}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtTransportWideCC01, ID: tccID}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: peertest.OfferSSRC(t, &desc)}},
		Rtcp:             media.RtcpParameters{CNAME: "browser"},
	}}))
	wait.Until(t, "transport connected", func() bool { return tr.DtlsState() == "connected" })

	// The sender's RTCP: transport-cc feedback and REMBs.
	var (
		mu       sync.Mutex
		acked    int
		rembs    []uint64
		readDone = make(chan struct{})
	)
	go func() {
		defer close(readDone)
		buf := make([]byte, 1500)
		for {
			n, _, err := sender.Read(buf)
			if err != nil {
				return
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			mu.Lock()
			for _, p := range pkts {
				if p, ok := p.(*rtcp.TransportLayerCC); ok {
					acked += len(p.RecvDeltas)
				}
			}
			rembs = append(rembs, rembBitrates(buf[:n])...)
			mu.Unlock()
		}
	}()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		payload := make([]byte, 1000)
		copy(payload, []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a})
		for seq := uint16(1); ; seq++ {
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
				Timestamp: uint32(seq) * 900, Marker: true}, Payload: payload})
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		_ = pc.Close()
		<-readDone
	})

	wait.Until(t, "transport-cc feedback at the sender", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return acked >= 20
	})
	wait.Until(t, "the sender's estimate above its start bitrate", func() bool {
		return estimator.GetTargetBitrate() > startBitrate
	})
	t.Logf("estimate %d bps (start %d), %d packets acknowledged", estimator.GetTargetBitrate(), startBitrate, acked)
	st := must[[]media.RtpStreamStats](t)(prod.GetStats(ctx))
	if len(st) != 1 || st[0].PacketCount == 0 {
		t.Fatalf("producer stats %+v", st)
	}

	mustOK(t, tr.SetMaxIncomingBitrate(ctx, 1_500_000)) // exponent 3: mantissa 187500
	wait.Until(t, "REMB with the maximum incoming bitrate", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(rembs) > 0 && rembs[len(rembs)-1] == 1_500_000
	})
	// Unset, REMBs with bitrate 0 (unlimited) lift the cap.
	mustOK(t, tr.SetMaxIncomingBitrate(ctx, 0))
	wait.Until(t, "unlimited REMB", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return rembs[len(rembs)-1] == 0
	})
}

// rembBitrates decodes the bitrates of the REMBs in a compound RTCP
// packet (pion/rtcp decodes bitrate 0, mediasoup's "unlimited", as 2^23).
func rembBitrates(b []byte) []uint64 {
	var out []uint64
	for len(b) >= 4 {
		size := 4 * (int(b[2])<<8 | int(b[3]) + 1)
		if size > len(b) {
			break
		}
		if p := b[:size]; p[1] == 206 && p[0]&0x1f == 15 && size >= 20 && string(p[12:16]) == "REMB" {
			mantissa := uint64(p[17]&3)<<16 | uint64(p[18])<<8 | uint64(p[19])
			out = append(out, mantissa<<(p[17]>>2))
		}
		b = b[size:]
	}
	return out
}

func hasFb(fbs []media.RtcpFeedback, typ string) bool {
	for _, fb := range fbs {
		if fb.Type == typ {
			return true
		}
	}
	return false
}
