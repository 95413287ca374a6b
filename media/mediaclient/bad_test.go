package mediaclient_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/rope"
)

// TestErrorsMapBack: media errors cross the wire as ApplicationError and
// match the media sentinels again on the client, keeping the field path.
func TestErrorsMapBack(t *testing.T) {
	srv := startServer(t, nil)
	api, _ := srv.dial(t, nil)
	ctx := ctxT(t)
	w := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	r := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	tr := must[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	bad := mediatest.VP8Parameters(1)
	bad.Codecs[0].PayloadType = 300
	_, err := tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: bad})
	var re *rope.Error
	if !errors.Is(err, media.ErrInvalidParams) || !errors.As(err, &re) || re.Code != rope.CodeApplicationError ||
		re.Data.Name != media.NameTypeError || !strings.Contains(err.Error(), "rtpParameters.codecs[0]") {
		t.Fatalf("bad payload type: %v", err)
	}
	_, err = tr.Consume(ctx, &media.ConsumerOptions{ProducerID: "nope", RtpCapabilities: mediatest.EndpointCaps()})
	if !errors.Is(err, media.ErrNotFound) || media.ErrorName(err) != media.NameNotFoundError {
		t.Fatalf("unknown producer: %v", err)
	}
	// Worker.close is refused by default.
	err = w.Close(ctx)
	if !errors.As(err, &re) || re.Code != rope.CodeUnauthorized || w.Closed() {
		t.Fatalf("worker close: %v", err)
	}
	p := must[media.Producer](t)(tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(2)}))
	if err := p.Send([]byte{0x80}); !errors.Is(err, media.ErrInvalidParams) {
		t.Fatalf("Send: %v", err)
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// A closed mirror answers without asking the server.
	before := srv.rs.Seq()
	if err := p.Pause(ctx); !errors.Is(err, media.ErrClosed) || errors.As(err, &re) {
		t.Fatalf("pause closed producer: %v", err)
	}
	if err := p.Close(ctx); err != nil || srv.rs.Seq() != before {
		t.Fatalf("second close: %v", err)
	}
}

// TestBadClient: a client sending wrong types, other objects' ids,
// unknown ids, a worker close and a flood of calls gets errors while the
// server and another client's media go on.
func TestBadClient(t *testing.T) {
	srv := startServer(t, nil)
	good, _ := srv.dial(t, nil)
	s := buildScene(t, good)
	_, bad := srv.dial(t, nil)
	ctx := ctxT(t)
	wid := ropeID(s.worker)
	for _, tc := range []struct {
		name         string
		object, meth string
		params       any
		code         rope.Code
	}{
		{"wrong param type", s.router.ID(), "createPlainTransport", map[string]any{"listenInfo": "udp"}, rope.CodeInvalidParams},
		{"params not an object", s.producer.ID(), "enableTraceEvent", []int{1}, rope.CodeInvalidParams},
		{"invalid listen ip", s.router.ID(), "createPlainTransport", map[string]any{"listenInfo": map[string]any{"ip": "x"}}, rope.CodeApplicationError},
		{"router id of a producer", s.router.ID(), "pipeToRouter", map[string]any{"producerId": s.producer.ID(), "routerId": s.producer.ID()}, rope.CodeApplicationError},
		{"consumer of a consumer id", s.out.ID(), "consume", map[string]any{"producerId": s.consumer.ID(), "rtpCapabilities": mediatest.EndpointCaps()}, rope.CodeApplicationError},
		{"unknown webRtcServerId", s.router.ID(), "createWebRtcTransport", map[string]any{"webRtcServerId": "nope"}, rope.CodeApplicationError},
		{"webRtcServerId of a router", s.router.ID(), "createWebRtcTransport", map[string]any{"webRtcServerId": s.router.ID()}, rope.CodeApplicationError},
		{"webRtcServerId not a string", s.router.ID(), "createWebRtcTransport", map[string]any{"webRtcServerId": 5}, rope.CodeInvalidParams},
		{"webRtcServer without listenInfos", wid, "createWebRtcServer", map[string]any{}, rope.CodeApplicationError},
		{"webRtcServer listenInfos not a list", wid, "createWebRtcServer", map[string]any{"listenInfos": "udp"}, rope.CodeInvalidParams},
		{"unknown object", "no-such-id", "close", nil, rope.CodeObjectNotFound},
		{"unknown method", "media", "close", nil, rope.CodeUnknownMethod},
		{"method of another type", s.producer.ID(), "connect", nil, rope.CodeUnknownMethod},
		{"close the worker", wid, "close", nil, rope.CodeUnauthorized},
	} {
		var re *rope.Error
		err := bad.Call(ctx, tc.object, tc.meth, tc.params, nil)
		if !errors.As(err, &re) || re.Code != tc.code {
			t.Errorf("%s: %v, want code %d", tc.name, err, tc.code)
		}
	}
	if err := bad.Request(ctx, rope.MethodSetAppData, map[string]any{"object": s.producer.ID(), "appData": 5}, nil); !errors.Is(err, rope.ErrInvalidParams) {
		t.Errorf("setAppData non-object: %v", err)
	}
	flood(t, bad, s.router.ID())
	// The good client's objects and media are intact.
	if s.worker.Closed() || s.producer.Closed() || s.consumer.Closed() {
		t.Fatal("objects closed by the bad client")
	}
	snd := &mediatest.VP8Sender{SSRC: 1111, PT: 101}
	for i := range 5 {
		s.src.Send(s.in.Tuple(), snd.Next(t, i == 0, 300))
	}
	ssrc := s.consumer.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "media still flows", func() bool { return len(s.dst.RTP(ssrc)) == 5 })
	must[*media.RouterDump](t)(s.router.Dump(ctx))
}

