package engine_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

func TestComediaTupleAndRtcpMuxOff(t *testing.T) {
	f := newFixture(t)
	mux := false
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{IP: lo, AnnouncedAddress: "192.0.2.1"}, Comedia: true, RtcpMux: &mux}))
	if tr.RtcpTuple() == nil || tr.Tuple().LocalAddress != "192.0.2.1" {
		t.Fatalf("tuple %+v rtcpTuple %+v", tr.Tuple(), tr.RtcpTuple())
	}
	tuples := make(chan media.TransportTuple, 1)
	tr.OnTuple(func(tt media.TransportTuple) { tuples <- tt })
	if err := tr.Connect(f.ctx, nil); err != nil {
		t.Fatal(err)
	}
	p := must[media.Producer](t)(tr.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(5)}))
	e := newEndpoint(t)
	snd := &sender{ssrc: 5, pt: 101}
	to := tr.Tuple()
	to.LocalAddress = lo
	e.send(to, snd.packet(t, true, 200))
	tt := <-tuples
	if tt.RemoteIP != lo || tt.RemotePort != e.port() || tt.Protocol != media.ProtocolUDP {
		t.Fatalf("tuple event %+v", tt)
	}
	wait.Until(t, "producer stats", func() bool {
		st, err := p.GetStats(f.ctx)
		return err == nil && st[0].PacketCount == 1
	})
	d := must[*media.TransportDump](t)(tr.Dump(f.ctx))
	if d.Comedia == nil || !*d.Comedia || d.RtcpMux == nil || *d.RtcpMux || d.Tuple.RemotePort != e.port() {
		t.Fatalf("dump %+v", d)
	}
	st := must[[]media.TransportStats](t)(tr.GetStats(f.ctx))
	if st[0].Type != "plain-rtp-transport" || st[0].RtpBytesReceived == 0 {
		t.Fatalf("stats %+v", st[0])
	}
}

type srtpPeer struct {
	params  media.SrtpParameters
	encrypt *srtp.Context
	decrypt *srtp.Context
}

// newSrtpPeer makes an endpoint's SRTP state for suite against local,
// the transport's parameters.
func newSrtpPeer(t *testing.T, suite media.SrtpCryptoSuite, profile srtp.ProtectionProfile, local *media.SrtpParameters) *srtpPeer {
	t.Helper()
	kl, _ := profile.KeyLen()
	sl, _ := profile.SaltLen()
	key := make([]byte, kl+sl)
	rand.Read(key)
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

func TestPlainSrtp(t *testing.T) {
	for _, tc := range []struct {
		suite   media.SrtpCryptoSuite
		profile srtp.ProtectionProfile
	}{
		{media.AESCM128HMACSHA1_80, srtp.ProtectionProfileAes128CmHmacSha1_80},
		{media.AESCM128HMACSHA1_32, srtp.ProtectionProfileAes128CmHmacSha1_32},
		{media.AEADAES128GCM, srtp.ProtectionProfileAeadAes128Gcm},
		{media.AEADAES256GCM, srtp.ProtectionProfileAeadAes256Gcm},
	} {
		t.Run(string(tc.suite), func(t *testing.T) { testPlainSrtp(t, tc.suite, tc.profile) })
	}
}

func testPlainSrtp(t *testing.T, suite media.SrtpCryptoSuite, profile srtp.ProtectionProfile) {
	f := newFixture(t)
	opts := &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}, EnableSrtp: true, SrtpCryptoSuite: suite}
	src, dst := newEndpoint(t), newEndpoint(t)
	in := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, opts))
	out := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, opts))
	if in.SrtpParameters() == nil || in.SrtpParameters().CryptoSuite != suite {
		t.Fatalf("srtpParameters %+v", in.SrtpParameters())
	}
	srcPeer := newSrtpPeer(t, suite, profile, in.SrtpParameters())
	dstPeer := newSrtpPeer(t, suite, profile, out.SrtpParameters())
	if err := in.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: src.port()}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("connect without srtpParameters: %v", err)
	}
	if err := in.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: src.port(), SrtpParameters: &srcPeer.params}); err != nil {
		t.Fatal(err)
	}
	if err := out.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: dst.port(), SrtpParameters: &dstPeer.params}); err != nil {
		t.Fatal(err)
	}
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(77)}))
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	snd := &sender{ssrc: 77, pt: 101}
	var sent [][]byte
	for i := 0; i < 10; i++ {
		b := snd.packet(t, i == 0, 500)
		sent = append(sent, b)
		enc, err := srcPeer.encrypt.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.send(in.Tuple(), enc)
	}
	// dst records nothing parseable as plain RTP payloads: decrypt raw.
	wait.Until(t, "consumer packets", func() bool {
		st, err := c.GetStats(f.ctx)
		return err == nil && st[0].PacketCount == 10
	})
	wait.Until(t, "encrypted packets", func() bool { return len(dst.packets()) >= 10 })
	for i, ep := range dst.packets()[:10] {
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
		if !bytes.Equal(pk.Payload, sent[i][12:]) || pk.SSRC != c.RtpParameters().Encodings[0].SSRC {
			t.Fatalf("packet %d differs", i)
		}
	}
}
