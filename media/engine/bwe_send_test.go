//go:build linux

package engine_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// The send-side bandwidth estimation tests: a 3-layer simulcast producer
// fed by the test over a plain transport, consumed over plain transports
// by receivers that negotiated transport-cc and answer with real
// transport-cc feedback (pion/interceptor's twcc.Recorder). A receiver's
// link can be limited: a drop-tail queue of the given rate emulated in
// user space (the feedback reports each packet's arrival as the queue
// would deliver it; packets the queue would drop are not reported).

// bweReceiver is a remote endpoint answering with transport-cc feedback.
type bweReceiver struct {
	t    testing.TB
	conn *net.UDPConn
	to   *net.UDPAddr
	wg   sync.WaitGroup
	stop chan struct{}

	// limit is the emulated link rate in bit/s (0: none).
	limit atomic.Int64

	// mu guards the recorder and the queue.
	mu        sync.Mutex
	rec       *twcc.Recorder
	twccID    uint8
	queueFree int64 // µs
	// pending are packets on their way through the emulated queue.
	pending  []arrival
	received atomic.Int64
	ssrcs    map[uint32]bool
	// probation are the probator stream's packets (SSRC 1234) as they
	// came, before the emulated queue.
	probation []rxPacket
}

// rxPacket is a datagram as it came: its size and kernel receive time
// (µs).
type rxPacket struct {
	size int
	at   int64
}

// bweViewer is a new bweReceiver and a plain transport of f's router
// connected to it.
func (f *fixture) bweViewer(t testing.TB) (*bweReceiver, media.PlainTransport) {
	t.Helper()
	rx := newBweReceiver(t)
	tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
	if err := tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: rx.port()}); err != nil {
		t.Fatal(err)
	}
	return rx, tr
}

func newBweReceiver(t testing.TB) *bweReceiver {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(lo)})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	// Kernel receive timestamps: the arrival times do not depend on when
	// this goroutine gets to run on a loaded machine.
	_ = rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &bweReceiver{t: t, conn: conn, stop: make(chan struct{}), rec: twcc.NewRecorder(0xfeed), ssrcs: map[uint32]bool{}}
	t.Cleanup(r.close)
	return r
}

func (r *bweReceiver) port() uint16 { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

// start reads what tuple's transport sends and answers with feedback
// every 50 ms; twccID is the consumer's transport-wide-cc extension id.
func (r *bweReceiver) start(tuple media.TransportTuple, twccID uint8) {
	r.twccID = twccID
	r.to = net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(tuple.LocalAddress), tuple.LocalPort))
	r.wg.Add(2)
	go r.read()
	go r.feedback()
}

func (r *bweReceiver) close() {
	select {
	case <-r.stop:
		return
	default:
	}
	close(r.stop)
	r.conn.Close()
	r.wg.Wait()
}

func (r *bweReceiver) read() {
	defer r.wg.Done()
	buf, oob := make([]byte, 2000), make([]byte, 128)
	for {
		n, oobn, _, _, err := r.conn.ReadMsgUDP(buf, oob)
		if err != nil {
			return
		}
		if n < 12 || (buf[1] >= 192 && buf[1] <= 223) {
			continue
		}
		var h rtp.Header
		if _, err := h.Unmarshal(buf[:n]); err != nil {
			continue
		}
		ext := h.GetExtension(r.twccID)
		if len(ext) != 2 {
			continue
		}
		r.arrive(h.SSRC, binary.BigEndian.Uint16(ext), n, kernelTime(oob[:oobn]))
	}
}

// kernelTime is the SO_TIMESTAMPNS of a datagram, in µs.
func kernelTime(oob []byte) int64 {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
				return sec*1e6 + nsec/1e3
			}
		}
	}
	return time.Now().UnixMicro()
}

type arrival struct {
	ssrc uint32
	seq  uint16
	at   int64 // µs
}

// arrive passes a packet through the emulated link: it is recorded (and
// reported) once the queue would have delivered it.
func (r *bweReceiver) arrive(ssrc uint32, seq uint16, size int, now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ssrc == 1234 {
		r.probation = append(r.probation, rxPacket{size, now})
	}
	at := now
	if limit := r.limit.Load(); limit > 0 {
		start := max(now, r.queueFree)
		if start-now > 250_000 {
			return // the queue is full: dropped
		}
		r.queueFree = start + int64(size)*8*1e6/limit
		at = r.queueFree
	} else {
		r.queueFree = 0
	}
	r.received.Add(1)
	r.ssrcs[ssrc] = true
	r.pending = append(r.pending, arrival{ssrc, seq, at})
}

