package monitor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ropehq/rope/media"
)

// Figures are one collection: the server's figures, totals over every
// media object, and per-object figures (at most Options.MaxObjects).
// They are the params of MethodFigures and the result of subscribe and
// snapshot.
type Figures struct {
	// Time is when they were collected, in Unix milliseconds.
	Time int64 `json:"t"`
	// Interval is the collection interval, in milliseconds.
	Interval int64         `json:"interval"`
	Server   ServerFigures `json:"server"`
	Totals   Totals        `json:"totals"`
	// Objects holds per-object figures by ROPE id: workers, transports,
	// producers and consumers.
	Objects map[string]ObjectFigures `json:"objects"`
	// Omitted counts the objects whose entries MaxObjects left out.
	Omitted int `json:"omitted,omitempty"`
	// Servers are the cluster's servers, when the monitor knows them.
	Servers []ServerInfo `json:"servers,omitempty"`
	// CollectMillis is how long the collection took.
	CollectMillis float64 `json:"collectMs"`
}

// ServerFigures are the ROPE server's own figures.
type ServerFigures struct {
	Conns          int     `json:"conns"`
	QueuedMessages int     `json:"queuedMessages"`
	QueuedBytes    int64   `json:"queuedBytes"`
	MaxQueuedBytes int64   `json:"maxQueuedBytes"`
	ReplayMessages int     `json:"replayMessages"`
	ReplayBytes    int64   `json:"replayBytes"`
	StateBytes     int64   `json:"stateBytes"`
	Objects        int     `json:"objects"`
	Seq            uint64  `json:"seq"`
	InFlight       int64   `json:"inFlight"`
	CPU            float64 `json:"cpu"`    // the server process, % of one core over the interval
	MaxRSS         int64   `json:"maxRss"` // the server process's peak RSS, bytes
	Uptime         int64   `json:"uptime"` // seconds
}

// Totals count the media objects and sum their figures; the counters
// (…Packets, …Bytes, Nacks…, Plis…, Firs…) only grow.
type Totals struct {
	Workers       int `json:"workers"`
	Routers       int `json:"routers"`
	Transports    int `json:"transports"`
	Producers     int `json:"producers"`
	Consumers     int `json:"consumers"`
	DataProducers int `json:"dataProducers"`
	DataConsumers int `json:"dataConsumers"`
	// RecvBitrate and SendBitrate sum the transports', in bits/s.
	RecvBitrate uint64 `json:"recvBitrate"`
	SendBitrate uint64 `json:"sendBitrate"`
	// WorkersCPU sums the worker processes' CPU, % of one core; counted
	// once per process (in-process workers share the server's).
	WorkersCPU float64 `json:"workersCpu"`
	// WorkersCPUSeconds sums the worker processes' CPU time while seen.
	WorkersCPUSeconds float64 `json:"workersCpuSeconds"`
	Counters
}

// Counters only grow: what the consumers forwarded and the producers
// received, and the feedback each side sent.
type Counters struct {
	ForwardedPackets uint64 `json:"forwardedPackets"`
	ForwardedBytes   uint64 `json:"forwardedBytes"`
	ReceivedPackets  uint64 `json:"receivedPackets"`
	ReceivedBytes    uint64 `json:"receivedBytes"`
	// NacksReceived are NACKs from consumers' endpoints; NacksSent those
	// the producers sent to theirs.
	NacksReceived uint64 `json:"nacksReceived"`
	NacksSent     uint64 `json:"nacksSent"`
	// PlisReceived and FirsReceived are key frame requests from
	// consumers' endpoints; PlisSent and FirsSent those the producers
	// sent to theirs (key frames asked of the senders).
	PlisReceived uint64 `json:"plisReceived"`
	FirsReceived uint64 `json:"firsReceived"`
	PlisSent     uint64 `json:"plisSent"`
	FirsSent     uint64 `json:"firsSent"`
}

// ObjectFigures are one object's live figures; absent members are zero
// or unknown.
type ObjectFigures struct {
	// CPU is a worker process's CPU over the last interval, % of one core.
	CPU *float64 `json:"cpu,omitempty"`
	// Mem is a worker process's peak RSS, bytes.
	Mem int64 `json:"mem,omitempty"`
	// Recv and Send are bitrates in bits/s: a transport's both ways, a
	// producer's Recv, a consumer's Send.
	Recv uint64 `json:"recv,omitempty"`
	Send uint64 `json:"send,omitempty"`
	// AOB is a WebRTC transport's available outgoing bitrate, bits/s.
	AOB *uint64 `json:"aob,omitempty"`
	// RTT is a consumer's round-trip time, ms.
	RTT *float64 `json:"rtt,omitempty"`
	// Lost counts packets lost; Loss is the fraction lost in the last
	// report (0 to 1).
	Lost int64   `json:"lost,omitempty"`
	Loss float64 `json:"loss,omitempty"`
	// Score is a producer's lowest stream score or a consumer's score.
	Score *int `json:"score,omitempty"`
	// Packets is what a producer received or a consumer sent.
	Packets uint64 `json:"pkts,omitempty"`
}

