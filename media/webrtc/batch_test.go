package webrtc_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	rope "github.com/ropehq/rope/media/webrtc"
)

// TestE2EWriteRTPBatch sends batches of RTP packets with WriteRTPBatch
// to a pion PeerConnection, over UDP (sendmmsg) and TCP (one write of
// frames): every packet arrives decrypted, intact and in order, across
// the 32-packet chunks of a batch, also when encrypted in place
// (WriteRTPBatchInPlace).
func TestE2EWriteRTPBatch(t *testing.T) {
	for _, c := range []struct {
		name  string
		infos []rope.ListenInfo
	}{
		{"udp", []rope.ListenInfo{udpInfo()}},
		{"tcp", []rope.ListenInfo{tcpInfo()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rec recorder
			tr, err := rope.NewTransport(rec.options(c.infos...))
			must(t, err)
			defer rec.wg.Wait()
			defer tr.Close()
			b := connectBrowser(t, tr)
			defer b.pc.Close()
			track := startTrack(t, b, tr)

			// Each batch is read before the next is sent: a burst beyond
			// the peer socket's receive buffer (about 100 packets of this
			// size with the default 208 KiB) would be dropped by the kernel.
			const batches, perBatch = 4, 45
			seq := uint16(10000)
			pkts := make([][]byte, perBatch)
			for b := range batches {
				first := seq
				for i := range pkts {
					pkts[i] = batchPacket(seq, 200+int(seq)%900)
					seq++
				}
				if b%2 == 0 {
					must(t, tr.WriteRTPBatch(pkts))
				} else { // with room: encrypted in place
					for i, p := range pkts {
						pkts[i] = append(make([]byte, 0, 1500), p...)
					}
					must(t, tr.WriteRTPBatchInPlace(pkts))
				}
				must(t, track.SetReadDeadline(time.Now().Add(5*time.Second)))
				for next := first; next != seq; {
					pkt, _, err := track.ReadRTP()
					if err != nil {
						t.Fatalf("waiting for seq %d of %d..%d: %v", next, first, seq-1, err)
					}
					if pkt.SequenceNumber < 10000 {
						continue // from startTrack
					}
					var want rtp.Packet
					must(t, want.Unmarshal(batchPacket(next, 200+int(next)%900)))
					if pkt.SequenceNumber != next || pkt.SSRC != serverSSRC || !bytes.Equal(pkt.Payload, want.Payload) {
						t.Fatalf("got seq %d (%d bytes), want %d", pkt.SequenceNumber, len(pkt.Payload), next)
					}
					next++
				}
			}
			if st := tr.Stats(); st.RTPSent < batches*perBatch {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// batchPacket is RTP packet seq with a payload of n bytes that depend on
// seq (a VP8 descriptor first).
func batchPacket(seq uint16, n int) []byte {
	payload := make([]byte, n)
	copy(payload, []byte{0x10, 0x02, 0x00, 0x9d})
	for i := 4; i < n; i++ {
		payload[i] = byte(int(seq) + i)
	}
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: vp8PT, SequenceNumber: seq,
		Timestamp: uint32(seq) * 3000, SSRC: serverSSRC}, Payload: payload}).Marshal()
	return b
}

// startTrack sends single packets until the browser has the track.
func startTrack(t *testing.T, b *browser, tr *rope.Transport) *pion.TrackRemote {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for seq := uint16(1); ; seq++ {
		_ = tr.WriteRTP(batchPacket(seq, 10))
		select {
		case track := <-b.tracks:
			return track
		case <-deadline:
			t.Fatal("browser got no track")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// batchLink records what is sent, batch by batch.
type batchLink struct {
	nullLink
	batches [][][]byte
	sizes   []int
	keep    bool
}

func (l *batchLink) SendBatch(bufs [][]byte, _ netip.AddrPort) error {
	l.sizes = append(l.sizes, len(bufs))
	if l.keep {
		var cp [][]byte
		for _, b := range bufs {
			cp = append(cp, bytes.Clone(b))
		}
		l.batches = append(l.batches, cp)
	}
	return nil
}

func (l *batchLink) Send(b []byte, to netip.AddrPort) error {
	l.sizes = append(l.sizes, -1)
	if l.keep {
		l.batches = append(l.batches, [][]byte{bytes.Clone(b)})
	}
	return l.nullLink.Send(b, to)
}

// TestWriteRTPBatchChunks checks how WriteRTPBatch splits a batch: 32
// packets per SendBatch, a packet too large for a slot sent alone in its
// place, order kept, and no allocation per batch once warm; and that
// WriteRTPBatchInPlace sends packets with room as one batch and others
// through the slots.
func TestWriteRTPBatchChunks(t *testing.T) {
	link := &batchLink{keep: true}
	srv, tr, _, peer := keyedTransport(t, nil, link)
	defer srv.Close()
	var pkts [][]byte
	for i := range 70 {
		n := 1000
		if i == 40 {
			n = 1600 // beyond a slot
		}
		pkts = append(pkts, batchPacket(uint16(i), n))
	}
	link.sizes, link.batches = nil, nil // the STUN response
	must(t, tr.WriteRTPBatch(pkts))
	if want := []int{32, 8, -1, 29}; !equalInts(link.sizes, want) {
		t.Fatalf("sends %v, want %v", link.sizes, want)
	}
	i := 0
	for _, batch := range link.batches {
		for _, enc := range batch {
			plain, err := peer.DecryptRTP(enc)
			must(t, err)
			if !bytes.Equal(plain, pkts[i]) {
				t.Fatalf("packet %d differs", i)
			}
			i++
		}
	}
	if st := tr.Stats(); st.RTPSent != 70 {
		t.Errorf("RTPSent %d", st.RTPSent)
	}

	// In place: one SendBatch for packets with room, the copying path
	// when one lacks it.
	link.sizes, link.batches = nil, nil
	var roomy [][]byte
	for i := range 40 {
		roomy = append(roomy, append(make([]byte, 0, 1500), batchPacket(uint16(100+i), 1000)...))
	}
	want := make([][]byte, len(roomy))
	for i, p := range roomy {
		want[i] = bytes.Clone(p)
	}
	must(t, tr.WriteRTPBatchInPlace(roomy))
	if len(link.sizes) != 1 || link.sizes[0] != 40 {
		t.Fatalf("in place: sends %v, want [40]", link.sizes)
	}
	for i, enc := range link.batches[0] {
		plain, err := peer.DecryptRTP(enc)
		must(t, err)
		if !bytes.Equal(plain, want[i]) {
			t.Fatalf("in place: packet %d differs", i)
		}
	}
	link.sizes, link.batches = nil, nil
	tight := make([][]byte, 34)
	for i := range tight {
		tight[i] = append(make([]byte, 0, 1500), batchPacket(uint16(200+i), 1000)...)
	}
	tight[33] = batchPacket(233, 1000)[:1012:1012]
	must(t, tr.WriteRTPBatchInPlace(tight))
	if want := []int{32, 2}; !equalInts(link.sizes, want) {
		t.Fatalf("in place without room: sends %v, want %v", link.sizes, want)
	}

	link.keep, link.batches, link.sizes = false, nil, make([]int, 0, 1024)
	pkts = pkts[:16]
	seq := uint16(100)
	allocs := testing.AllocsPerRun(50, func() {
		for _, p := range pkts {
			binary.BigEndian.PutUint16(p[2:], seq)
			seq++
		}
		if err := tr.WriteRTPBatch(pkts); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch of 16", allocs)
	}
	roomy = roomy[:16]
	allocs = testing.AllocsPerRun(50, func() {
		for i := range roomy {
			roomy[i] = append(roomy[i][:0], pkts[i]...)
			binary.BigEndian.PutUint16(roomy[i][2:], seq)
			seq++
		}
		if err := tr.WriteRTPBatchInPlace(roomy); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per in-place batch of 16", allocs)
	}
}

func equalInts(a, b []int) bool {
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

// countLink counts what is sent; safe for concurrent use.
type countLink struct{ sent, batches atomic.Int64 }

func (l *countLink) Send([]byte, netip.AddrPort) error { l.sent.Add(1); return nil }
func (l *countLink) SendBatch(bufs [][]byte, _ netip.AddrPort) error {
	l.sent.Add(int64(len(bufs)))
	l.batches.Add(1)
	return nil
}

// TestWriteRTPBatchTupleChangeAndClose writes batches from two goroutines
// while the peer nominates another tuple (on another link) and the
// transport closes: no race (under -race), both links carry batches, and
// writes end with ErrNotConnected once closed.
func TestWriteRTPBatchTupleChangeAndClose(t *testing.T) {
	linkA, linkB := &countLink{}, &countLink{}
	srv, tr, tupA, _ := keyedTransport(t, nil, linkA)
	defer srv.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkts := make([][]byte, 8)
			for seq := uint16(w * 30000); ; seq++ {
				for i := range pkts {
					pkts[i] = append(make([]byte, 0, 1500), batchPacket(seq, 300)...)
				}
				err := tr.WriteRTPBatchInPlace(pkts)
				if err == nil {
					err = tr.WriteRTPBatch(pkts[:4])
				}
				select {
				case <-stop:
					if errors.Is(err, rope.ErrNotConnected) {
						return
					}
				default:
				}
			}
		}()
	}
	waitFor(t, 5*time.Second, "batches on link A", func() bool { return linkA.batches.Load() > 10 })
	p := tr.Parameters().ICEParameters
	tupB := tupA
	tupB.Remote = netip.MustParseAddrPort("127.0.0.1:3")
	srv.HandlePacket(bindingRequest(t, p.UsernameFragment+":bench", p.Password, true), tupB, linkB)
	if sel, _ := tr.ICESelectedTuple(); sel != tupB {
		t.Fatalf("selected %v, want %v", sel, tupB)
	}
	waitFor(t, 5*time.Second, "batches on link B", func() bool { return linkB.batches.Load() > 10 })
	must(t, tr.Close())
	close(stop)
	wg.Wait()
}
