package mafaldaclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/mafalda/mafaldaserver"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// The same room code runs on a Mafalda in process or, through one
// different constructor, on a Mafalda served over ROPE.
func Example() {
	ctx := context.Background()

	// The server side: a Mafalda over the local engine on a ROPE server.
	m := mafalda.New(engine.New(nil), nil)
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	srv, _ := mafaldaserver.Register(rs, m, &mafaldaserver.Options{Media: &mediaserver.Options{Logger: quiet}})
	hs := httptest.NewServer(rs)
	defer hs.Close()
	defer rs.Close()
	defer m.Close(ctx)
	defer srv.Close(ctx)

	// The application: svc := mafalda.Service(m) would run it in process.
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	c, err := mafaldaclient.Dial(ctx, url, &mafaldaclient.Options{Logger: quiet,
		Media: &mediaclient.Options{Logger: quiet}, ROPE: &ropeclient.Options{Logger: quiet}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	var svc mafalda.Service = c

	room, _ := svc.CreateRouter(ctx, &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{
		MediaCodecs: []media.RtpCodecCapability{{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2}}}})
	placed := make(chan mafalda.RouterInfo, 1)
	room.OnNewRouterInfo(func(ri mafalda.RouterInfo) { placed <- ri })
	t, err := room.CreatePlainTransport(ctx, &media.PlainTransportOptions{
		ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ri := <-placed
	d, _ := svc.Dump(ctx)
	fmt.Println(t.Tuple().LocalAddress, room.RtpCapabilities().Codecs[0].MimeType, ri.RouterID == d.Workers[0].Routers[0].ID)
	// Output: 127.0.0.1 audio/opus true
}
