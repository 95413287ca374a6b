package engine

import (
	"slices"
	"testing"

	"github.com/pion/rtcp"
)

func TestNackGen(t *testing.T) {
	g := nackGen{enabled: true}
	g.onPacket(100, 99, true)
	if !g.onPacket(105, 100, true) || !g.onPacket(130, 105, true) {
		t.Fatal("gaps not detected")
	}
	g.onPacket(102, 130, true) // recovered
	want := []uint16{101, 103, 104}
	for s := uint16(106); s < 130; s++ {
		want = append(want, s)
	}
	pkts, err := rtcp.Unmarshal(g.packet(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	n := pkts[0].(*rtcp.TransportLayerNack)
	var got []uint16
	for _, p := range n.Nacks {
		got = append(got, p.PacketList()...)
	}
	if n.SenderSSRC != 1 || n.MediaSSRC != 2 || !slices.Equal(got, want) {
		t.Fatalf("nack %v, want %v", got, want)
	}
	for i := 1; i < nackMaxRetries; i++ {
		g.packet(1, 2)
	}
	if g.packet(1, 2) != nil {
		t.Fatal("retried forever")
	}
	g.onPacket(140, 130, true)
	if g.onPacket(400, 140, true) || g.n != 0 {
		t.Fatal("a big jump is a restart, not a loss")
	}
}
