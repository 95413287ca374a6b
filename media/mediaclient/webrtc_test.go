package mediaclient_test

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// TestRemoteWebRtcTransport: a WebRtcTransport created over ROPE on the
// real engine, with its own socket or on a WebRtcServer, takes a pion
// PeerConnection's ICE, DTLS and SRTP; the VP8 it sends reaches, through a
// Producer and a Consumer, a plain RTP endpoint. The mirror follows the
// transport's states.
func TestRemoteWebRtcTransport(t *testing.T) {
	for _, useServer := range []bool{false, true} {
		name := "own-socket"
		if useServer {
			name = "webrtc-server"
		}
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			c, _ := startServer(t, nil).dial(t, nil)
			w := must[media.Worker](t)(c.CreateWorker(ctx, nil))
			r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
			opts := &media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{*loopback()}}
			var s media.WebRtcServer
			if useServer {
				s = must[media.WebRtcServer](t)(w.CreateWebRtcServer(ctx, &media.WebRtcServerOptions{
					ListenInfos: []media.TransportListenInfo{*loopback()}}))
				opts = &media.WebRtcTransportOptions{WebRtcServer: s}
			}
			tr := must[media.WebRtcTransport](t)(r.CreateWebRtcTransport(ctx, opts))
			dtlsStates := make(chan media.DtlsState, 4)
			tr.OnDtlsStateChange(func(s media.DtlsState) { dtlsStates <- s })

			var vp8 media.RtpCodecCapability
			caps := r.RtpCapabilities()
			for _, cc := range caps.Codecs {
				if cc.MimeType == "video/VP8" {
					vp8 = cc
				}
			}
			pt := uint8(*vp8.PreferredPayloadType)
			a := peertest.NewBrowser(t, pt, true)
			offer, dtls := a.Offer(t)
			if err := tr.Connect(ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtls}); err != nil {
				t.Fatal(err)
			}
			a.Answer(t, offer, tr, 0)
			mid, _ := offer.MediaDescriptions[0].Attribute("mid")
			prod := must[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: media.RtpParameters{
				Mid:       mid,
				Codecs:    []media.RtpCodecParameters{{MimeType: vp8.MimeType, PayloadType: int(pt), ClockRate: vp8.ClockRate, RtcpFeedback: vp8.RtcpFeedback}},
				Encodings: []media.RtpEncodingParameters{{SSRC: peertest.OfferSSRC(t, offer)}},
				Rtcp:      media.RtcpParameters{CNAME: "browser"},
			}}))
			dst := mediatest.NewEndpoint(t)
			out := must[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback()}))
			if err := out.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: dst.Port()}); err != nil {
				t.Fatal(err)
			}
			cons := must[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: &caps}))
			ssrc := cons.RtpParameters().Encodings[0].SSRC

			payload := []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3, 4}
			seq := uint16(0)
			wait.Until(t, "the browser's RTP at the plain endpoint", func() bool {
				seq++
				_ = a.Track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
					Timestamp: uint32(seq) * 3000, Marker: true}, Payload: payload})
				time.Sleep(5 * time.Millisecond)
				return len(dst.RTP(ssrc)) > 0
			})
			if tr.DtlsState() != "connected" || tr.IceState() != "completed" {
				t.Errorf("mirror: dtls %q ice %q", tr.DtlsState(), tr.IceState())
			}
			if got := []media.DtlsState{<-dtlsStates, <-dtlsStates}; got[0] != "connecting" || got[1] != "connected" {
				t.Errorf("dtlsstatechange %v", got)
			}
			tup := tr.IceSelectedTuple()
			if tup == nil || tup.LocalPort != tr.IceCandidates()[0].Port || tup.RemotePort == 0 {
				t.Errorf("selected tuple %+v, candidates %+v", tup, tr.IceCandidates())
			}
			if !useServer {
				return
			}
			d := must[*media.WebRtcServerDump](t)(s.Dump(ctx))
			if len(d.TupleHashes) == 0 || d.TupleHashes[0].WebRtcTransportID != tr.ID() || d.UDPSockets[0].Port != tup.LocalPort {
				t.Errorf("server dump %+v, transport %s on %d", d, tr.ID(), tup.LocalPort)
			}
			closed := make(chan struct{})
			cons.OnProducerClose(func() { close(closed) })
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case <-closed:
			case <-ctx.Done():
				t.Fatal("consumer not closed when the server closed the producer's transport")
			}
			if !tr.Closed() || !prod.Closed() {
				t.Errorf("after server close: transport %v producer %v", tr.Closed(), prod.Closed())
			}
		})
	}
}
