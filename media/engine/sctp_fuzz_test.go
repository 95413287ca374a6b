package engine

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"testing"
	"time"

	"github.com/ropehq/rope/media"
)

// sctpFuzzTarget is two plain transports with SCTP connected to each
// other; the fuzzer plays the second one towards the first.
type sctpFuzzTarget struct {
	worker media.Worker
	link   *udpLink
	peer   netip.AddrPort
}

func newSctpFuzzTarget(tb testing.TB) *sctpFuzzTarget {
	ctx := context.Background()
	w, err := New(nil).CreateWorker(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := w.CreateRouter(ctx, &media.RouterOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	opts := &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: "127.0.0.1"}, EnableSctp: true}
	a, err := r.CreatePlainTransport(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := r.CreatePlainTransport(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	at, bt := a.Tuple(), b.Tuple()
	if err := a.Connect(ctx, &media.PlainTransportConnectOptions{IP: bt.LocalAddress, Port: bt.LocalPort}); err != nil {
		tb.Fatal(err)
	}
	if err := b.Connect(ctx, &media.PlainTransportConnectOptions{IP: at.LocalAddress, Port: at.LocalPort}); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.SctpState() != media.SctpConnected {
		if time.Now().After(deadline) {
			tb.Fatal("SCTP not connected")
		}
		time.Sleep(time.Millisecond)
	}
	// A data producer on stream 0, so DATA chunks reach the data path.
	if _, err := a.ProduceData(ctx, &media.DataProducerOptions{SctpStreamParameters: &media.SctpStreamParameters{StreamID: 0}}); err != nil {
		tb.Fatal(err)
	}
	peer := netip.AddrPortFrom(netip.MustParseAddr(bt.LocalAddress), bt.LocalPort)
	return &sctpFuzzTarget{worker: w, link: a.(*plainTransport).udp, peer: peer}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// asSCTP makes b an SCTP packet between ports 5000 with a valid
// checksum, so that it gets past the demux and pion's checksum check.
func asSCTP(b []byte) []byte {
	if len(b) < 12 {
		return b
	}
	b = append([]byte(nil), b...)
	binary.BigEndian.PutUint16(b[0:], sctpPort)
	binary.BigEndian.PutUint16(b[2:], sctpPort)
	clear(b[8:12])
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b, castagnoli))
	return b
}

func sctpSeeds(f *testing.F) {
	header := []byte{0x13, 0x88, 0x13, 0x88, 1, 2, 3, 4, 0, 0, 0, 0}
	chunk := func(typ byte, flags byte, body ...byte) []byte {
		n := 4 + len(body)
		c := append([]byte{typ, flags, byte(n >> 8), byte(n)}, body...)
		for len(c)%4 != 0 {
			c = append(c, 0)
		}
		return c
	}
	data := chunk(0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 51, 'h', 'i')
	initChunk := chunk(1, 0, 1, 2, 3, 4, 0, 1, 0, 0, 0, 10, 0, 10, 5, 6, 7, 8)
	for _, c := range [][]byte{data, initChunk, chunk(3, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0), chunk(6, 1), chunk(130, 0, 0, 13, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1)} {
		f.Add(append(append([]byte(nil), header...), c...), true)
	}
	f.Add(header, false)
	f.Add([]byte{0x13, 0x88}, false)
	f.Add([]byte{0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2}, false) // RTP
	f.Add([]byte{0x81, 0xc9, 0, 1, 0, 0, 0, 1}, false)             // RTCP
}

// FuzzSCTPDemux feeds arbitrary datagrams from the peer's address to the
// receive path of a plain transport with SCTP: the demux, the queue to
// the association and pion's parsing behind it. fix makes the datagram
// an SCTP packet with a valid checksum; the datagram also goes split
// into pieces by its length bytes.
func FuzzSCTPDemux(f *testing.F) {
	target := newSctpFuzzTarget(f)
	defer target.worker.Close(context.Background())
	sctpSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		feed := func(p []byte) {
			if fix {
				p = asSCTP(p)
			}
			if pr := target.link.handle(p, target.peer, false, nanotime()); pr != nil {
				pr.flush()
			}
		}
		feed(b)
		for rest := b; len(rest) > 1; {
			n := min(int(rest[0]), len(rest)-1)
			feed(append([]byte(nil), rest[1:1+n]...))
			rest = rest[1+n:]
		}
	})
}

func TestIsSCTP(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{[]byte{0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{[]byte{0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0}, false}, // short
		{[]byte{0x13, 0x88, 0x13, 0x89, 0, 0, 0, 0, 0, 0, 0, 0}, false},
		{[]byte{0x80, 0x60, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0}, false},
	} {
		if got := isSCTP(tc.b); got != tc.want {
			t.Errorf("isSCTP(% x) = %v", tc.b, got)
		}
	}
}
