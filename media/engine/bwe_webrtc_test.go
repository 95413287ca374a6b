package engine_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestSendSideBweWebRtc consumes a 3-layer simulcast producer over a
// WebRtcTransport into a pion PeerConnection whose transport-cc feedback
// comes from pion/interceptor's TWCC sender interceptor, as a browser's
// does: the estimate rises from initialAvailableOutgoingBitrate (with
// RTX padding, which the receiver reports: it has no probator) and the
// consumer reaches the top layer.
func TestSendSideBweWebRtc(t *testing.T) {
	if testing.Short() {
		t.Skip("takes several seconds of real time")
	}
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	p := f.simulcastProducer(t, in)
	caps, twccID := bweCaps(f.router)
	caps.Codecs = append(caps.Codecs, media.RtpCodecCapability{Kind: media.KindVideo, MimeType: "video/rtx", ClockRate: 90000})
	tr := f.webRtc(&media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}, InitialAvailableOutgoingBitrate: 300_000})
	c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps, Mid: "0"}))
	cp := c.RtpParameters()
	pt := cp.Codecs[0].PayloadType
	var rtxPT int
	for _, c := range cp.Codecs {
		if strings.EqualFold(c.MimeType, "video/rtx") {
			rtxPT = c.PayloadType
		}
	}
	if rtxPT == 0 || cp.Encodings[0].RTX == nil {
		t.Fatalf("consumer without RTX: %+v", cp)
	}

	// The receiving browser: VP8 with transport-cc, feedback from pion's
	// TWCC sender interceptor.
	var me pion.MediaEngine
	codec := pion.RTPCodecCapability{MimeType: pion.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []pion.RTCPFeedback{{Type: pion.TypeRTCPFBTransportCC}}}
	mustOK(t, me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: codec, PayloadType: pion.PayloadType(pt)}, pion.RTPCodecTypeVideo))
	mustOK(t, me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeRTX,
		ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", pt)}, PayloadType: pion.PayloadType(rtxPT)}, pion.RTPCodecTypeVideo))
	mustOK(t, me.RegisterHeaderExtension(pion.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, pion.RTPCodecTypeVideo))
	var reg interceptor.Registry
	fb, err := twcc.NewSenderInterceptor(twcc.SendInterval(50 * time.Millisecond))
	mustOK(t, err)
	reg.Add(fb)
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := pion.NewAPI(pion.WithMediaEngine(&me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&reg))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	mustOK(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	tracks := make(chan *pion.TrackRemote, 1)
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) { tracks <- tr })

	// mediasoup-client consuming: the remote offer written from the
	// transport and the consumer, the browser's answer, connect().
	dtls, ip := tr.DtlsParameters(), tr.IceParameters()
	fp := dtls.Fingerprints[len(dtls.Fingerprints)-1]
	var w strings.Builder
	fmt.Fprintf(&w, "v=0\r\no=mediasoup-client 10000 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&w, "a=ice-lite\r\na=fingerprint:%s %s\r\na=msid-semantic: WMS *\r\na=group:BUNDLE 0\r\n", fp.Algorithm, fp.Value)
	fmt.Fprintf(&w, "m=video 7 UDP/TLS/RTP/SAVPF %d %d\r\nc=IN IP4 127.0.0.1\r\n", pt, rtxPT)
	fmt.Fprintf(&w, "a=mid:0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ip.UsernameFragment, ip.Password)
	for _, c := range tr.IceCandidates() {
		fmt.Fprintf(&w, "a=candidate:%s 1 %s %d %s %d typ host\r\n", c.Foundation, c.Protocol, c.Priority, c.Address, c.Port)
	}
	fmt.Fprintf(&w, "a=end-of-candidates\r\na=setup:actpass\r\na=rtcp-mux\r\na=rtcp-rsize\r\n")
	fmt.Fprintf(&w, "a=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d transport-cc\r\na=extmap:%d %s\r\na=sendonly\r\n", pt, pt, twccID, sdp.TransportCCURI)
	fmt.Fprintf(&w, "a=rtpmap:%d rtx/90000\r\na=fmtp:%d apt=%d\r\n", rtxPT, rtxPT, pt)
	ssrc, rtxSSRC := cp.Encodings[0].SSRC, cp.Encodings[0].RTX.SSRC
	fmt.Fprintf(&w, "a=msid:rope rope-video\r\na=ssrc-group:FID %d %d\r\na=ssrc:%d cname:%s\r\na=ssrc:%d cname:%s\r\n",
		ssrc, rtxSSRC, ssrc, cp.Rtcp.CNAME, rtxSSRC, cp.Rtcp.CNAME)
	mustOK(t, pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: w.String()}))
	answer, err := pc.CreateAnswer(nil)
	mustOK(t, err)
	mustOK(t, pc.SetLocalDescription(answer))
	var desc sdp.SessionDescription
	mustOK(t, desc.UnmarshalString(answer.SDP))
	fpAttr, ok := desc.Attribute("fingerprint")
	if !ok {
		fpAttr, _ = desc.MediaDescriptions[0].Attribute("fingerprint")
	}
	alg, val, _ := strings.Cut(fpAttr, " ")
	// The browser's role from its answer's a=setup (mediasoup-client's
	// connect() sends it).
	role := "client"
	if setup, _ := desc.MediaDescriptions[0].Attribute("setup"); setup == "passive" {
		role = "server"
	}
	mustOK(t, tr.Connect(f.ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: &media.DtlsParameters{
		Role: role, Fingerprints: []media.DtlsFingerprint{{Algorithm: alg, Value: val}}}}))
	wait.Until(t, "transport connected", func() bool { return tr.DtlsState() == "connected" })

	tr.OnTrace(func(e media.TransportTraceEventData) { t.Logf("%+v layer %d", e.Info, spatial(c)) })
	mustOK(t, tr.EnableTraceEvent(f.ctx, []media.TransportTraceEventType{"bwe"}))
	startFeeder(t, src, in.Tuple())
	track := <-tracks
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 1500)
		for {
			if _, _, err := track.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-read })
	waitFor(t, "the top layer", 60*time.Second, func() bool { return spatial(c) == 2 })
	st := must[[]media.TransportStats](t)(tr.GetStats(f.ctx))[0]
	if st.AvailableOutgoingBitrate == nil || *st.AvailableOutgoingBitrate < 1_000_000 {
		t.Fatalf("availableOutgoingBitrate %v with the top layer", st.AvailableOutgoingBitrate)
	}
}
