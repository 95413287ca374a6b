package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ropehq/rope/media"
)

// A Spec is a topology every forwarder builds the same way: our engine
// here (build), mediasoup in mediasoup.mjs. It travels as one JSON line
// on a forwarder child's stdin.
type Spec struct {
	// SenderPort is the generator's one sending socket: every producer
	// transport connects to it (comedia off), so the forwarder accepts
	// what it sends.
	SenderPort uint16 `json:"senderPort"`
	// Producers lists the producer transports; producer indexes in
	// Consumers count across all of them in order.
	Producers []ProducerTransport `json:"producers"`
	// Consumers lists the consumer transports.
	Consumers []ConsumerTransport `json:"consumers"`
}

// ProducerTransport is one plain transport carrying one or more producers.
type ProducerTransport struct {
	Streams []Stream `json:"streams"`
}

// Stream is one producer: its kind, SSRC, payload type and the
// generator's rate and payload size for it.
type Stream struct {
	Kind        string  `json:"kind"` // "audio" (opus) or "video" (VP8)
	SSRC        uint32  `json:"ssrc"`
	PayloadType uint8   `json:"payloadType"`
	Rate        float64 `json:"rate"` // packets/s
	Size        int     `json:"size"` // payload bytes
}

// ConsumerTransport is one plain transport connected to a receiver port,
// consuming the producers listed by index.
type ConsumerTransport struct {
	Port    uint16 `json:"port"`
	Consume []int  `json:"consume"`
}

// Built is a forwarder's answer: the process that forwards and the local
// port of each producer transport, in Spec order.
type Built struct {
	PID   int      `json:"pid"`
	Ports []uint16 `json:"ports"`
}

// Topology is a row's shape: fan-out (one producer, N consumers) or
// conference (R rooms of 4).
type Topology struct {
	Name   string
	Fanout int // consumers of the one producer; 0 for a conference
	Rooms  int // rooms of 4; 0 for fan-out
	Rate   float64
}

const (
	audioPT   = 100
	videoPT   = 101
	roomSize  = 4
	audioRate = 50
	videoRate = 100
	audioSize = 160
	videoSize = 1000
)

// String names the row: "1→10" or "10 rooms of 4".
func (t Topology) String() string {
	if t.Rooms == 1 {
		return fmt.Sprintf("1 room of %d", roomSize)
	}
	if t.Rooms > 0 {
		return fmt.Sprintf("%d rooms of %d", t.Rooms, roomSize)
	}
	return fmt.Sprintf("1→%d", t.Fanout)
}

// OfferedRate is packets/s the generator sends.
func (t Topology) OfferedRate() float64 {
	if t.Rooms > 0 {
		return float64(t.Rooms*roomSize) * (audioRate + videoRate)
	}
	return t.Rate
}

// ForwardedRate is packets/s the forwarder sends when all arrive: each
// packet to every consumer of its stream.
func (t Topology) ForwardedRate() float64 {
	if t.Rooms > 0 {
		return t.OfferedRate() * (roomSize - 1)
	}
	return t.Rate * float64(t.Fanout)
}

// spec lays the topology out over the receivers' ports (round robin).
func (t Topology) spec(sender uint16, receivers []uint16) Spec {
	s := Spec{SenderPort: sender}
	port := func(i int) uint16 { return receivers[i%len(receivers)] }
	if t.Rooms == 0 {
		s.Producers = []ProducerTransport{{Streams: []Stream{{Kind: "video", SSRC: 1000, PayloadType: videoPT, Rate: t.Rate, Size: videoSize}}}}
		for i := 0; i < t.Fanout; i++ {
			s.Consumers = append(s.Consumers, ConsumerTransport{Port: port(i), Consume: []int{0}})
		}
		return s
	}
	for r := 0; r < t.Rooms; r++ {
		for p := 0; p < roomSize; p++ {
			person := r*roomSize + p
			s.Producers = append(s.Producers, ProducerTransport{Streams: []Stream{
				{Kind: "audio", SSRC: uint32(10000 + 2*person), PayloadType: audioPT, Rate: audioRate, Size: audioSize},
				{Kind: "video", SSRC: uint32(10001 + 2*person), PayloadType: videoPT, Rate: videoRate, Size: videoSize},
			}})
		}
		for p := 0; p < roomSize; p++ {
			ct := ConsumerTransport{Port: port(r*roomSize + p)}
			for o := 0; o < roomSize; o++ {
				if o != p {
					other := r*roomSize + o
					ct.Consume = append(ct.Consume, 2*other, 2*other+1)
				}
			}
			s.Consumers = append(s.Consumers, ct)
		}
	}
	return s
}

