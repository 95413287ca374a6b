package mediatest

import (
	"bytes"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/ropehq/rope/media"
)

// packets records packets handed to a listener (copies: the slices are
// valid during the call only).
type packets struct {
	mu  sync.Mutex
	got [][]byte
}

func (p *packets) add(b []byte) {
	p.mu.Lock()
	p.got = append(p.got, bytes.Clone(b))
	p.mu.Unlock()
}

func (p *packets) list() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.got...)
}

// plis counts the PLIs for ssrc among RTCP packets.
func (p *packets) plis(ssrc uint32) int {
	n := 0
	for _, b := range p.list() {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			continue
		}
		for _, x := range pkts {
			if pli, ok := x.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == ssrc {
				n++
			}
		}
	}
	return n
}

// testDirectRtp: the application injects RTP with Producer.send on a
// DirectTransport and receives it from a consumer of another
// DirectTransport ("rtp"), rewritten to the consumer's SSRC, payload
// intact; DirectTransport.sendRtcp hands a PLI to the consumer as if its
// endpoint sent it (the consumer counts it), and the producer's
// transport emits the keyframe request it causes ("rtcp"). Bad packets
// get TypeErrors.
func testDirectRtp(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	r := newRouter(t, newWorker(t, api))
	src := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	dst := check[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	const ssrc = 1111
	p := check[media.Producer](t)(src.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: VP8Parameters(ssrc)}))
	c := check[media.Consumer](t)(dst.Consume(ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: EndpointCaps()}))
	var rtpIn, rtcpOut packets
	offRtp := c.OnRtp(rtpIn.add)
	defer offRtp()
	offRtcp := src.OnRtcp(rtcpOut.add)
	defer offRtcp()

	snd := &VP8Sender{SSRC: ssrc, PT: 101}
	var sent [][]byte
	for i := 0; i < 10; i++ {
		b := snd.Next(t, i == 0, 800)
		sent = append(sent, b)
		if err := p.Send(b); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "10 RTP packets from the consumer", func() bool { return len(rtpIn.list()) >= 10 })
	cssrc := c.RtpParameters().Encodings[0].SSRC
	for i, b := range rtpIn.list()[:10] {
		var got, want rtp.Packet
		if err := got.Unmarshal(b); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if err := want.Unmarshal(sent[i]); err != nil {
			t.Fatal(err)
		}
		if got.SSRC != cssrc || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("packet %d: ssrc %d (want %d), payload equal %v", i, got.SSRC, cssrc, bytes.Equal(got.Payload, want.Payload))
		}
	}

	pli, err := (&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: cssrc}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.SendRtcp(pli); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the consumer counting the PLI", func() bool {
		s, err := c.GetStats(ctx)
		return err == nil && len(s) > 0 && s[0].PliCount >= 1
	})
	eventually(t, "a PLI for the producer's stream on its transport", func() bool { return rtcpOut.plis(ssrc) >= 1 })

	wantErr(t, "RTP beyond 1500 bytes", p.Send(snd.Next(t, false, 1600)), media.ErrInvalidParams)
	wantErr(t, "not RTP", p.Send([]byte{1, 2, 3}), media.ErrInvalidParams)
	wantErr(t, "not RTCP", dst.SendRtcp([]byte("not an RTCP packet")), media.ErrInvalidParams)
}
