// Command hello-go creates a worker, a router and a WebRTC transport on the
// media server of `go run ./cmd/ropeserver` (ws://127.0.0.1:8444/, or
// ROPE_URL), prints them and cleans up. mediaclient.Dial gives the same
// media.API as the in-process engine.New: swap one to go remote.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
)

func main() {
	url := os.Getenv("ROPE_URL")
	if url == "" {
		url = "ws://127.0.0.1:8444/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	api, err := mediaclient.Dial(ctx, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer api.Close()
	worker, err := api.CreateWorker(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	router, err := worker.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
	}})
	if err != nil {
		log.Fatal(err)
	}
	// No listen infos: the transport listens where the server says (-rtc-ip).
	transport, err := router.CreateWebRtcTransport(ctx, &media.WebRtcTransportOptions{EnableSctp: true})
	if err != nil {
		log.Fatal(err)
	}
	c := transport.IceCandidates()[0]
	fmt.Printf("worker pid %d\nrouter %s\nwebrtc transport %s on %s:%d\n",
		worker.PID(), router.ID(), transport.ID(), c.Address, c.Port)

	// Closing the router closes its transport. The worker closes a grace
	// period after this connection (the default server lets no client
	// close workers: -allow-worker-close).
	if err := router.Close(ctx); err != nil {
		log.Fatal(err)
	}
}
