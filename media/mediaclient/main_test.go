package mediaclient_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// server is an engine served over ROPE on a loopback httptest server.
type server struct {
	rs    *ropeserver.Server
	media *mediaserver.Server
	url   string
}

func startServer(t testing.TB, opts *mediaserver.Options) *server {
	return startServerWith(t, opts, nil)
}

func startServerAPI(t testing.TB, api media.API) *server {
	return startServerFull(t, api, nil, nil)
}

func startServerWith(t testing.TB, opts *mediaserver.Options, ropts *ropeserver.Options) *server {
	return startServerFull(t, engine.New(nil), opts, ropts)
}

func startServerFull(t testing.TB, api media.API, opts *mediaserver.Options, ropts *ropeserver.Options) *server {
	t.Helper()
	if opts == nil {
		opts = &mediaserver.Options{}
	}
	if ropts == nil {
		ropts = &ropeserver.Options{}
	}
	opts.Logger, ropts.Logger = quiet, quiet
	rs := ropeserver.New(ropts)
	ms, err := mediaserver.Register(rs, api, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	t.Cleanup(func() {
		ms.Close(context.Background())
		rs.Close()
		hs.Close()
	})
	return &server{rs: rs, media: ms, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/"}
}

// dial returns a media client on a dedicated connection.
func (s *server) dial(t testing.TB, opts *ropeclient.Options) (*mediaclient.Client, *ropeclient.Client) {
	t.Helper()
	if opts == nil {
		opts = &ropeclient.Options{}
	}
	opts.Logger, opts.Dedicated = quiet, true
	rc, err := ropeclient.Dial(ctxT(t), s.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return mediaclient.New(rc, &mediaclient.Options{Logger: quiet}), rc
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
