package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// The load: one UDP socket sends every stream, paced by a ticker that
// sends what is due at each tick as one sendmmsg batch; receivers are a
// few UDP sockets counting the RTP packets they read (recvmmsg), RTCP
// left out. Everything is on loopback.

const (
	numReceivers = 8
	batchLen     = 64
	maxPacket    = 1500
	// keyEvery makes every keyEvery-th video packet a VP8 key frame, so
	// that consumers (ours, mediasoup's) start and stay in sync.
	keyEvery = 500
)

// receivers count what the forwarder delivered.
type receivers struct {
	conns []*net.UDPConn
	got   atomic.Int64
	wg    sync.WaitGroup
}

func listenReceivers() (*receivers, error) {
	r := &receivers{}
	for range numReceivers {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			r.close()
			return nil, fmt.Errorf("listen receiver: %w", err)
		}
		_ = c.SetReadBuffer(4 << 20)
		r.conns = append(r.conns, c)
	}
	for _, c := range r.conns {
		r.wg.Go(func() { r.sink(c) })
	}
	return r, nil
}

func (r *receivers) ports() []uint16 {
	var ps []uint16
	for _, c := range r.conns {
		ps = append(ps, uint16(c.LocalAddr().(*net.UDPAddr).Port))
	}
	return ps
}

func (r *receivers) sink(c *net.UDPConn) {
	pc := ipv4.NewPacketConn(c)
	ms := make([]ipv4.Message, batchLen)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, maxPacket)}
	}
	for {
		n, err := pc.ReadBatch(ms, 0)
		if err != nil {
			return
		}
		var k int64
		for _, m := range ms[:n] {
			// RTP version 2 with a payload type below 128 (no marker is
			// sent): RTCP's 200–207 are left out.
			if b := m.Buffers[0]; m.N > 12 && b[0]&0xc0 == 0x80 && b[1] < 128 {
				k++
			}
		}
		r.got.Add(k)
	}
}

func (r *receivers) close() {
	for _, c := range r.conns {
		c.Close()
	}
	r.wg.Wait()
}

// waitFor waits until the count reaches want or stops moving for quiet.
func (r *receivers) waitFor(ctx context.Context, want int64, quiet time.Duration) int64 {
	last, changed := r.got.Load(), time.Now()
	for last < want && time.Since(changed) < quiet && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
		if v := r.got.Load(); v != last {
			last, changed = v, time.Now()
		}
	}
	return last
}

// stream is one producer's packet source.
type stream struct {
	to       *net.UDPAddr
	s        Stream
	seq      uint16
	sent     int64
	fanout   int
	interval time.Duration
	next     time.Time
}

// generator sends a forwarder's streams from one socket.
type generator struct {
	conn    *net.UDPConn
	pc      *ipv4.PacketConn
	tick    time.Duration
	streams []*stream
	bufs    [][]byte
	ms      []ipv4.Message
}

func newGenerator(tick time.Duration) (*generator, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("listen sender: %w", err)
	}
	_ = c.SetWriteBuffer(4 << 20)
	g := &generator{conn: c, pc: ipv4.NewPacketConn(c), tick: tick}
	return g, nil
}

func (g *generator) port() uint16 { return uint16(g.conn.LocalAddr().(*net.UDPAddr).Port) }

func (g *generator) close() { g.conn.Close() }

// load is one forwarder's streams: spec's producers at the forwarder's
// ports.
type load struct{ streams []*stream }

func newLoad(spec Spec, ports []uint16) (*load, error) {
	if len(ports) != len(spec.Producers) {
		return nil, fmt.Errorf("forwarder gave %d ports for %d producer transports", len(ports), len(spec.Producers))
	}
	fan := spec.fanoutOf()
	l := &load{}
	for i, pt := range spec.Producers {
		to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(ports[i])}
		for _, s := range pt.Streams {
			l.streams = append(l.streams, &stream{to: to, s: s, fanout: fan[len(l.streams)], interval: time.Duration(float64(time.Second) / s.Rate)})
		}
	}
	return l, nil
}

// expected is the forwarded packets the receivers should count for what
// was sent since the last reset.
func (l *load) expected() (sent, forwarded int64) {
	for _, s := range l.streams {
		sent += s.sent
		forwarded += s.sent * int64(s.fanout)
	}
	return sent, forwarded
}

func (l *load) reset() {
	for _, s := range l.streams {
		s.sent = 0
	}
}

// send sends l's streams for d, each at its rate, their phases spread
// evenly over one interval so that streams do not all fall on one tick.
func (g *generator) send(ctx context.Context, l *load, d time.Duration) error {
	start := time.Now()
	for i, s := range l.streams {
		s.next = start.Add(s.interval * time.Duration(i) / time.Duration(len(l.streams)))
	}
	end := start.Add(d)
	t := time.NewTicker(g.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			if now.After(end) {
				now = end
			}
			if err := g.sendDue(l, now); err != nil {
				return err
			}
			if !now.Before(end) {
				return nil
			}
		}
	}
}

// sendDue sends every packet due by now, batchLen per sendmmsg.
func (g *generator) sendDue(l *load, now time.Time) error {
	n := 0
	for _, s := range l.streams {
		for s.next.Before(now) {
			if n == batchLen {
				if err := g.flush(n); err != nil {
					return err
				}
				n = 0
			}
			g.fill(n, s)
			n++
			s.next = s.next.Add(s.interval)
		}
	}
	return g.flush(n)
}

// timestamp is the RTP timestamp of s's next packet: it follows the
// sending clock at the codec's clock rate (90 kHz video, 48 kHz audio),
// as a real sender's do, each packet a frame of its own. Retransmission
// stores keep a span of it (mediasoup's buffers 2 s of video by RTP
// time, ours by arrival time): timestamps that ran 3.3 times faster than
// the clock (3,000 per video packet at 100 packets/s) had mediasoup
// keep 0.6 s of each video stream where ours kept 2 s.
func (s *stream) timestamp() uint32 {
	clock := 48000.0
	if s.s.Kind == "video" {
		clock = 90000
	}
	return uint32(int64(float64(s.sent) * s.interval.Seconds() * clock))
}

// fill writes s's next packet into message i.
func (g *generator) fill(i int, s *stream) {
	for len(g.bufs) <= i {
		g.bufs = append(g.bufs, make([]byte, maxPacket))
		g.ms = append(g.ms, ipv4.Message{})
	}
	b := g.bufs[i]
	n := 12 + s.s.Size
	clear(b[12:n])
	b[0], b[1] = 0x80, s.s.PayloadType
	b[2], b[3] = byte(s.seq>>8), byte(s.seq)
	ts := s.timestamp()
	if s.s.Kind == "video" {
		// VP8 payload descriptor: start of partition 0; then the
		// payload header's P bit: 0 is a key frame.
		b[12] = 0x10
		b[13] = 1
		if s.sent == 0 || s.seq%keyEvery == 0 {
			b[13] = 0
		}
	}
	b[4], b[5], b[6], b[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	b[8], b[9], b[10], b[11] = byte(s.s.SSRC>>24), byte(s.s.SSRC>>16), byte(s.s.SSRC>>8), byte(s.s.SSRC)
	s.seq++
	s.sent++
	g.ms[i] = ipv4.Message{Buffers: [][]byte{b[:n]}, Addr: s.to}
}

func (g *generator) flush(n int) error {
	for off := 0; off < n; {
		k, err := g.pc.WriteBatch(g.ms[off:n], 0)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			// A full socket buffer drops this batch's rest, as the
			// network would; delivery shows it.
			return nil
		}
		if err != nil {
			return err
		}
		off += k
	}
	return nil
}