func (f *Figures) encode() (json.RawMessage, error) { return json.Marshal(f) }

// collector is what collections carry over; guarded by Monitor.collectMu.
type collector struct {
	last     *Figures
	lastAt   time.Time
	prev     map[string]Counters  // per object, as last seen
	io       map[string][2]uint64 // per transport: bytes in and out last seen
	cpuPrev  map[int]int64        // per worker pid: CPU ms last seen
	selfPrev int64                // the server process's CPU µs
	totals   Counters
	cpuSecs  float64
}

func newCollector() collector {
	return collector{prev: map[string]Counters{}, io: map[string][2]uint64{}, cpuPrev: map[int]int64{}}
}

// Object kinds by ROPE type (spec/media-v1.md).
var transportTypes = map[string]bool{
	"WebRtcTransport": true, "PlainTransport": true, "PipeTransport": true, "DirectTransport": true,
}

// errNoStats: an object whose Go value is not the media type its ROPE
// type says.
var errNoStats = errors.New("monitor: no stats for this value")

// probe is one object's stats call and where its answer goes.
type probe struct {
	id    string
	typ   string
	value any
	fig   ObjectFigures
	cnt   Counters
	cpuMs int64
	pid   int
	io    [2]uint64 // a transport's bytes in and out
	rated bool      // its stats had bitrates
	ok    bool
	// rank orders entries for MaxObjects: lower first.
	rank int
}

// Collect gathers the figures now: every media object's stats, at most
// Options.Parallel calls at once, bounded by ctx.
func (m *Monitor) Collect(ctx context.Context) *Figures {
	m.collectMu.Lock()
	defer m.collectMu.Unlock()
	start := time.Now()
	f := &Figures{Time: start.UnixMilli(), Interval: m.opts.Interval.Milliseconds(), Objects: map[string]ObjectFigures{}}
	var probes []*probe
	for _, o := range m.rs.Objects() {
		typ := o.Type()
		switch {
		case typ == "Worker":
			f.Totals.Workers++
		case typ == "Router":
			f.Totals.Routers++
			continue
		case transportTypes[typ]:
			f.Totals.Transports++
		case typ == "Producer":
			f.Totals.Producers++
		case typ == "Consumer":
			f.Totals.Consumers++
		case typ == "DataProducer":
			f.Totals.DataProducers++
			continue
		case typ == "DataConsumer":
			f.Totals.DataConsumers++
			continue
		default:
			continue
		}
		probes = append(probes, &probe{id: o.ID(), typ: typ, value: o.Value()})
	}
	m.runProbes(ctx, probes)
	m.account(f, probes, start)
	m.server(f, start)
	if m.opts.Servers != nil {
		f.Servers = m.opts.Servers()
	}
	f.CollectMillis = float64(time.Since(start).Microseconds()) / 1000
	m.c.last, m.c.lastAt = f, start
	return f
}

// runProbes runs the stats calls, Options.Parallel at once.
func (m *Monitor) runProbes(ctx context.Context, probes []*probe) {
	var wg sync.WaitGroup
	next := make(chan *probe)
	for range min(m.opts.Parallel, len(probes)) {
		wg.Go(func() {
			for p := range next {
				m.probe(ctx, p)
			}
		})
	}
	for _, p := range probes {
		next <- p
	}
	close(next)
	wg.Wait()
}

// probe fills p from its object's stats; a failure (an object closing
// meanwhile) leaves it out.
func (m *Monitor) probe(ctx context.Context, p *probe) {
	err := errNoStats
	switch {
	case p.typ == "Worker":
		if w, ok := p.value.(media.Worker); ok {
			err = p.worker(ctx, w)
		}
	case transportTypes[p.typ]:
		if t, ok := p.value.(media.Transport); ok {
			err = p.transport(ctx, t)
		}
	case p.typ == "Producer":
		if pr, ok := p.value.(media.Producer); ok {
			err = p.producer(ctx, pr)
		}
	case p.typ == "Consumer":
		if c, ok := p.value.(media.Consumer); ok {
			err = p.consumer(ctx, c)
		}
	}
	if err != nil {
		m.log.Debug("monitor: stats", "object", p.id, "type", p.typ, "err", err)
		return
	}
	p.ok = true
}

