package svc

import (
	"fmt"
	"testing"
)

// stream makes the packets of n pictures of an SxTy stream, one packet
// per layer frame, temporal pattern 0 2 1 2, a key picture every keyEvery
// (every spatial layer of a key picture is not predicted; others are),
// with the U bit on every frame above the base temporal layer.
func stream(spatial, n, keyEvery int) []Packet {
	var out []Packet
	pattern := []uint8{0, 2, 1, 2}
	for pic := range n {
		key := pic%keyEvery == 0
		for s := range spatial {
			out = append(out, Packet{
				Spatial: uint8(s), Temporal: pattern[pic%4], Start: true, End: true,
				SwitchingUp: pattern[pic%4] > 0, Predicted: !key, KeyFrame: key && s == 0,
				HasPicture: true, Picture: uint16(pic) & 0x7fff, PictureMask: 0x7fff,
			})
		}
	}
	return out
}

type seen struct{ maxS, maxT int }

// run processes ps and returns, per picture, the highest spatial and
// temporal layers forwarded, and checks the marker bit is on the last
// forwarded packet of each picture only.
func run(t *testing.T, c *Context, ps []Packet) map[uint16]seen {
	t.Helper()
	got := map[uint16]seen{}
	markers := map[uint16]int{}
	for _, p := range ps {
		fwd, m := c.Process(&p)
		if !fwd {
			continue
		}
		s := got[p.Picture]
		if _, ok := got[p.Picture]; !ok {
			s = seen{-1, -1}
		}
		s.maxS, s.maxT = max(s.maxS, int(p.Spatial)), max(s.maxT, int(p.Temporal))
		got[p.Picture] = s
		if m {
			markers[p.Picture]++
			if cs, _ := c.Current(); int(p.Spatial) != cs {
				t.Fatalf("marker on spatial %d, current %d", p.Spatial, cs)
			}
		}
	}
	for pic := range got {
		if markers[pic] != 1 {
			t.Fatalf("picture %d: %d markers", pic, markers[pic])
		}
	}
	return got
}

func TestFullSVCTargets(t *testing.T) {
	for _, c := range []struct{ s, t int }{{0, 0}, {0, 2}, {1, 1}, {2, 2}, {2, 0}} {
		t.Run(fmt.Sprintf("S%dT%d", c.s, c.t), func(t *testing.T) {
			ctx := NewContext(3, 3, false)
			ctx.SetTarget(c.s, c.t)
			ctx.SyncRequired()
			got := run(t, ctx, stream(3, 40, 20))
			for pic, s := range got {
				if s.maxS != c.s || s.maxT > c.t {
					t.Fatalf("picture %d: up to S%dT%d", pic, s.maxS, s.maxT)
				}
			}
			// Every picture of the target temporal layers goes.
			want := 40
			if c.t == 0 {
				want = 10
			} else if c.t == 1 {
				want = 20
			}
			if len(got) != want {
				t.Fatalf("%d pictures forwarded, want %d", len(got), want)
			}
		})
	}
}

func TestNothingBeforeTarget(t *testing.T) {
	ctx := NewContext(3, 3, false)
	for _, p := range stream(3, 8, 4) {
		if fwd, _ := ctx.Process(&p); fwd {
			t.Fatal("forwarded without a target")
		}
	}
}

// TestFullSVCSwitches: in full SVC an upgrade waits for a key frame, a
// downgrade happens at the end of the target layer's frame.
func TestFullSVCSwitches(t *testing.T) {
	ctx := NewContext(3, 3, false)
	ctx.SetTarget(0, 2)
	ps := stream(3, 60, 20)
	got := run(t, ctx, ps[:3*10]) // pictures 0-9 at S0
	ctx.SetTarget(2, 2)
	if !ctx.NeedsKeyFrame() {
		t.Fatal("upgrade needs no key frame")
	}
	for k, v := range run(t, ctx, ps[3*10:3*30]) { // 10-29: key at 20
		got[k] = v
	}
	ctx.SetTarget(1, 2)
	if ctx.NeedsKeyFrame() {
		t.Fatal("full SVC downgrade waits for a key frame")
	}
	for k, v := range run(t, ctx, ps[3*30:]) {
		got[k] = v
	}
	for pic := range uint16(60) {
		want := 0
		switch {
		case pic >= 30:
			want = 1
		case pic >= 20:
			want = 2
		}
		if got[pic].maxS != want {
			t.Fatalf("picture %d: spatial %d, want %d", pic, got[pic].maxS, want)
		}
	}
}

