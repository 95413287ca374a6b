package engine_test

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

func opusProducer(t *testing.T, tr media.Transport, ssrc uint32) media.Producer {
	t.Helper()
	return must[media.Producer](t)(tr.Produce(t.Context(), &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{{MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 2}},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{{URI: media.ExtAudioLevel, ID: 1}},
		Encodings:        []media.RtpEncodingParameters{{SSRC: ssrc}},
	}}))
}

// sendLevels sends n opus packets carrying audio level -dBov.
func sendLevels(t *testing.T, p media.Producer, ssrc uint32, seq *uint16, n int, level byte) {
	t.Helper()
	for i := 0; i < n; i++ {
		pk := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: *seq, SSRC: ssrc}, Payload: []byte{1, 2, 3}}
		*seq++
		if err := pk.SetExtension(1, []byte{0x80 | level}); err != nil {
			t.Fatal(err)
		}
		b, _ := pk.Marshal()
		if err := p.Send(b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAudioLevelObserver(t *testing.T) {
	f := newFixture(t)
	tr := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	p := opusProducer(t, tr, 50)
	obs := must[media.AudioLevelObserver](t)(f.router.CreateAudioLevelObserver(f.ctx, &media.AudioLevelObserverOptions{Interval: 250}))
	volumes := make(chan []media.AudioLevelObserverVolume, 8)
	silence := make(chan struct{}, 8)
	obs.OnVolumes(func(v []media.AudioLevelObserverVolume) { trySend(volumes, v) })
	obs.OnSilence(func() { trySend(silence, struct{}{}) })
	if err := obs.AddProducer(f.ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.ID()}); err != nil {
		t.Fatal(err)
	}
	if err := obs.AddProducer(f.ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: "nope"}); !isErr(err, media.ErrNotFound) {
		t.Fatalf("unknown producer: %v", err)
	}
	var seq uint16
	sendLevels(t, p, 50, &seq, 10, 20)
	recvUntil(t, "volumes", volumes, func(v []media.AudioLevelObserverVolume) bool {
		return len(v) == 1 && v[0].Producer.ID() == p.ID() && v[0].Volume == -20
	})
	recvUntil(t, "silence", silence, func(struct{}) bool { return true })
	d := must[*media.RouterDump](t)(f.router.Dump(f.ctx))
	if len(d.RtpObserverIDs) != 1 || len(d.MapProducerIDObserverIDs[0].Values) != 1 {
		t.Fatalf("dump %+v", d)
	}
	closed := make(chan struct{})
	obs.OnRouterClose(func() { close(closed) })
	f.router.Close(f.ctx)
	<-closed
}

func TestActiveSpeakerObserver(t *testing.T) {
	f := newFixture(t)
	tr := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	quiet, loud := opusProducer(t, tr, 60), opusProducer(t, tr, 61)
	obs := must[media.ActiveSpeakerObserver](t)(f.router.CreateActiveSpeakerObserver(f.ctx, &media.ActiveSpeakerObserverOptions{Interval: 100}))
	dominant := make(chan media.Producer, 8)
	obs.OnDominantSpeaker(func(p media.Producer) { trySend(dominant, p) })
	for _, p := range []media.Producer{quiet, loud} {
		if err := obs.AddProducer(f.ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.ID()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := obs.AddProducer(f.ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: loud.ID()}); !isErr(err, media.ErrDuplicateID) {
		t.Fatalf("adding a producer twice: %v", err)
	}
	// Both send background noise (level 100), which sets their noise
	// floors; then loud speaks (level 10, with a pause every tenth
	// packet) while quiet stays at the noise, a packet each per 20 ms,
	// until loud is elected (mediasoup's identification needs sustained
	// speech, and levels that stop count as silence after 40 ms).
	var s1, s2 uint16
	sendLevels(t, quiet, 60, &s1, 5, 100)
	sendLevels(t, loud, 61, &s2, 5, 100)
	speakUntilElected(t, dominant, loud, func(i int) {
		sendLevels(t, quiet, 60, &s1, 1, 100)
		level := byte(10)
		if i%10 == 9 {
			level = 100
		}
		sendLevels(t, loud, 61, &s2, 1, level)
	})
	if err := obs.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
}

// speakUntilElected calls speak with 0, 1, ... every 20 ms until want is
// elected (a deadline fails the test).
func speakUntilElected(t *testing.T, dominant <-chan media.Producer, want media.Producer, speak func(i int)) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for i := 0; ; i++ {
		speak(i)
		select {
		case p := <-dominant:
			if p.ID() == want.ID() {
				return
			}
		case <-time.After(20 * time.Millisecond): // packet pacing
		case <-deadline:
			t.Fatalf("%s not elected", want.ID())
		}
	}
}
