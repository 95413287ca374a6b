package mediatest

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/ropehq/rope/media"
)

// keyFrameRequests counts the PLIs and FIRs e received for ssrc.
func keyFrameRequests(e *Endpoint, ssrc uint32) int {
	n := 0
	for _, p := range e.RTCP() {
		switch x := p.(type) {
		case *rtcp.PictureLossIndication:
			if x.MediaSSRC == ssrc {
				n++
			}
		case *rtcp.FullIntraRequest:
			for _, f := range x.FIR {
				if f.SSRC == ssrc {
					n++
				}
			}
		}
	}
	return n
}

// testConsumerControls: setPriority and unsetPriority change priority
// (and refuse 0), requestKeyFrame reaches the producing endpoint as a
// PLI or FIR, and getStats gives the consumer's outbound stream followed
// by the producer's inbound one.
func testConsumerControls(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	c := p.consumer
	if c.Priority() != 1 {
		t.Fatalf("priority %d, want 1", c.Priority())
	}
	if err := c.SetPriority(ctx, 5); err != nil {
		t.Fatal(err)
	}
	returned(t, "priority 5", c.Priority() == 5)
	eventually(t, "priority 5", func() bool { return c.Priority() == 5 })
	if d := check[*media.ConsumerDump](t)(c.Dump(ctx)); d.Priority != 5 {
		t.Fatalf("dump priority %d", d.Priority)
	}
	wantErr(t, "setPriority(0)", c.SetPriority(ctx, 0), media.ErrInvalidParams)
	if err := c.UnsetPriority(ctx); err != nil {
		t.Fatal(err)
	}
	returned(t, "priority 1 after unsetPriority", c.Priority() == 1)
	eventually(t, "priority 1 after unsetPriority", func() bool { return c.Priority() == 1 })

	p.send(t, 5)
	p.waitPackets(t, 5)
	before := keyFrameRequests(p.src, 3333)
	eventually(t, "a key frame request at the producing endpoint", func() bool {
		if err := c.RequestKeyFrame(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		return keyFrameRequests(p.src, 3333) > before
	})

	var cs []media.RtpStreamStats
	eventually(t, "consumer stats", func() bool {
		var err error
		cs, err = c.GetStats(ctx)
		return err == nil && len(cs) == 2 && cs[0].PacketCount == 5 && cs[1].PacketCount == 5
	})
	out, in := cs[0], cs[1]
	if out.Type != "outbound-rtp" || out.SSRC != p.consumerSSRC() || out.Kind != media.KindVideo || out.MimeType != "video/VP8" || out.ByteCount == 0 {
		t.Errorf("consumer outbound stats %+v", out)
	}
	if in.Type != "inbound-rtp" || in.SSRC != 3333 || in.Kind != media.KindVideo || in.ByteCount == 0 {
		t.Errorf("consumer's producer stats %+v", in)
	}
	ps := check[[]media.RtpStreamStats](t)(p.producer.GetStats(ctx))
	if len(ps) != 1 || ps[0].Type != "inbound-rtp" || ps[0].SSRC != 3333 || ps[0].MimeType != "video/VP8" || ps[0].ByteCount != in.ByteCount {
		t.Errorf("producer stats %+v", ps)
	}
	wantErr(t, "requestKeyFrame on a closed consumer", func() error {
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return c.RequestKeyFrame(ctx)
	}(), media.ErrClosed)
}

// testScores: a producer receiving a clean stream reports "score" events
// and its score, and so does its consumer (its own and the producer's);
// the transports count the bytes both ways.
func testScores(t *testing.T, api media.API) {
	ctx := ctxFor(t)
	p := newPair(t, api, nil)
	producerScores, consumerScores := make(chan []media.ProducerScore, 64), make(chan media.ConsumerScore, 64)
	p.producer.OnScore(func(s []media.ProducerScore) {
		select {
		case producerScores <- s:
		default:
		}
	})
	p.consumer.OnScore(func(s media.ConsumerScore) {
		select {
		case consumerScores <- s:
		default:
		}
	})
	var got []media.ProducerScore
	var cgot media.ConsumerScore
	eventually(t, "score events", func() bool {
		p.send(t, 1)
		time.Sleep(5 * time.Millisecond)
		for {
			select {
			case s := <-producerScores:
				if len(s) == 1 && s[0].Score > 0 {
					got = s
				}
				continue
			case s := <-consumerScores:
				if s.Score > 0 && s.ProducerScore > 0 {
					cgot = s
				}
				continue
			default:
			}
			break
		}
		return got != nil && cgot.Score > 0
	})
	if got[0].SSRC != 3333 || got[0].EncodingIdx != 0 || got[0].Score > 10 {
		t.Errorf("producer score %+v", got)
	}
	if cgot.Score > 10 || len(cgot.ProducerScores) != 1 {
		t.Errorf("consumer score %+v", cgot)
	}
	eventually(t, "producer score", func() bool { s := p.producer.Score(); return len(s) == 1 && s[0].Score > 0 })
	eventually(t, "consumer score", func() bool { return p.consumer.Score().Score > 0 })
	eventually(t, "transport stats", func() bool {
		in, err1 := p.in.GetStats(ctx)
		out, err2 := p.out.GetStats(ctx)
		return err1 == nil && err2 == nil && in[0].RtpBytesReceived > 0 && in[0].BytesReceived >= in[0].RtpBytesReceived &&
			out[0].RtpBytesSent > 0 && out[0].BytesSent >= out[0].RtpBytesSent
	})
}
