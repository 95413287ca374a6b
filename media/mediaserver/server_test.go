package mediaserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestWireError(t *testing.T) {
	app := func(name, code string) func(*rope.Error) bool {
		return func(e *rope.Error) bool {
			var d mediaserver.ErrorDetail
			_ = json.Unmarshal(e.Data.Detail, &d)
			return e.Code == rope.CodeApplicationError && e.Data.Name == name && d.Code == code
		}
	}
	for _, tc := range []struct {
		err  error
		want func(*rope.Error) bool
	}{
		{fmt.Errorf("x: %w", &media.ParamError{Field: "rtpParameters.codecs[0].payloadType", Reason: "bad"}), func(e *rope.Error) bool {
			return app(media.NameTypeError, media.CodeInvalidParams)(e) && strings.Contains(e.Message, "rtpParameters.codecs[0].payloadType: bad")
		}},
		{media.NewError(media.ErrClosed, "gone"), app(media.NameInvalidStateError, media.CodeClosed)},
		{fmt.Errorf("wrapped: %w", media.ErrUnsupported), app(media.NameUnsupportedError, media.CodeUnsupported)},
		{rope.NewError(rope.CodeUnauthorized, "no"), func(e *rope.Error) bool { return e.Code == rope.CodeUnauthorized }},
	} {
		var re *rope.Error
		if err := mediaserver.WireError(tc.err); !errors.As(err, &re) || !tc.want(re) {
			t.Errorf("%v -> %+v", tc.err, re)
		}
	}
	plain := errors.New("internal")
	if err := mediaserver.WireError(plain); err != plain {
		t.Errorf("plain error became %v", err)
	}
}

// What a media error wraps after itself (an OS error) and the text of an
// internal error from a server behind this one (a worker process) do not
// go out; a socket failure without a media error is a TypeError.
func TestWireErrorKeepsInternalTextIn(t *testing.T) {
	osErr := &net.OpError{Op: "listen", Net: "udp4", Err: &os.SyscallError{Syscall: "bind", Err: syscall.EADDRINUSE}}
	for _, tc := range []struct {
		err        error
		name, text string
	}{
		{fmt.Errorf("createPlainTransport: %w: %w", &media.ParamError{Field: "listenInfo", Reason: "no free port in range"}, osErr),
			media.NameTypeError, "createPlainTransport: listenInfo: no free port in range"},
		{fmt.Errorf("%w: %w", media.NewError(media.ErrClosed, "worker process 7 gone"), errors.New("open /proc/7/stat: no such file")),
			media.NameInvalidStateError, "worker process 7 gone"},
		{fmt.Errorf("listen: %w", osErr), media.NameTypeError, "address in use"},
		{fmt.Errorf("listen: %w", &net.OpError{Op: "listen", Net: "udp4", Err: &os.SyscallError{Syscall: "bind", Err: syscall.EADDRNOTAVAIL}}),
			media.NameTypeError, "ip is not an address of this host"},
	} {
		var re *rope.Error
		if err := mediaserver.WireError(tc.err); !errors.As(err, &re) || re.Data.Name != tc.name || re.Message != tc.text {
			t.Errorf("%v -> %+v, want %s %q", tc.err, re, tc.name, tc.text)
		}
	}
	// A file the server cannot read is no socket: an internal error.
	denied := fmt.Errorf("dtls certificate: %w", &os.PathError{Op: "open", Path: "/etc/x", Err: syscall.EACCES})
	if err := mediaserver.WireError(denied); err != denied {
		t.Errorf("%v became %v", denied, err)
	}
	child := rope.NewError(rope.CodeInternalError, "udpio: listen 127.0.0.1:40000: bind: address already in use")
	err := mediaserver.WireError(fmt.Errorf("mediaclient: Router.createPlainTransport: %w", child))
	var re *rope.Error
	if errors.As(err, &re) {
		t.Fatalf("an internal error from behind goes out as %+v", re)
	}
	if err == nil || !strings.Contains(err.Error(), "bind") {
		t.Fatalf("internal error %v lost its text for the log", err)
	}
}

// TestObjectsCreatedLocallyAppear: objects the application creates itself
// (a worker given to AddWorker, routers, transports, PipeToRouter's pipe
// objects) become ROPE objects in the right place, and close with the
// media objects.
func TestObjectsCreatedLocallyAppear(t *testing.T) {
	ctx := context.Background()
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	defer rs.Close()
	ms, err := mediaserver.Register(rs, engine.New(nil), &mediaserver.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close(ctx)
	w, err := engine.New(nil).CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	wid, err := ms.AddWorker(w)
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	r2, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()})
	tr, _ := r1.CreateDirectTransport(ctx, nil)
	p, err := tr.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(7)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r1.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: p.ID(), Router: r2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{wid: mediaserver.TypeWorker, r1.ID(): mediaserver.TypeRouter, tr.ID(): mediaserver.TypeDirectTransport,
		p.ID(): mediaserver.TypeProducer, res.PipeConsumer.ID(): mediaserver.TypeConsumer}
	for id, typ := range want {
		if o, ok := rs.Object(id); !ok || o.Type() != typ {
			t.Errorf("object %s: %v, want a %s", id, o, typ)
		}
	}
	pipeID, ok := ms.ObjectID(res.PipeProducer)
	o, _ := rs.Object(pipeID)
	if !ok || pipeID == p.ID() || !strings.HasPrefix(pipeID, p.ID()+"@") || o == nil || string(o.Prop("id")) != `"`+p.ID()+`"` {
		t.Fatalf("pipe producer ROPE id %q", pipeID)
	}
	if o.Parent().Parent().ID() != r2.ID() {
		t.Fatalf("pipe producer under %s", o.Parent().Parent().ID())
	}
	pObj, _ := rs.Object(p.ID())
	if err := r1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// As in mediasoup, the pipe producer closes with its pipe consumer.
	if !pObj.Closed() || !o.Closed() {
		t.Fatalf("after closing r1: producer closed %v, pipe producer closed %v", pObj.Closed(), o.Closed())
	}
}
