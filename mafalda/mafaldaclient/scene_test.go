package mafaldaclient_test

import (
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediatest"
)

// sending is a comedia PlainTransport with a VP8 producer and the UDP
// endpoint that feeds it.
type sending struct {
	src      *mediatest.Endpoint
	in       media.PlainTransport
	producer media.Producer
	vp8      *mediatest.VP8Sender
}

func produce(t *testing.T, r media.Router, ssrc uint32) *sending {
	t.Helper()
	ctx := ctxT(t)
	s := &sending{src: mediatest.NewEndpoint(t), vp8: &mediatest.VP8Sender{SSRC: ssrc, PT: 101}}
	s.in = must[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback(), Comedia: true}))
	s.producer = must[media.Producer](t)(s.in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo,
		RtpParameters: mediatest.VP8Parameters(ssrc)}))
	return s
}

// send sends n packets, the first a key frame.
func (s *sending) send(t *testing.T, n int) {
	for i := range n {
		s.src.Send(s.in.Tuple(), s.vp8.Next(t, i == 0, 300))
	}
}

// receiving is a PlainTransport connected to a UDP endpoint, consuming one
// producer.
type receiving struct {
	dst      *mediatest.Endpoint
	out      media.PlainTransport
	consumer media.Consumer
}

func consume(t *testing.T, r media.Router, producerID string) *receiving {
	t.Helper()
	ctx := ctxT(t)
	c := &receiving{dst: mediatest.NewEndpoint(t)}
	c.out = must[media.PlainTransport](t)(r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: loopback()}))
	if err := c.out.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: c.dst.Port()}); err != nil {
		t.Fatal(err)
	}
	c.consumer = must[media.Consumer](t)(c.out.Consume(ctx, &media.ConsumerOptions{ProducerID: producerID,
		RtpCapabilities: mediatest.EndpointCaps()}))
	return c
}

// wait waits until n packets reached the endpoint.
func (c *receiving) wait(t *testing.T, n int) {
	t.Helper()
	ssrc := c.consumer.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "RTP at the consumer's endpoint", func() bool { return len(c.dst.RTP(ssrc)) >= n })
}

// roomOptions are the MafaldaRouterOptions of the tests.
func roomOptions() *mafalda.MafaldaRouterOptions {
	return &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{MediaCodecs: codecs}}
}