// fanoutOf is how many receivers get each packet of the stream at index
// i: the forwarded packets expected per sent packet.
func (s Spec) fanoutOf() []int {
	n := 0
	for _, p := range s.Producers {
		n += len(p.Streams)
	}
	f := make([]int, n)
	for _, c := range s.Consumers {
		for _, i := range c.Consume {
			f[i]++
		}
	}
	return f
}

var routerCodecs = []media.RtpCodecCapability{
	{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
	{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000},
}

var videoFeedback = []media.RtcpFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}

// build lays spec out on a new worker of api (one router) and returns the
// producer transports' ports. The worker is the caller's to close.
func build(ctx context.Context, api media.API, spec Spec) (media.Worker, []uint16, error) {
	w, err := api.CreateWorker(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("create worker: %w", err)
	}
	ports, err := buildOn(ctx, w, spec)
	if err != nil {
		_ = w.Close(ctx)
		return nil, nil, err
	}
	return w, ports, nil
}

func buildOn(ctx context.Context, w media.Worker, spec Spec) ([]uint16, error) {
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: routerCodecs})
	if err != nil {
		return nil, fmt.Errorf("create router: %w", err)
	}
	listen := &media.TransportListenInfo{IP: "127.0.0.1"}
	var ids []string
	var ports []uint16
	for _, pt := range spec.Producers {
		t, err := r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listen})
		if err != nil {
			return nil, fmt.Errorf("create producer transport: %w", err)
		}
		if err := t.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: spec.SenderPort}); err != nil {
			return nil, fmt.Errorf("connect producer transport: %w", err)
		}
		ports = append(ports, t.Tuple().LocalPort)
		for _, s := range pt.Streams {
			p, err := t.Produce(ctx, &media.ProducerOptions{Kind: media.MediaKind(s.Kind), RtpParameters: producerParams(s)})
			if err != nil {
				return nil, fmt.Errorf("produce %s: %w", s.Kind, err)
			}
			ids = append(ids, p.ID())
		}
	}
	caps := consumerCaps(r.RtpCapabilities())
	for _, ct := range spec.Consumers {
		t, err := r.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: listen})
		if err != nil {
			return nil, fmt.Errorf("create consumer transport: %w", err)
		}
		if err := t.Connect(ctx, &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: ct.Port}); err != nil {
			return nil, fmt.Errorf("connect consumer transport: %w", err)
		}
		for _, i := range ct.Consume {
			if i < 0 || i >= len(ids) {
				return nil, fmt.Errorf("consume producer %d: out of range", i)
			}
			if _, err := t.Consume(ctx, &media.ConsumerOptions{ProducerID: ids[i], RtpCapabilities: caps}); err != nil {
				return nil, fmt.Errorf("consume: %w", err)
			}
		}
	}
	return ports, nil
}

func producerParams(s Stream) media.RtpParameters {
	c := media.RtpCodecParameters{MimeType: "video/VP8", PayloadType: int(s.PayloadType), ClockRate: 90000, RtcpFeedback: videoFeedback}
	if s.Kind == "audio" {
		c = media.RtpCodecParameters{MimeType: "audio/opus", PayloadType: int(s.PayloadType), ClockRate: 48000, Channels: 2}
	}
	return media.RtpParameters{
		Codecs:    []media.RtpCodecParameters{c},
		Encodings: []media.RtpEncodingParameters{{SSRC: s.SSRC}},
		Rtcp:      media.RtcpParameters{CNAME: fmt.Sprintf("bench-%d", s.SSRC)},
	}
}

// consumerCaps are the router's capabilities without RTX and header
// extensions: the receivers are plain sinks (mediasoup.mjs does the same).
func consumerCaps(rc media.RtpCapabilities) *media.RtpCapabilities {
	caps := &media.RtpCapabilities{}
	for _, c := range rc.Codecs {
		if !strings.HasSuffix(strings.ToLower(c.MimeType), "/rtx") {
			caps.Codecs = append(caps.Codecs, c)
		}
	}
	return caps
}
