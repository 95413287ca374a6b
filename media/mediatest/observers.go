package mediatest

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ropehq/rope/media"
)

// audioLevelID is the header extension id of ssrc-audio-level in the
// suite's audio producers.
const audioLevelID = 1

// opusSpeaker sends opus packets with an audio level from an endpoint
// to a producer on a plain transport.
type opusSpeaker struct {
	e        *Endpoint
	tr       media.PlainTransport
	producer media.Producer
	ssrc     uint32
	seq      uint16
}

// newSpeaker makes an audio producer that announces ssrc-audio-level on
// a plain transport connected to a new endpoint.
func newSpeaker(t *testing.T, r media.Router, ssrc uint32) *opusSpeaker {
	t.Helper()
	e := NewEndpoint(t)
	tr := connectedPlain(t, r, e)
	params := OpusParameters(ssrc)
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtAudioLevel, ID: audioLevelID}}
	p := check[media.Producer](t)(tr.Produce(ctxFor(t), &media.ProducerOptions{Kind: media.KindAudio, RtpParameters: params}))
	return &opusSpeaker{e: e, tr: tr, producer: p, ssrc: ssrc}
}

// say sends n packets at level -dBov (voice activity set).
func (s *opusSpeaker) say(t *testing.T, n int, level byte) {
	t.Helper()
	for range n {
		pk := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: s.seq, Timestamp: uint32(s.seq) * 960, SSRC: s.ssrc},
			Payload: []byte{0xfc, 1, 2, 3}}
		s.seq++
		if err := pk.SetExtension(audioLevelID, []byte{0x80 | level}); err != nil {
			t.Fatal(err)
		}
		b, err := pk.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		s.e.Send(s.tr.Tuple(), b)
	}
}

// testAudioLevelObserver: an AudioLevelObserver reports the level its
// producer's packets carry ("volumes", naming the producer) and
// "silence" once they stop; addProducer, removeProducer, pause and resume
// emit their observer events; the router dump maps the producer to it;
// an unknown producer is refused; the router's close closes it
// ("routerclose").
func testAudioLevelObserver(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	s := newSpeaker(t, r, 5050)
	threshold := -70
	obs := check[media.AudioLevelObserver](t)(r.CreateAudioLevelObserver(ctx, &media.AudioLevelObserverOptions{
		MaxEntries: 2, Threshold: &threshold, Interval: 250, AppData: media.AppData{"o": 1}}))
	if obs.Paused() || obs.Closed() || obs.AppData()["o"] != 1 {
		t.Fatalf("observer paused %v closed %v appData %v", obs.Paused(), obs.Closed(), obs.AppData())
	}
	added, removed := newObjects(), newObjects()
	obs.OnAddProducer(func(p media.Producer) { added.add(p) })
	obs.OnRemoveProducer(func(p media.Producer) { removed.add(p) })
	volumes := make(chan []media.AudioLevelObserverVolume, 64)
	silence := newFlag()
	obs.OnVolumes(func(v []media.AudioLevelObserverVolume) {
		select {
		case volumes <- v:
		default:
		}
	})
	obs.OnSilence(silence.set)
	if err := obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: s.producer.ID()}); err != nil {
		t.Fatal(err)
	}
	added.next(t, "addproducer", s.producer.ID())
	wantErr(t, "addProducer of an unknown producer",
		obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: "unknown"}), media.ErrNotFound)
	rd := check[*media.RouterDump](t)(r.Dump(ctx))
	if len(rd.RtpObserverIDs) != 1 || rd.RtpObserverIDs[0] != obs.ID() || len(rd.MapProducerIDObserverIDs) != 1 ||
		rd.MapProducerIDObserverIDs[0].Key != s.producer.ID() {
		t.Fatalf("router dump observers %v map %+v", rd.RtpObserverIDs, rd.MapProducerIDObserverIDs)
	}

	var got []media.AudioLevelObserverVolume
	eventually(t, "volumes at -20 dBov", func() bool {
		s.say(t, 5, 20)
		time.Sleep(10 * time.Millisecond)
		for {
			select {
			case v := <-volumes:
				if len(v) == 1 && v[0].Volume == -20 {
					got = v
				}
				continue
			default:
			}
			return got != nil
		}
	})
	if got[0].Producer == nil || !identical(got[0].Producer, s.producer) {
		t.Fatalf("volumes name %T %v, want the producer %T %p (%s)", got[0].Producer, got[0].Producer, s.producer, s.producer, s.producer.ID())
	}
	silence.wait(t, "silence once the speaker stopped")

	paused, resumed := newFlag(), newFlag()
	obs.OnPause(paused.set)
	obs.OnResume(resumed.set)
	if err := obs.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "observer paused", obs.Paused())
	paused.wait(t, "observer pause")
	eventually(t, "Paused", obs.Paused)
	if err := obs.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "observer not paused", !obs.Paused())
	resumed.wait(t, "observer resume")
	eventually(t, "not Paused", func() bool { return !obs.Paused() })
	if err := obs.RemoveProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: s.producer.ID()}); err != nil {
		t.Fatal(err)
	}
	removed.next(t, "removeproducer", s.producer.ID())
	if d := check[*media.RouterDump](t)(r.Dump(ctx)); len(d.MapProducerIDObserverIDs) != 0 && len(d.MapProducerIDObserverIDs[0].Values) != 0 {
		t.Fatalf("removed producer still mapped: %+v", d.MapProducerIDObserverIDs)
	}

	routerClosed, closed := newFlag(), newFlag()
	obs.OnRouterClose(routerClosed.set)
	obs.OnClose(closed.set)
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	routerClosed.wait(t, "observer routerclose")
	closed.wait(t, "observer close")
	eventually(t, "observer closed", obs.Closed)
}

// testActiveSpeakerObserver: the only speaker of an
// ActiveSpeakerObserver becomes the dominant speaker.
func testActiveSpeakerObserver(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	s := newSpeaker(t, r, 6060)
	obs := check[media.ActiveSpeakerObserver](t)(r.CreateActiveSpeakerObserver(ctx, &media.ActiveSpeakerObserverOptions{Interval: 100}))
	dominant := make(chan media.Producer, 16)
	obs.OnDominantSpeaker(func(p media.Producer) {
		select {
		case dominant <- p:
		default:
		}
	})
	if err := obs.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: s.producer.ID()}); err != nil {
		t.Fatal(err)
	}
	var got media.Producer
	eventually(t, "dominantspeaker", func() bool {
		s.say(t, 5, 10)
		time.Sleep(20 * time.Millisecond)
		select {
		case got = <-dominant:
			return true
		default:
			return false
		}
	})
	if got == nil || !identical(got, s.producer) {
		t.Fatalf("dominantspeaker %T %v, want the producer %T %p (%s)", got, got, s.producer, s.producer, s.producer.ID())
	}
	if err := obs.Close(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "closed", obs.Closed)
}
