package mediatest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/ropehq/rope/media"
)

// senderReports counts the sender reports e received for ssrc.
func senderReports(e *Endpoint, ssrc uint32) int {
	n := 0
	for _, p := range e.RTCP() {
		if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == ssrc {
			n++
		}
	}
	return n
}

// loopback produces on tr and consumes that producer on tr itself: what
// the endpoint sends comes back to it.
func loopback(t *testing.T, tr media.PlainTransport, ssrc uint32) media.Consumer {
	t.Helper()
	ctx := ctxFor(t)
	p := check[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(ssrc)}))
	return check[media.Consumer](t)(tr.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
}

// testPlainRtcpMuxOff: with rtcpMux false a plain transport has a second
// socket for RTCP (rtcpTuple) and, connected to an RTP and an RTCP port,
// sends RTP to one and its sender reports to the other.
func testPlainRtcpMuxOff(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	mux := false
	tr := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listenInfo(), RtcpMux: &mux}))
	rt := tr.RtcpTuple()
	if rt == nil || rt.LocalAddress != "127.0.0.1" || rt.LocalPort == 0 || rt.LocalPort == tr.Tuple().LocalPort {
		t.Fatalf("tuple %+v rtcpTuple %+v", tr.Tuple(), rt)
	}
	eRTP, eRTCP := NewEndpoint(t), NewEndpoint(t)
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: eRTP.Port()}); err == nil {
		t.Fatal("connect without rtcpPort succeeded with rtcpMux false")
	}
	if err := tr.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: eRTP.Port(), RtcpPort: eRTCP.Port()}); err != nil {
		t.Fatal(err)
	}
	c := loopback(t, tr, 1234)
	ssrc := c.RtpParameters().Encodings[0].SSRC
	snd := &VP8Sender{SSRC: 1234, PT: 101}
	eventually(t, "RTP at the RTP port and a sender report at the RTCP port", func() bool {
		eRTP.Send(tr.Tuple(), snd.Next(t, true, 300))
		return len(eRTP.RTP(ssrc)) > 0 && senderReports(eRTCP, ssrc) > 0
	})
	if n := senderReports(eRTP, ssrc); n != 0 {
		t.Fatalf("%d sender reports at the RTP port", n)
	}
	d := check[*media.TransportDump](t)(tr.Dump(ctx))
	if d.RtcpMux == nil || *d.RtcpMux || d.RtcpTuple == nil || d.RtcpTuple.RemotePort != eRTCP.Port() {
		t.Fatalf("dump rtcpMux %v rtcpTuple %+v", d.RtcpMux, d.RtcpTuple)
	}
}

// testPlainComedia: a comedia plain transport learns the remote RTP and
// RTCP addresses from the first packets ("tuple", "rtcptuple") and sends
// there.
func testPlainComedia(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	mux := false
	tr := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listenInfo(), Comedia: true, RtcpMux: &mux}))
	tuples, rtcpTuples := make(chan media.TransportTuple, 4), make(chan media.TransportTuple, 4)
	tr.OnTuple(func(x media.TransportTuple) { tuples <- x })
	tr.OnRtcpTuple(func(x media.TransportTuple) { rtcpTuples <- x })
	c := loopback(t, tr, 4321)
	ssrc := c.RtpParameters().Encodings[0].SSRC
	eRTP, eRTCP := NewEndpoint(t), NewEndpoint(t)
	snd := &VP8Sender{SSRC: 4321, PT: 101}
	eRTP.Send(tr.Tuple(), snd.Next(t, true, 300))
	select {
	case x := <-tuples:
		if x.RemoteIP != "127.0.0.1" || x.RemotePort != eRTP.Port() || x.Protocol != media.ProtocolUDP {
			t.Fatalf("tuple event %+v, endpoint port %d", x, eRTP.Port())
		}
	case <-ctx.Done():
		t.Fatal("no tuple event")
	}
	eRTCP.SendRTCP(*tr.RtcpTuple(), &rtcp.ReceiverReport{SSRC: 99})
	select {
	case x := <-rtcpTuples:
		if x.RemotePort != eRTCP.Port() {
			t.Fatalf("rtcptuple event %+v, endpoint port %d", x, eRTCP.Port())
		}
	case <-ctx.Done():
		t.Fatal("no rtcptuple event")
	}
	eventually(t, "RTP back at the learned address and a sender report at the learned RTCP address", func() bool {
		eRTP.Send(tr.Tuple(), snd.Next(t, true, 300))
		return len(eRTP.RTP(ssrc)) > 0 && senderReports(eRTCP, ssrc) > 0
	})
	eventually(t, "tuple", func() bool { return tr.Tuple().RemotePort == eRTP.Port() })
	d := check[*media.TransportDump](t)(tr.Dump(ctx))
	if d.Comedia == nil || !*d.Comedia || d.Tuple == nil || d.Tuple.RemotePort != eRTP.Port() {
		t.Fatalf("dump comedia %v tuple %+v", d.Comedia, d.Tuple)
	}
}