// deliver records the packets the queue has delivered by now (µs).
func (r *bweReceiver) deliver(now int64) {
	n := 0
	for _, a := range r.pending {
		if a.at > now {
			break
		}
		r.rec.Record(a.ssrc, a.seq, a.at)
		n++
	}
	r.pending = append(r.pending[:0], r.pending[n:]...)
}

func (r *bweReceiver) feedback() {
	defer r.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		r.deliver(time.Now().UnixMicro())
		pkts := r.rec.BuildFeedbackPacket()
		r.mu.Unlock()
		if len(pkts) == 0 {
			continue
		}
		if b, err := rtcp.Marshal(pkts); err == nil {
			_, _ = r.conn.WriteToUDP(b, r.to)
		}
	}
}

// simulcastFeeder sends a 3-layer VP8 simulcast at 30 frames a second:
// about 150 kbit/s, 450 kbit/s and 1.2 Mbit/s, a key frame a second.
type simulcastFeeder struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

var feederLayers = []struct {
	ssrc          uint32
	packets, size int
}{{100, 1, 600}, {200, 2, 900}, {300, 5, 1000}}

func startFeeder(t *testing.T, src *endpoint, to media.TransportTuple) *simulcastFeeder {
	f := &simulcastFeeder{stop: make(chan struct{})}
	senders := make([]*sender, len(feederLayers))
	for i, l := range feederLayers {
		senders[i] = &sender{ssrc: l.ssrc, pt: 101, seq: uint16(1000 * i)}
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for frame := 0; ; frame++ {
			select {
			case <-f.stop:
				return
			case <-tick.C:
			}
			for i, l := range feederLayers {
				for p := 0; p < l.packets; p++ {
					b := senders[i].packet(t, frame%30 == 0 && p == 0, l.size)
					if p < l.packets-1 {
						b[1] &^= 0x80 // marker on the frame's last packet only
						senders[i].ts -= 3000
					}
					src.send(to, b)
				}
			}
		}
	}()
	t.Cleanup(func() { close(f.stop); f.wg.Wait() })
	return f
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func spatial(c media.Consumer) int {
	if l := c.CurrentLayers(); l != nil {
		return l.SpatialLayer
	}
	return -1
}

// TestSendSideBweSimulcast: two receivers of one simulcast producer on
// their own transports; limiting one's link makes its consumer step down
// while the other keeps the top layer; lifting the limit brings the top
// layer back; setMaxOutgoingBitrate caps the other.
func TestSendSideBweSimulcast(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a minute of real time")
	}
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	p := f.simulcastProducer(t, in)
	caps, twccID := bweCaps(f.router)

	type viewer struct {
		rx *bweReceiver
		tr media.PlainTransport
		c  media.Consumer
	}
	newViewer := func() viewer {
		rx := newBweReceiver(t)
		tr := must[media.PlainTransport](t)(f.router.CreatePlainTransport(f.ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{IP: lo}}))
		if err := tr.Connect(f.ctx, &media.PlainTransportConnectOptions{IP: lo, Port: rx.port()}); err != nil {
			t.Fatal(err)
		}
		c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
		rx.start(tr.Tuple(), twccID)
		return viewer{rx, tr, c}
	}
	limited, free := newViewer(), newViewer()
	traces := make(chan media.TransportTraceEventData, 64)
	free.tr.OnTrace(func(e media.TransportTraceEventData) { trySend(traces, e) })
	if err := free.tr.EnableTraceEvent(f.ctx, []media.TransportTraceEventType{"bwe"}); err != nil {
		t.Fatal(err)
	}
	probes := make(chan media.TransportTraceEventData, 64)
	limited.tr.OnTrace(func(e media.TransportTraceEventData) {
		if e.Type == "probation" {
			trySend(probes, e)
		}
	})
	startFeeder(t, src, in.Tuple())
	for name, v := range map[string]viewer{"limited": limited, "free": free} {
		v.tr.OnTrace(func(e media.TransportTraceEventData) {
			if e.Type == "bwe" {
				t.Logf("%s: %+v layer %d rx %d", name, e.Info, spatial(v.c), v.rx.received.Load())
			}
		})
		_ = v.tr.EnableTraceEvent(f.ctx, []media.TransportTraceEventType{"bwe", "probation"})
	}

	waitFor(t, "both consumers on the top layer", 60*time.Second, func() bool {
		return spatial(limited.c) == 2 && spatial(free.c) == 2
	})

	limited.rx.limit.Store(350_000)
	waitFor(t, "the limited consumer on layer 0 while the other keeps layer 2", 30*time.Second, func() bool {
		return spatial(limited.c) == 0 && spatial(free.c) == 2
	})
	st := must[[]media.TransportStats](t)(limited.tr.GetStats(f.ctx))[0]
	if st.AvailableOutgoingBitrate == nil || *st.AvailableOutgoingBitrate > 450_000 {
		t.Fatalf("limited transport's availableOutgoingBitrate %v, want <= 450000", st.AvailableOutgoingBitrate)
	}

	limited.rx.limit.Store(0)
	waitFor(t, "the top layer back once the limit is lifted", 90*time.Second, func() bool {
		return spatial(limited.c) == 2
	})
	// Probing up went out as probation packets, each a trace event.
	recvUntil(t, "a probation trace event", probes, func(e media.TransportTraceEventData) bool {
		info, ok := e.Info.(media.RtpPacketTraceInfo)
		return ok && e.Direction == "out" && info.Size > 0 && info.SSRC != 0
	})

	// setMaxOutgoingBitrate caps the estimate, and the layers with it.
	if err := free.tr.SetMaxOutgoingBitrate(f.ctx, 300_000); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the capped consumer below layer 2", 30*time.Second, func() bool {
		return spatial(free.c) >= 0 && spatial(free.c) < 2
	})
	st = must[[]media.TransportStats](t)(free.tr.GetStats(f.ctx))[0]
	if st.AvailableOutgoingBitrate == nil || *st.AvailableOutgoingBitrate > 300_000 || st.MaxOutgoingBitrate == nil || *st.MaxOutgoingBitrate != 300_000 {
		t.Fatalf("capped transport: availableOutgoingBitrate %v maxOutgoingBitrate %v", st.AvailableOutgoingBitrate, st.MaxOutgoingBitrate)
	}
	if st.SendBitrate == 0 || st.RtpSendBitrate == 0 || st.RecvBitrate == 0 {
		t.Fatalf("bitrates not measured: send %d rtp send %d recv %d", st.SendBitrate, st.RtpSendBitrate, st.RecvBitrate)
	}
	recvUntil(t, "a bwe trace event", traces, func(e media.TransportTraceEventData) bool {
		info, ok := e.Info.(media.BweTraceInfo)
		return ok && e.Type == "bwe" && e.Direction == "out" && info.BweType == "transport-cc" && info.AvailableBitrate <= 300_000 && info.DesiredBitrate > 0
	})
}

