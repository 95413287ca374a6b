package mafaldaserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaserver"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var codecs = []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start serves a Mafalda over the engine and returns it, its server and
// a raw ROPE client.
func start(t *testing.T) (*mafalda.Mafalda, *mafaldaserver.Server, *ropeclient.Client) {
	t.Helper()
	m := mafalda.New(engine.New(nil), nil)
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	srv, err := mafaldaserver.Register(rs, m, &mafaldaserver.Options{Media: &mediaserver.Options{Logger: quiet,
		ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	t.Cleanup(func() {
		srv.Close(context.Background())
		m.Close(context.Background())
		rs.Close()
		hs.Close()
	})
	rc, err := ropeclient.Dial(ctxT(t), "ws"+strings.TrimPrefix(hs.URL, "http")+"/", &ropeclient.Options{Logger: quiet, Dedicated: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return m, srv, rc
}

// TestNoWorkerOnTheWire: the error of a placement without worker is an
// ApplicationError named InvalidStateError whose detail carries the media
// code and the reason "no_worker" (spec/mafalda-v1.md §5).
func TestNoWorkerOnTheWire(t *testing.T) {
	_, _, rc := start(t)
	var res rope.CreateResult
	err := rc.Call(ctxT(t), mafaldaserver.RootID, "createMafaldaRouter", map[string]any{"maxWorkers": 0,
		"routerOptions": media.RouterOptions{MediaCodecs: codecs}}, &res)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := rc.Object(res.ID); !ok || o.Type() != mafaldaserver.TypeMafaldaRouter || o.ParentID() != mafaldaserver.RootID {
		t.Fatalf("object %s: %v", res.ID, o)
	}
	err = rc.Call(ctxT(t), res.ID, "createPlainTransport", map[string]any{}, nil)
	var re *rope.Error
	if !errors.As(err, &re) || re.Code != rope.CodeApplicationError || re.Data.Name != media.NameInvalidStateError {
		t.Fatalf("err %v", err)
	}
	var d mediaserver.ExtendedErrorDetail
	if json.Unmarshal(re.Data.Detail, &d) != nil || d != (mediaserver.ExtendedErrorDetail{Code: media.CodeInvalidState, Reason: mafaldaserver.ReasonNoWorker}) {
		t.Fatalf("detail %s", re.Data.Detail)
	}
	// A plain media error keeps mediaserver's detail.
	err = rc.Call(ctxT(t), res.ID, "pipeToRouter", map[string]any{"producerId": "nope", "routerId": res.ID}, nil)
	if !errors.As(err, &re) || string(re.Data.Detail) != `{"code":"not_found"}` {
		t.Fatalf("err %v", err)
	}
}

// TestCloseKeepsApplicationRouters: Close closes the MafaldaRouters clients
// created, not those the application added; the Mafalda stays open.
func TestCloseKeepsApplicationRouters(t *testing.T) {
	m, srv, rc := start(t)
	own, err := m.CreateMafaldaRouter(ctxT(t), &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{MediaCodecs: codecs}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := srv.AddMafaldaRouter(own)
	if err != nil || id != own.ID() {
		t.Fatalf("AddMafaldaRouter: %s %v", id, err)
	}
	var res rope.CreateResult
	if err := rc.Call(ctxT(t), mafaldaserver.RootID, "createMafaldaRouter", map[string]any{}, &res); err != nil {
		t.Fatal(err)
	}
	theirs, ok := m.GetMafaldaRouter(res.ID)
	if !ok {
		t.Fatal("no client MafaldaRouter in the Mafalda")
	}
	if err := srv.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if !theirs.Closed() || own.Closed() {
		t.Fatalf("after Close: client's closed %v, application's closed %v", theirs.Closed(), own.Closed())
	}
	if _, err := m.CreateMafaldaRouter(ctxT(t), nil); err != nil {
		t.Fatalf("Mafalda closed with the server: %v", err)
	}
}

// TestWebRtcServerOptionsOnTheWire: webRtcServerOptions travel in
// createMafaldaRouter's options, and a createWebRtcTransport without
// listenInfos uses the worker's WebRtcServer, not the server's default
// ListenInfo: its candidate is on the fixed port.
func TestWebRtcServerOptionsOnTheWire(t *testing.T) {
	_, _, rc := start(t)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	var res rope.CreateResult
	err = rc.Call(ctxT(t), mafaldaserver.RootID, "createMafaldaRouter", map[string]any{
		"routerOptions":       media.RouterOptions{MediaCodecs: codecs},
		"webRtcServerOptions": map[string]any{"listenInfos": []any{map[string]any{"protocol": "udp", "ip": "127.0.0.1", "port": port}}},
	}, &res)
	if err != nil {
		t.Fatal(err)
	}
	var tr rope.CreateResult
	if err := rc.Call(ctxT(t), res.ID, "createWebRtcTransport", map[string]any{}, &tr); err != nil {
		t.Fatal(err)
	}
	o, ok := rc.Object(tr.ID)
	if !ok {
		t.Fatalf("no transport %s", tr.ID)
	}
	var cands []media.IceCandidate
	if err := o.DecodeProp("iceCandidates", &cands); err != nil {
		t.Fatal(err)
	}
	if len(cands) != 1 || cands[0].Port != port {
		t.Fatalf("candidates %+v, want port %d", cands, port)
	}
}

var _ mediaserver.WebRtcListenChooser = (*mafalda.MafaldaRouter)(nil)