// srtpPeer is an endpoint's SRTP state against a plain transport.
type srtpPeer struct {
	params  media.SrtpParameters
	encrypt *srtp.Context
	decrypt *srtp.Context
}

func newSrtpPeer(t *testing.T, suite media.SrtpCryptoSuite, profile srtp.ProtectionProfile, local *media.SrtpParameters) *srtpPeer {
	t.Helper()
	kl, _ := profile.KeyLen()
	sl, _ := profile.SaltLen()
	key := make([]byte, kl+sl)
	_, _ = rand.Read(key)
	peer := &srtpPeer{params: media.SrtpParameters{CryptoSuite: suite, KeyBase64: base64.StdEncoding.EncodeToString(key)}}
	var err error
	if peer.encrypt, err = srtp.CreateContext(key[:kl], key[kl:], profile); err != nil {
		t.Fatal(err)
	}
	remote, err := base64.StdEncoding.DecodeString(local.KeyBase64)
	if err != nil || len(remote) != kl+sl {
		t.Fatalf("transport key %q", local.KeyBase64)
	}
	if peer.decrypt, err = srtp.CreateContext(remote[:kl], remote[kl:], profile); err != nil {
		t.Fatal(err)
	}
	return peer
}

// testPlainSrtp: plain transports with SRTP decrypt what their endpoint
// encrypted with its key and encrypt what they send with theirs, for the
// default crypto suite and an AEAD one; connect without the remote
// parameters fails.
func testPlainSrtp(t *testing.T, api media.API) {
	r := newRouter(t, newWorker(t, api))
	for _, tc := range []struct {
		suite   media.SrtpCryptoSuite
		profile srtp.ProtectionProfile
	}{
		{media.AESCM128HMACSHA1_80, srtp.ProtectionProfileAes128CmHmacSha1_80},
		{media.AEADAES256GCM, srtp.ProtectionProfileAeadAes256Gcm},
	} {
		t.Run(string(tc.suite), func(t *testing.T) { plainSrtp(t, r, tc.suite, tc.profile) })
	}
}

func plainSrtp(t *testing.T, r media.Router, suite media.SrtpCryptoSuite, profile srtp.ProtectionProfile) {
	ctx := ctxFor(t)
	opts := &media.PlainTransportOptions{ListenInfo: listenInfo(), EnableSrtp: true, SrtpCryptoSuite: suite}
	src, dst := NewEndpoint(t), NewEndpoint(t)
	in := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, opts))
	out := check[media.PlainTransport](t)(r.CreatePlainTransport(ctx, opts))
	if in.SrtpParameters() == nil || in.SrtpParameters().CryptoSuite != suite || in.SrtpParameters().KeyBase64 == "" {
		t.Fatalf("srtpParameters %+v", in.SrtpParameters())
	}
	srcPeer := newSrtpPeer(t, suite, profile, in.SrtpParameters())
	dstPeer := newSrtpPeer(t, suite, profile, out.SrtpParameters())
	err := in.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: src.Port()})
	wantErr(t, "connect without srtpParameters", err, media.ErrInvalidParams)
	if err := in.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: src.Port(), SrtpParameters: &srcPeer.params}); err != nil {
		t.Fatal(err)
	}
	if err := out.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: dst.Port(), SrtpParameters: &dstPeer.params}); err != nil {
		t.Fatal(err)
	}
	p := check[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(77)}))
	c := check[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	snd := &VP8Sender{SSRC: 77, PT: 101}
	var sent [][]byte
	for i := range 10 {
		b := snd.Next(t, i == 0, 500)
		sent = append(sent, b)
		enc, err := srcPeer.encrypt.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.Send(in.Tuple(), enc)
	}
	// The endpoint parses the clear RTP header; the payload is encrypted.
	eventually(t, "encrypted packets", func() bool { return len(dst.RTP(ssrc)) >= 10 })
	for i, ep := range dst.RTP(ssrc)[:10] {
		raw, err := ep.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		dec, err := dstPeer.decrypt.DecryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		var pk rtp.Packet
		if err := pk.Unmarshal(dec); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pk.Payload, sent[i][12:]) {
			t.Fatalf("packet %d differs after decryption", i)
		}
	}
	if d := check[*media.TransportDump](t)(in.Dump(ctx)); d.SrtpParameters == nil || d.SrtpParameters.CryptoSuite != suite {
		t.Fatalf("dump srtpParameters %+v", d.SrtpParameters)
	}
}