// TestKSVC: between key pictures only the current spatial layer goes,
// and every spatial switch waits for a key frame.
func TestKSVC(t *testing.T) {
	ctx := NewContext(3, 3, true)
	ctx.SetTarget(2, 2)
	ps := stream(3, 60, 20)
	forwarded := map[[2]int]bool{}
	check := func(from, to int) {
		for _, p := range ps[3*from : 3*to] {
			if fwd, _ := ctx.Process(&p); fwd {
				forwarded[[2]int{int(p.Picture), int(p.Spatial)}] = true
			}
		}
	}
	check(0, 10)
	ctx.SetTarget(0, 2)
	if !ctx.NeedsKeyFrame() {
		t.Fatal("K-SVC downgrade needs no key frame")
	}
	check(10, 60)
	for pic := range 60 {
		for s := range 3 {
			var want bool
			switch {
			case pic < 20 && pic%20 == 0:
				want = true // key picture: every layer up to the target
			case pic < 20:
				want = s == 2 // still on spatial 2 until the next key picture
			default:
				want = s == 0
			}
			if forwarded[[2]int{pic, s}] != want {
				t.Fatalf("picture %d spatial %d forwarded %v, want %v", pic, s, !want, want)
			}
		}
	}
}

// TestTemporalUpswitch: a temporal upgrade waits for a frame of a higher
// layer with its switching up bit.
func TestTemporalUpswitch(t *testing.T) {
	ctx := NewContext(1, 3, false)
	ctx.SetTarget(0, 0)
	ps := stream(1, 16, 100)
	for _, p := range ps[:8] {
		ctx.Process(&p)
	}
	ctx.SetTarget(0, 2)
	var tids []uint8
	for i, p := range ps[8:] {
		p.SwitchingUp = i >= 5 // pictures 13 on
		if fwd, _ := ctx.Process(&p); fwd {
			tids = append(tids, p.Temporal)
		}
	}
	// 8 (T0), 12 (T0), then 13 (T2, U) 14 (T1) 15 (T2).
	if fmt.Sprint(tids) != "[0 0 2 1 2]" {
		t.Fatalf("temporal layers %v", tids)
	}
}

// TestLatePackets: a late packet of an earlier picture goes only within
// the layers being forwarded, and switches nothing.
func TestLatePackets(t *testing.T) {
	ctx := NewContext(3, 3, false)
	ctx.SetTarget(2, 2)
	ps := stream(3, 8, 8)
	for i := range ps[:3*4] {
		ctx.Process(&ps[i])
	}
	ctx.SetTarget(1, 0)
	for i := range ps[3*4 : 3*6] { // pictures 4 (T0) and 5 (T2): down to S1T0
		ctx.Process(&ps[3*4+i])
	}
	if s, tl := ctx.Current(); s != 1 || tl != 0 {
		t.Fatalf("current S%dT%d", s, tl)
	}
	late := ps[3*3+1] // picture 3: S1T2
	if fwd, _ := ctx.Process(&late); fwd {
		t.Fatal("a late S1T2 packet went out at S1T0")
	}
	late = ps[3*0+1] // picture 0: S1T0
	if fwd, m := ctx.Process(&late); !fwd || !m {
		t.Fatalf("a late S1T0 packet: forwarded %v marker %v", fwd, m)
	}
	if s, tl := ctx.Current(); s != 1 || tl != 0 {
		t.Fatalf("current S%dT%d after late packets", s, tl)
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	ctx := NewContext(3, 3, false)
	ctx.SetTarget(1, 1)
	ps := stream(3, 8, 4)
	if n := testing.AllocsPerRun(100, func() {
		for i := range ps {
			ctx.Process(&ps[i])
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func BenchmarkProcess(b *testing.B) {
	ctx := NewContext(3, 3, false)
	ctx.SetTarget(1, 2)
	ps := stream(3, 64, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := ps[i%len(ps)]
		p.Picture = uint16(i/3) & 0x7fff
		ctx.Process(&p)
		i++
	}
}
