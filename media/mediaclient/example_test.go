package mediaclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// The same application code runs on the local engine or, through one
// different constructor, on an SFU served over ROPE.
func Example() {
	ctx := context.Background()

	// The server side: the local engine served on a ROPE server.
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	ms, _ := mediaserver.Register(rs, engine.New(nil), &mediaserver.Options{Logger: quiet})
	hs := httptest.NewServer(rs)
	defer hs.Close()
	defer rs.Close()
	defer ms.Close(ctx)

	// The application: api := engine.New(nil) would run it in process.
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	c, err := mediaclient.Dial(ctx, url, &mediaclient.Options{ROPE: &ropeclient.Options{Logger: quiet}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	var api media.API = c

	w, _ := api.CreateWorker(ctx, nil)
	r, _ := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}})
	t, err := r.CreatePlainTransport(ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Tuple().LocalAddress, r.RtpCapabilities().Codecs[0].MimeType)
	// Output: 127.0.0.1 audio/opus
}