// TestSendSideBweREMB: a receiver that negotiated REMB (abs-send-time
// and goog-remb, no transport-cc) caps its consumer's layers with the
// REMB it sends, receiver reports letting the estimate grow.
func TestSendSideBweREMB(t *testing.T) {
	if testing.Short() {
		t.Skip("takes half a minute of real time")
	}
	f := newFixture(t)
	src, dst := newEndpoint(t), newEndpoint(t)
	in, out := f.plain(f.router, src), f.plain(f.router, dst)
	p := f.simulcastProducer(t, in)
	caps := consumerCaps(false)
	caps.Codecs[0].RtcpFeedback = append(append([]media.RtcpFeedback(nil), videoFeedback...), media.RtcpFeedback{Type: "goog-remb"})
	for _, e := range f.router.RtpCapabilities().HeaderExtensions {
		if e.URI == media.ExtAbsSendTime && e.Kind == media.KindVideo {
			caps.HeaderExtensions = append(caps.HeaderExtensions, e)
		}
	}
	c := must[media.Consumer](t)(out.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	ssrc := c.RtpParameters().Encodings[0].SSRC
	var remb atomic.Int64
	remb.Store(3_000_000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			b, _ := rtcp.Marshal([]rtcp.Packet{
				&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: ssrc}}},
				&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: float32(remb.Load()), SSRCs: []uint32{ssrc}},
			})
			dst.send(out.Tuple(), b)
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	startFeeder(t, src, in.Tuple())

	waitFor(t, "the top layer with a 3 Mbit/s REMB", 60*time.Second, func() bool { return spatial(c) == 2 })
	remb.Store(250_000)
	waitFor(t, "layer 0 with a 250 kbit/s REMB", 30*time.Second, func() bool { return spatial(c) == 0 })
	st := must[[]media.TransportStats](t)(out.GetStats(f.ctx))[0]
	if st.AvailableOutgoingBitrate == nil || *st.AvailableOutgoingBitrate > 250_000 {
		t.Fatalf("availableOutgoingBitrate %v with a 250 kbit/s REMB", st.AvailableOutgoingBitrate)
	}
	remb.Store(3_000_000)
	waitFor(t, "the top layer back", 90*time.Second, func() bool { return spatial(c) == 2 })
}

