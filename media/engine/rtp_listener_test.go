package engine

import (
	"context"
	"testing"

	"github.com/ropehq/rope/media"
)

// TestLearnedSSRCNoAlloc checks that once the listener has learned a RID
// stream's SSRC, its packets (without MID/RID extensions, as Chromium
// sends them later) are forwarded without allocating, and that packets it
// cannot place are dropped without allocating either.
func TestLearnedSSRCNoAlloc(t *testing.T) {
	ctx := context.Background()
	w, err := New(nil).CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	r, err := w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: []media.RtpCodecCapability{
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000}}})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := r.CreateDirectTransport(ctx, nil)
	out, _ := r.CreateDirectTransport(ctx, nil)
	if err := addRidFuzzTarget(ctx, in, out); err != nil {
		t.Fatal(err)
	}
	tr := in.(*directTransport).transport
	first := ridPacket(9000, 100, 1, fuzzRidID, fuzzMid, "b", []byte{0x10, 0x00, 1, 2})
	if p := tr.receive(first, nanotime()); p == nil {
		t.Fatal("first packet not routed by MID/RID")
	} else {
		p.flush()
	}
	tmpl := ridPacket(9000, 100, 2, 0, "", "", make([]byte, 1000))
	tmpl[12] = 0x10
	pkt := make([]byte, len(tmpl))
	seq := uint16(1)
	allocs := testing.AllocsPerRun(200, func() {
		seq++
		copy(pkt, tmpl) // the path rewrites packets in place
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		if p := tr.receive(pkt, nanotime()); p != nil {
			p.flush()
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet", allocs)
	}
	st, _ := in.GetStats(ctx)
	if st[0].RtpBytesReceived < 200*1000 {
		t.Errorf("learned stream not forwarded: %+v", st[0])
	}

	// Packets the listener cannot place (a known MID, an unknown RID)
	// take the slow path every time, still without allocating.
	stray := ridPacket(9100, 100, 1, fuzzRidID, fuzzMid, "zz", []byte{0x10, 0x00, 1, 2})
	allocs = testing.AllocsPerRun(200, func() {
		if p := tr.receive(stray, nanotime()); p != nil {
			t.Fatal("stray packet routed")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per stray packet", allocs)
	}
}
