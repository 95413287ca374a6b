package engine_test

import (
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"

	"github.com/ropehq/rope/internal/peertest"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestDataConsumerSendWebRtc: DataConsumer.send on a WebRtcTransport
// reaches the browser's data channel, text and binary as their PPIDs
// say, and the stream draining fires "bufferedamountlow".
func TestDataConsumerSendWebRtc(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tr := f.webRtc(&media.WebRtcTransportOptions{ListenInfos: []media.TransportListenInfo{{IP: lo}}, EnableSctp: true})
	src := must[media.DirectTransport](t)(f.router.CreateDirectTransport(f.ctx, nil))
	dp := must[media.DataProducer](t)(src.ProduceData(f.ctx, nil))
	dc := must[media.DataConsumer](t)(tr.ConsumeData(f.ctx, &media.DataConsumerOptions{DataProducerID: dp.ID()}))
	if err := dc.Send(f.ctx, []byte("early"), media.PPIDString); !isErr(err, media.ErrInvalidState) {
		t.Fatalf("send before SCTP is connected: %v", err)
	}
	peer := peertest.NewBrowser(t, 0, false)
	ch, open, _ := peer.DataChannel(t, "server", uint16(dc.SctpStreamParameters().StreamID))
	type msg struct {
		data   string
		string bool
	}
	got := make(chan msg, 16)
	ch.OnMessage(func(m pion.DataChannelMessage) { got <- msg{string(m.Data), m.IsString} })
	offer, dtls := peer.Offer(t)
	mustOK(t, tr.Connect(f.ctx, &media.WebRtcTransportConnectOptions{DtlsParameters: dtls}))
	peer.Answer(t, offer, tr, 0)
	select {
	case <-open:
	case <-time.After(10 * time.Second):
		t.Fatal("data channel not open")
	}
	wait.Until(t, "SCTP connected", func() bool { return tr.SctpState() == media.SctpConnected })
	low := make(chan int, 16)
	dc.OnBufferedAmountLow(func(n int) { low <- n })

	mustOK(t, dc.Send(f.ctx, []byte("hello browser"), media.PPIDString))
	mustOK(t, dc.Send(f.ctx, []byte{0, 1, 2, 255}, 0))
	for _, want := range []msg{{"hello browser", true}, {"\x00\x01\x02\xff", false}} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("browser got %q (string %v), want %q (string %v)", m.data, m.string, want.data, want.string)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("browser did not get %q", want.data)
		}
	}
	select {
	case n := <-low:
		if n != 0 {
			t.Fatalf("bufferedamountlow %d after the stream drained", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no bufferedamountlow")
	}
	if n := must[int](t)(dc.GetBufferedAmount(f.ctx)); n != 0 {
		t.Fatalf("bufferedAmount %d once drained", n)
	}
}
