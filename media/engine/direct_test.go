package engine_test

import (
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

func TestDirectTransportRTP(t *testing.T) {
	f := newFixture(t)
	in := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	out := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	p := must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: vp8Params(42)}))
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: consumerCaps(false)}))
	var mu sync.Mutex
	var got []rtp.Packet
	c.OnRtp(func(b []byte) {
		var pk rtp.Packet
		if err := pk.Unmarshal(append([]byte(nil), b...)); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, pk)
		mu.Unlock()
	})
	var rtcpOut [][]byte
	in.OnRtcp(func(b []byte) {
		mu.Lock()
		rtcpOut = append(rtcpOut, append([]byte(nil), b...))
		mu.Unlock()
	})
	snd := &sender{ssrc: 42, pt: 101}
	for i := 0; i < 5; i++ {
		b := snd.packet(t, i == 0, 100)
		if err := p.Send(b); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	if len(got) != 5 || got[0].SSRC != c.RtpParameters().Encodings[0].SSRC {
		t.Fatalf("got %d packets", len(got))
	}
	mu.Unlock()
	if err := p.Send([]byte{1, 2, 3}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("bad packet: %v", err)
	}
	// A PLI given to the consumer's transport comes out of the producer's.
	b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: got[0].SSRC}})
	if err := out.SendRtcp(b); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "PLI out of the producer's transport", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, raw := range rtcpOut {
			pkts, _ := rtcp.Unmarshal(raw)
			if hasPLI(pkts, 42) {
				return true
			}
		}
		return false
	})
	if err := out.SendRtcp([]byte{0x80, 96, 0, 0}); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("bad rtcp: %v", err)
	}
}

func TestDirectData(t *testing.T) {
	f := newFixture(t)
	tr := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, &media.DirectTransportOptions{MaxMessageSize: 100}))
	dp := must[media.DataProducer](t)(tr.ProduceData(f.ctx, &media.DataProducerOptions{Label: "chat", Protocol: "json"}))
	all := must[media.DataConsumer](t)(tr.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	sub := must[media.DataConsumer](t)(tr.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID(), Subchannels: []uint16{7, 3, 7}}))
	type msg struct {
		text string
		ppid int
	}
	var mu sync.Mutex
	got := map[string][]msg{}
	for name, c := range map[string]media.DataConsumer{"all": all, "sub": sub} {
		c.OnMessage(func(b []byte, ppid int) {
			mu.Lock()
			got[name] = append(got[name], msg{string(b), ppid})
			mu.Unlock()
		})
	}
	if all.Label() != "chat" || sub.Protocol() != "json" || len(sub.Subchannels()) != 2 {
		t.Fatalf("label %q protocol %q subchannels %v", all.Label(), sub.Protocol(), sub.Subchannels())
	}
	seven := uint16(7)
	send := func(text string, o *media.DataSendOptions) {
		t.Helper()
		if err := dp.Send([]byte(text), o); err != nil {
			t.Fatal(err)
		}
	}
	send("a", nil)
	send("b", &media.DataSendOptions{PPID: media.PPIDString, Subchannels: []uint16{3}})
	send("c", &media.DataSendOptions{RequiredSubchannel: &seven})
	must[struct{}](t)(struct{}{}, sub.Pause(f.ctx))
	send("d", nil)
	must[struct{}](t)(struct{}{}, sub.Resume(f.ctx))
	must[struct{}](t)(struct{}{}, dp.Pause(f.ctx))
	if !all.DataProducerPaused() {
		t.Fatal("dataProducerPaused not set")
	}
	send("e", nil)
	must[struct{}](t)(struct{}{}, dp.Resume(f.ctx))
	send("f", nil)
	if err := dp.Send(make([]byte, 101), nil); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("oversize: %v", err)
	}
	mu.Lock()
	wantAll := []msg{{"a", 53}, {"d", 53}, {"f", 53}}
	wantSub := []msg{{"a", 53}, {"b", 51}, {"c", 53}, {"f", 53}}
	if !equalMsgs(got["all"], wantAll) || !equalMsgs(got["sub"], wantSub) {
		t.Fatalf("got %v", got)
	}
	mu.Unlock()
	stats := must[[]media.DataProducerStats](t)(dp.GetStats(f.ctx))
	if stats[0].MessagesReceived != 6 {
		t.Fatalf("stats %+v", stats)
	}
	closed := make(chan struct{})
	all.OnDataProducerClose(func() { close(closed) })
	must[struct{}](t)(struct{}{}, dp.Close(f.ctx))
	<-closed
	if !sub.Closed() {
		t.Fatal("data consumer not closed with its producer")
	}
}

func equalMsgs[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
