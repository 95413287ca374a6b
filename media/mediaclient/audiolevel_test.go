package mediaclient_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// TestAudioLevelEndToEnd: opus RTP with the audio level extension, sent
// over UDP into a remote-created producer, reaches the client as an
// AudioLevelObserver "volumes" event naming its producer. It skips while
// the engine has no observers.
func TestAudioLevelEndToEnd(t *testing.T) {
	srv := startServer(t, nil)
	api, _ := srv.dial(t, nil)
	ctx := ctxT(t)
	w := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	obs, err := r.CreateAudioLevelObserver(ctx, &media.AudioLevelObserverOptions{Interval: 250})
	if errors.Is(err, media.ErrUnsupported) {
		t.Skip("the engine has no AudioLevelObserver yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	tr := must[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback(), Comedia: true}))
	p := must[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 2}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtAudioLevel, ID: 1}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: 77}},
	}}))
	volumes := make(chan []media.AudioLevelObserverVolume, 16)
	obs.OnVolumes(func(v []media.AudioLevelObserverVolume) {
		select {
		case volumes <- v:
		default:
		}
	})
	if err := obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.ID()}); err != nil {
		t.Fatal(err)
	}
	e := mediatest.NewEndpoint(t)
	deadline := time.After(5 * time.Second)
	for seq := uint16(0); ; seq++ {
		pk := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: 77}, Payload: []byte{1, 2, 3}}
		if err := pk.SetExtension(1, []byte{0x80 | 20}); err != nil {
			t.Fatal(err)
		}
		b, _ := pk.Marshal()
		e.Send(tr.Tuple(), b)
		select {
		case v := <-volumes:
			if len(v) != 1 || v[0].Producer.ID() != p.ID() || v[0].Volume != -20 {
				t.Fatalf("volumes %+v", v)
			}
			return
		case <-deadline:
			t.Fatal("no volumes event")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
