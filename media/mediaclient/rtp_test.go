package mediaclient_test

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestRTPEndToEnd sends RTP (pion/rtp over real UDP) into a producer on a
// remote-created comedia PlainTransport and receives it from a
// remote-created consumer's PlainTransport; the comedia tuple reaches the
// client as a "tuple" event and in the mirror.
func TestRTPEndToEnd(t *testing.T) {
	srv := startServer(t, nil)
	api, _ := srv.dial(t, nil)
	s := buildScene(t, api)
	tuples := make(chan media.TransportTuple, 1)
	s.in.OnTuple(func(tt media.TransportTuple) { tuples <- tt })

	const n = 30
	var sent [][]byte
	for i := range n {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(100 + i),
			Timestamp: uint32(i * 3000), SSRC: 1111}, Payload: vp8Payload(i)}
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, b)
		s.src.Send(s.in.Tuple(), b)
	}
	params := s.consumer.RtpParameters()
	ssrc := params.Encodings[0].SSRC
	wait.Until(t, "RTP at the consumer's endpoint", func() bool { return len(s.dst.RTP(ssrc)) == n })
	for i, got := range s.dst.RTP(ssrc) {
		if got.PayloadType != uint8(params.Codecs[0].PayloadType) || !bytes.Equal(got.Payload, sent[i][12:]) {
			t.Fatalf("packet %d: pt %d want %d, payload intact %v", i, got.PayloadType, params.Codecs[0].PayloadType, bytes.Equal(got.Payload, sent[i][12:]))
		}
	}
	tt := <-tuples
	if tt.RemotePort != s.src.Port() || s.in.Tuple().RemotePort != s.src.Port() {
		t.Fatalf("comedia tuple %+v, mirror %+v, endpoint port %d", tt, s.in.Tuple(), s.src.Port())
	}
	wait.Until(t, "producer stats", func() bool {
		st, err := s.producer.GetStats(ctxT(t))
		return err == nil && len(st) == 1 && st[0].PacketCount == n
	})
}

// vp8Payload is a VP8 payload descriptor (S=1) then bytes derived from i;
// the first packet is a key frame.
func vp8Payload(i int) []byte {
	b := make([]byte, 200)
	b[0], b[1] = 0x10, 0x01
	if i == 0 {
		b[1] = 0x00
	}
	for j := 2; j < len(b); j++ {
		b[j] = byte(i * j)
	}
	return b
}
