package mafaldaclient_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/mafalda/mafaldaserver"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/workerproc"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// TestMain runs a media worker instead of the tests when the test binary
// was started as one (the worker-process tests use it as the program).
func TestMain(m *testing.M) {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// server is a Mafalda over the local engine, served over ROPE on a
// loopback httptest server.
type server struct {
	m   *mafalda.Mafalda
	srv *mafaldaserver.Server
	url string
}

func startServer(t testing.TB, opts *mafalda.Options) *server {
	return startServerAPI(t, engine.New(nil), opts)
}

func startServerAPI(t testing.TB, api media.API, opts *mafalda.Options) *server {
	t.Helper()
	m := mafalda.New(api, opts)
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	srv, err := mafaldaserver.Register(rs, m, &mafaldaserver.Options{Media: &mediaserver.Options{
		AllowWorkerClose: true, ListenInfo: loopback(), Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if err := m.Close(context.Background()); err != nil {
			t.Error(err)
		}
		rs.Close()
		hs.Close()
	})
	return &server{m: m, srv: srv, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/"}
}

// dial returns a Mafalda client on a dedicated connection.
func (s *server) dial(t testing.TB) *mafaldaclient.Client {
	t.Helper()
	c, err := mafaldaclient.Dial(ctxT(t), s.url, &mafaldaclient.Options{Logger: quiet,
		Media: &mediaclient.Options{Logger: quiet}, ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var codecs = []media.RtpCodecCapability{
	{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
	{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
}

func loopback() *media.TransportListenInfo {
	return &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}
}
