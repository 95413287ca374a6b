package mediaserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ropehq/rope/internal/cuttest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// startMedia serves the local engine's media objects on loopback.
func startMedia(t *testing.T, opts *ropeserver.Options) (*ropeserver.Server, string) {
	t.Helper()
	opts.Logger = quiet
	rs := ropeserver.New(opts)
	ms, err := mediaserver.Register(rs, engine.New(nil), &mediaserver.Options{Logger: quiet,
		ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	t.Cleanup(func() {
		rs.Close()
		hs.Close()
		_ = ms.Close(context.Background())
	})
	return rs, "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

func create(t *testing.T, c *ropeclient.Client, object, method string, params any) string {
	t.Helper()
	var r rope.CreateResult
	if err := c.Call(ctxFor(t), object, method, params, &r); err != nil {
		t.Fatalf("%s.%s: %v", object, method, err)
	}
	return r.ID
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventLog records, in order, the events and the close of the objects it
// watches in a client's mirror.
type eventLog struct {
	mu  sync.Mutex
	got map[string][]string
}

func (l *eventLog) watch(o *ropeclient.Object) {
	o.OnEvent(func(event string, _ json.RawMessage) { l.add(o.ID(), event) })
	o.OnClose(func() { l.add(o.ID(), "closed") })
}

func (l *eventLog) add(id, what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got[id] = append(l.got[id], what)
}

func (l *eventLog) of(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.got[id], ",")
}

// TestLeaseClosesMediaObjects: a client whose connection drops loses the
// WebRtcTransport and the producer it created once its grace has passed,
// closed as mediasoup closes them: its producer gets "transportclose", and
// another client's consumer of it gets "producerclose", then closes. The
// other client's worker, router and transport stay.
func TestLeaseClosesMediaObjects(t *testing.T) {
	rs, url := startMedia(t, &ropeserver.Options{})
	b, err := ropeclient.Dial(ctxFor(t), url, &ropeclient.Options{Dedicated: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	worker := create(t, b, mediaserver.RootID, "createWorker", nil)
	router := create(t, b, worker, "createRouter", media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	recv := create(t, b, router, "createWebRtcTransport", nil)

	var cut cuttest.Cutter
	a, err := ropeclient.Dial(ctxFor(t), url, &ropeclient.Options{Dedicated: true, Logger: quiet, NoReconnect: true,
		HTTPClient: cut.Client(), Lease: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	send := create(t, a, router, "createWebRtcTransport", nil)
	producer := create(t, a, send, "produce", media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(1111)})
	consumer := create(t, b, recv, "consume", map[string]any{"producerId": producer, "rtpCapabilities": mediatest.EndpointCaps()})

	log := &eventLog{got: map[string][]string{}}
	for _, id := range []string{producer, consumer, send} {
		o, ok := b.Object(id)
		if !ok {
			t.Fatalf("%s not in B's mirror", id)
		}
		log.watch(o)
	}
	cut.Cut() // A's TCP connection drops, no close frame
	wait.Until(t, "the consumer closes", func() bool { return strings.HasSuffix(log.of(consumer), "closed") })
	wait.Until(t, "the transport closes", func() bool { return strings.HasSuffix(log.of(send), "closed") })
	if got := log.of(consumer); got != "producerclose,closed" {
		t.Errorf("B's consumer saw %q, want producerclose,closed", got)
	}
	if got := log.of(producer); got != "transportclose,closed" {
		t.Errorf("A's producer saw %q, want transportclose,closed", got)
	}
	for _, id := range []string{worker, router, recv} {
		if o, ok := rs.Object(id); !ok || o.Closed() {
			t.Errorf("B's %s closed", id)
		}
	}
}

// TestMediaSessionObjectLimit: past MaxSessionObjects a creating media
// call answers -32005 and creates no media object.
func TestMediaSessionObjectLimit(t *testing.T) {
	rs, url := startMedia(t, &ropeserver.Options{MaxSessionObjects: 2})
	c, err := ropeclient.Dial(ctxFor(t), url, &ropeclient.Options{Dedicated: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	worker := create(t, c, mediaserver.RootID, "createWorker", nil)
	router := create(t, c, worker, "createRouter", media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	seq := rs.Seq()
	err = c.Call(ctxFor(t), router, "createWebRtcTransport", nil, nil)
	if !errors.Is(err, rope.ErrOverloaded) {
		t.Fatalf("third object: %v, want -32005", err)
	}
	if rs.Seq() != seq {
		t.Errorf("the refused call changed state (seq %d -> %d)", seq, rs.Seq())
	}
}