func (p *probe) worker(ctx context.Context, w media.Worker) error {
	ru, err := w.GetResourceUsage(ctx)
	if err != nil {
		return err
	}
	p.pid, p.cpuMs = w.PID(), ru.UTime+ru.STime
	p.fig.Mem = ru.MaxRSS * 1024 // ru_maxrss is in KiB on Linux
	p.rank = 0
	return nil
}

func (p *probe) transport(ctx context.Context, t media.Transport) error {
	st, err := t.GetStats(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		p.fig.Recv += s.RecvBitrate
		p.fig.Send += s.SendBitrate
		p.io[0] += s.BytesReceived
		p.io[1] += s.BytesSent
		p.rated = p.rated || s.RecvBitrate != 0 || s.SendBitrate != 0
		if s.AvailableOutgoingBitrate != nil {
			v := *s.AvailableOutgoingBitrate
			p.fig.AOB = &v
		}
	}
	p.rank = 1
	return nil
}

func (p *probe) producer(ctx context.Context, pr media.Producer) error {
	st, err := pr.GetStats(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		p.fig.Recv += s.Bitrate
		p.fig.Packets += s.PacketCount
		p.fig.Lost += s.PacketsLost
		p.fig.Loss = max(p.fig.Loss, float64(s.FractionLost)/256)
		if p.fig.Score == nil || s.Score < *p.fig.Score {
			score := s.Score
			p.fig.Score = &score
		}
		p.cnt.ReceivedPackets += s.PacketCount
		p.cnt.ReceivedBytes += s.ByteCount
		p.cnt.NacksSent += s.NackCount
		p.cnt.PlisSent += s.PliCount
		p.cnt.FirsSent += s.FirCount
	}
	p.rank = 2
	return nil
}

func (p *probe) consumer(ctx context.Context, c media.Consumer) error {
	st, err := c.GetStats(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		if s.Type != "outbound-rtp" {
			continue
		}
		p.fig.Send += s.Bitrate
		p.fig.Packets += s.PacketCount
		p.fig.Lost += s.PacketsLost
		p.fig.Loss = max(p.fig.Loss, float64(s.FractionLost)/256)
		score := s.Score
		p.fig.Score = &score
		if s.RoundTripTime != nil {
			rtt := *s.RoundTripTime
			p.fig.RTT = &rtt
		}
		p.cnt.ForwardedPackets += s.PacketCount
		p.cnt.ForwardedBytes += s.ByteCount
		p.cnt.NacksReceived += s.NackCount
		p.cnt.PlisReceived += s.PliCount
		p.cnt.FirsReceived += s.FirCount
	}
	// The worst first: a low score, then a high loss.
	p.rank = 3
	return nil
}

// account adds the probes' counters since the last collection to the
// totals, works out the workers' CPU, and keeps the per-object entries
// MaxObjects allows.
func (m *Monitor) account(f *Figures, probes []*probe, now time.Time) {
	c := &m.c
	elapsed := now.Sub(c.lastAt)
	seen := make(map[string]Counters, len(probes))
	io := map[string][2]uint64{}
	cpuSeen := map[int]int64{}
	kept := probes[:0]
	for _, p := range probes {
		if !p.ok {
			continue
		}
		kept = append(kept, p)
		if p.typ == "Worker" {
			if prev, ok := c.cpuPrev[p.pid]; ok && !c.lastAt.IsZero() && elapsed > 0 {
				cpu := float64(p.cpuMs-prev) / float64(elapsed.Milliseconds()) * 100
				cpu = max(cpu, 0)
				p.fig.CPU = &cpu
				if _, counted := cpuSeen[p.pid]; !counted {
					f.Totals.WorkersCPU += cpu
					c.cpuSecs += max(float64(p.cpuMs-prev), 0) / 1000
				}
			}
			cpuSeen[p.pid] = p.cpuMs
		}
		if transportTypes[p.typ] {
			io[p.id] = p.io
			if prev, ok := c.io[p.id]; ok && !p.rated && elapsed > 0 {
				// Bitrates from the byte counters, where the stats have none.
				p.fig.Recv = rateOf(p.io[0], prev[0], elapsed)
				p.fig.Send = rateOf(p.io[1], prev[1], elapsed)
			}
		}
		if p.typ == "Producer" || p.typ == "Consumer" {
			seen[p.id] = p.cnt
			c.totals.add(p.cnt.since(c.prev[p.id]))
		}
		f.Totals.RecvBitrate += recvOf(p)
		f.Totals.SendBitrate += sendOf(p)
	}
	c.prev, c.cpuPrev, c.io = seen, cpuSeen, io
	f.Totals.Counters = c.totals
	f.Totals.WorkersCPUSeconds = c.cpuSecs
	if len(kept) > m.opts.MaxObjects {
		slices.SortStableFunc(kept, func(a, b *probe) int {
			if r := cmp.Compare(a.rank, b.rank); r != 0 {
				return r
			}
			return cmp.Or(cmp.Compare(scoreOf(a), scoreOf(b)), cmp.Compare(b.fig.Loss, a.fig.Loss))
		})
		f.Omitted = len(kept) - m.opts.MaxObjects
		kept = kept[:m.opts.MaxObjects]
	}
	for _, p := range kept {
		f.Objects[p.id] = p.fig
	}
}