// flood fires 500 concurrent calls; each is answered (maybe Overloaded).
func flood(t *testing.T, c interface {
	Call(ctx context.Context, id, method string, params, result any) error
}, routerID string) {
	ctx := ctxT(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[rope.Code]int{}
	for range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Call(ctx, routerID, "dump", nil, nil)
			var re *rope.Error
			code := rope.Code(0)
			if errors.As(err, &re) {
				code = re.Code
			} else if err != nil {
				code = -1
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("flood answers by code: %v", codes)
	if codes[-1] > 0 || codes[0]+codes[rope.CodeOverloaded] != 500 {
		t.Fatalf("flood answers by code: %v", codes)
	}
}

// TestWorkerLimit: createWorker beyond MaxWorkers is refused with -32003,
// concurrent calls included; closing a worker frees its slot.
func TestWorkerLimit(t *testing.T) {
	srv := startServer(t, &mediaserver.Options{MaxWorkers: 3, AllowWorkerClose: true})
	api, _ := srv.dial(t, nil)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	results := make(chan error, 6)
	workers := make(chan media.Worker, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := api.CreateWorker(ctx, nil)
			if err == nil {
				workers <- w
			}
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	close(workers)
	var refused int
	for err := range results {
		var re *rope.Error
		if errors.As(err, &re) && re.Code == rope.CodeInvalidState {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refused != 3 {
		t.Fatalf("%d refused, want 3", refused)
	}
	if err := (<-workers).Close(ctx); err != nil {
		t.Fatal(err)
	}
	must[media.Worker](t)(api.CreateWorker(ctx, nil))
}

type panicAPI struct{ media.API }

func (panicAPI) CreateWorker(context.Context, *media.WorkerSettings) (media.Worker, error) {
	panic("media implementation bug")
}

// TestPanicIsAnInternalError: a media implementation that panics answers
// the caller -32603 and the server goes on.
func TestPanicIsAnInternalError(t *testing.T) {
	srv := startServerAPI(t, panicAPI{engine.New(nil)})
	api, rc := srv.dial(t, nil)
	_, err := api.CreateWorker(ctxT(t), nil)
	var re *rope.Error
	if !errors.As(err, &re) || re.Code != rope.CodeInternalError || strings.Contains(err.Error(), "bug") {
		t.Fatalf("CreateWorker: %v", err)
	}
	if err := rc.Request(ctxT(t), rope.MethodPing, nil, nil); err != nil {
		t.Fatal(err)
	}
}