// TestSendSideBwePriority: two simulcast consumers on one transport whose
// estimate setMaxOutgoingBitrate caps at 1.5 Mbit/s: after each gets a
// layer, the one with the higher priority takes the top layer.
func TestSendSideBwePriority(t *testing.T) {
	if testing.Short() {
		t.Skip("takes half a minute of real time")
	}
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	p := f.simulcastProducer(t, in)
	caps, twccID := bweCaps(f.router)
	rx, tr := f.bweViewer(t)
	if err := tr.SetMaxOutgoingBitrate(f.ctx, 10_000); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("setMaxOutgoingBitrate(10000): %v", err)
	}
	if err := tr.SetMaxOutgoingBitrate(f.ctx, 1_500_000); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetMinOutgoingBitrate(f.ctx, 2_000_000); !isErr(err, media.ErrInvalidParams) {
		t.Fatalf("setMinOutgoingBitrate above the max: %v", err)
	}
	a := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	b := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	rx.start(tr.Tuple(), twccID)
	if err := a.SetPriority(f.ctx, 2); err != nil {
		t.Fatal(err)
	}
	startFeeder(t, src, in.Tuple())
	waitFor(t, "the priority 2 consumer on the top layer, the other on layer 0", 60*time.Second, func() bool {
		return spatial(a) == 2 && spatial(b) == 0
	})
	if err := a.SetPriority(f.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.SetPriority(f.ctx, 2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the priorities swapped, the layers with them", 60*time.Second, func() bool {
		return spatial(a) == 0 && spatial(b) == 2
	})
}

// numberedProducer is a VP8 producer (SSRC 100) on a plain transport
// whose packets carry the sender's own transport-wide sequence numbers
// (0x40nn, extension id 9), and send, which sends n of them, the first a
// key frame.
func numberedProducer(t *testing.T, f *fixture) (p media.Producer, send func(n int)) {
	t.Helper()
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	params := vp8Params(100)
	params.HeaderExtensions = []media.RtpHeaderExtensionParameters{{URI: media.ExtTransportWideCC01, ID: 9}}
	p = must[media.Producer](t)(in.Produce(f.ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: params}))
	s := &sender{ssrc: 100, pt: 101}
	return p, func(n int) {
		for i := 0; i < n; i++ {
			pk := &rtp.Packet{}
			if err := pk.Unmarshal(s.packet(t, i == 0, 300)); err != nil {
				t.Fatal(err)
			}
			if err := pk.SetExtension(9, []byte{0x40, byte(i)}); err != nil {
				t.Fatal(err)
			}
			b, _ := pk.Marshal()
			src.send(in.Tuple(), b)
		}
	}
}