// rateOf is the bits/s of a byte counter that went from prev to cur.
func rateOf(cur, prev uint64, elapsed time.Duration) uint64 {
	if cur < prev {
		return 0
	}
	return uint64(float64(cur-prev) * 8 / elapsed.Seconds())
}

// recvOf and sendOf count transports only, so no bit counts twice.
func recvOf(p *probe) uint64 {
	if transportTypes[p.typ] {
		return p.fig.Recv
	}
	return 0
}

func sendOf(p *probe) uint64 {
	if transportTypes[p.typ] {
		return p.fig.Send
	}
	return 0
}

func scoreOf(p *probe) int {
	if p.fig.Score == nil {
		return 10
	}
	return *p.fig.Score
}

// since is c minus prev, each counter from zero when it went back (a
// new object under a reused id).
func (c Counters) since(prev Counters) Counters {
	d := func(cur, old uint64) uint64 {
		if cur < old {
			return cur
		}
		return cur - old
	}
	return Counters{
		ForwardedPackets: d(c.ForwardedPackets, prev.ForwardedPackets),
		ForwardedBytes:   d(c.ForwardedBytes, prev.ForwardedBytes),
		ReceivedPackets:  d(c.ReceivedPackets, prev.ReceivedPackets),
		ReceivedBytes:    d(c.ReceivedBytes, prev.ReceivedBytes),
		NacksReceived:    d(c.NacksReceived, prev.NacksReceived),
		NacksSent:        d(c.NacksSent, prev.NacksSent),
		PlisReceived:     d(c.PlisReceived, prev.PlisReceived),
		FirsReceived:     d(c.FirsReceived, prev.FirsReceived),
		PlisSent:         d(c.PlisSent, prev.PlisSent),
		FirsSent:         d(c.FirsSent, prev.FirsSent),
	}
}

func (c *Counters) add(d Counters) {
	c.ForwardedPackets += d.ForwardedPackets
	c.ForwardedBytes += d.ForwardedBytes
	c.ReceivedPackets += d.ReceivedPackets
	c.ReceivedBytes += d.ReceivedBytes
	c.NacksReceived += d.NacksReceived
	c.NacksSent += d.NacksSent
	c.PlisReceived += d.PlisReceived
	c.FirsReceived += d.FirsReceived
	c.PlisSent += d.PlisSent
	c.FirsSent += d.FirsSent
}

// server fills the ROPE server's figures and the process's CPU.
func (m *Monitor) server(f *Figures, now time.Time) {
	st := m.rs.Stats()
	f.Server = ServerFigures{
		Conns: st.Conns, QueuedMessages: st.QueuedMessages, QueuedBytes: st.QueuedBytes, MaxQueuedBytes: st.MaxQueuedBytes,
		ReplayMessages: st.ReplayMessages, ReplayBytes: st.ReplayBytes, StateBytes: st.StateBytes,
		Objects: st.Objects, Seq: st.Seq, InFlight: st.InFlight, Uptime: int64(now.Sub(m.started).Seconds()),
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	cpu := ru.Utime.Sec*1e6 + int64(ru.Utime.Usec) + ru.Stime.Sec*1e6 + int64(ru.Stime.Usec)
	f.Server.MaxRSS = int64(ru.Maxrss) * 1024
	if prev := m.c.selfPrev; prev != 0 && now.Sub(m.c.lastAt) > 0 {
		f.Server.CPU = float64(cpu-prev) / float64(now.Sub(m.c.lastAt).Microseconds()) * 100
	}
	m.c.selfPrev = cpu
}