// TestTransportWideSequenceNumbers: a consumer that negotiated
// transport-cc sends the transport-wide sequence numbers of its own
// transport, consecutive from 1, in the extension id it negotiated, not
// the producer's; with or without a MID to write too.
func TestTransportWideSequenceNumbers(t *testing.T) {
	f := newFixture(t)
	p, send := numberedProducer(t, f)
	caps, twccID := bweCaps(f.router)
	withMid := *caps
	withMid.HeaderExtensions = append([]media.RtpHeaderExtension{{Kind: media.KindVideo, URI: media.ExtMid, PreferredID: 1}}, caps.HeaderExtensions...)
	var dsts []*endpoint
	for _, cp := range []*media.RtpCapabilities{caps, &withMid} {
		dst := newEndpoint(t)
		must[media.Consumer](t)(f.plain(f.router, dst).Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: cp}))
		dsts = append(dsts, dst)
	}
	send(20)
	for i, dst := range dsts {
		wait.Until(t, "20 packets", func() bool { return len(dst.packets()) >= 20 })
		for j, pk := range dst.packets()[:20] {
			ext := pk.GetExtension(twccID)
			if len(ext) != 2 || binary.BigEndian.Uint16(ext) != uint16(j+1) {
				t.Fatalf("consumer %d packet %d: transport-wide sequence number %x, want %d", i, j, ext, j+1)
			}
			if i == 1 && string(pk.GetExtension(1)) == "" {
				t.Fatalf("consumer %d packet %d without its MID", i, j)
			}
		}
	}
}

// TestTransportWideNumbersWithoutFeedback: on a transport that estimates
// from transport-cc, a consumer that negotiated the extension without the
// transport-cc feedback type has its packets numbered in the transport's
// sequence too, as mediasoup's transport numbers every packet carrying
// the extension: the receiver reads one sequence per transport, and the
// producer's numbers in it would pass for ours in its feedback.
func TestTransportWideNumbersWithoutFeedback(t *testing.T) {
	f := newFixture(t)
	p, send := numberedProducer(t, f)
	caps, twccID := bweCaps(f.router)
	noFeedback := *caps
	noFeedback.Codecs = []media.RtpCodecCapability{{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000, RtcpFeedback: videoFeedback}}
	dst := newEndpoint(t)
	tr := f.plain(f.router, dst)
	must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: &noFeedback}))
	const n = 20
	send(n)
	wait.Until(t, "both consumers' packets", func() bool { return len(dst.packets()) >= 2*n })
	seen := map[uint16]bool{}
	for j, pk := range dst.packets()[:2*n] {
		ext := pk.GetExtension(twccID)
		if len(ext) != 2 {
			t.Fatalf("packet %d (SSRC %d) without a transport-wide sequence number", j, pk.SSRC)
		}
		seq := binary.BigEndian.Uint16(ext)
		if seq < 1 || seq > 2*n || seen[seq] {
			t.Fatalf("packet %d (SSRC %d): transport-wide sequence number %#x, want one of the transport's 1..%d, once", j, pk.SSRC, seq, 2*n)
		}
		seen[seq] = true
	}
}

// TestSendSideBweNoLayerFits: with setMaxOutgoingBitrate below the lowest
// layer's bitrate a simulcast consumer forwards nothing (mediasoup's
// semantics), and the receiver's key frame requests and getStats keep
// working meanwhile.
func TestSendSideBweNoLayerFits(t *testing.T) {
	f := newFixture(t)
	src := newEndpoint(t)
	in := f.plain(f.router, src)
	p := f.simulcastProducer(t, in)
	caps, twccID := bweCaps(f.router)
	rx, tr := f.bweViewer(t)
	if err := tr.SetMaxOutgoingBitrate(f.ctx, 60_000); err != nil {
		t.Fatal(err)
	}
	c := must[media.Consumer](t)(tr.Consume(f.ctx, &media.ConsumerOptions{ProducerID: p.ID(), RtpCapabilities: caps}))
	rx.start(tr.Tuple(), twccID)
	startFeeder(t, src, in.Tuple())
	wait.Until(t, "the producer's three streams", func() bool {
		st, _ := p.GetStats(f.ctx)
		return len(st) == 3 && st[0].Bitrate > 0
	})
	ssrc := c.RtpParameters().Encodings[0].SSRC
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: ssrc}})
		_, _ = rx.conn.WriteToUDP(b, rx.to)
		if _, err := c.GetStats(f.ctx); err != nil {
			t.Fatal(err)
		}
		if l := c.CurrentLayers(); l != nil {
			t.Fatalf("consumer on layer %d with a 60 kbit/s cap", l.SpatialLayer)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rx.mu.Lock()
	got := rx.ssrcs[ssrc]
	rx.mu.Unlock()
	if got {
		t.Fatal("the receiver got the consumer's packets")
	}
}
