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

	"github.com/ropehq/rope/mafalda"
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
	// Pool are the workers of a Mafalda (-media-mode=mafalda), which are
	// not ROPE objects: its MafaldaRouters' routers run on them.
	Pool []PoolWorker `json:"pool,omitempty"`
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
	Workers       int `json:"workers"` // Worker objects and a Mafalda's pool
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
	// KeyFramesReceived counts the key frames producers received,
	// KeyFramesSent those consumers sent (from the stats' keyFrames).
	KeyFramesReceived uint64 `json:"keyFramesReceived"`
	KeyFramesSent     uint64 `json:"keyFramesSent"`
}

// PoolWorker is one worker of a Mafalda's pool and its figures.
type PoolWorker struct {
	ID  string `json:"id"`
	PID int    `json:"pid"`
	ObjectFigures
}

// pool is a Mafalda (mafalda.Service), which reports its workers.
type pool interface {
	GetResourceUsages(ctx context.Context) ([]mafalda.WorkerUsage, error)
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
	lastAt time.Time
	// objs holds, per live object probed at least once, what its last
	// probe found.
	objs     map[string]*sample
	cpuPrev  map[int]int64 // per worker pid: CPU ms last seen
	selfPrev int64         // the server process's CPU µs
	totals   Counters
	cpuSecs  float64
	// cursor is where the next collection's probes start among the
	// objects other than workers (Options.MaxStatsCalls).
	cursor int
}

// sample is one object's last probe.
type sample struct {
	at   time.Time
	fig  ObjectFigures
	cnt  Counters
	io   [2]uint64
	rank int
}

func newCollector() collector {
	return collector{objs: map[string]*sample{}, cpuPrev: map[int]int64{}}
}

// Object kinds by ROPE type (spec/media-v1.md).
var transportTypes = map[string]bool{
	"WebRtcTransport": true, "PlainTransport": true, "PipeTransport": true, "DirectTransport": true,
}

// errNoStats: an object whose Go value is not the media type its ROPE
// type says.
var errNoStats = errors.New("monitor: no stats for this value")

// probe is one object's stats call and what it found.
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

// Collect gathers the figures now: the stats of every worker and of up to
// Options.MaxStatsCalls other media objects (taking turns: the others
// keep the figures of their last turn), at most Options.Parallel calls
// at once, bounded by ctx.
func (m *Monitor) Collect(ctx context.Context) *Figures {
	m.collectMu.Lock()
	defer m.collectMu.Unlock()
	return m.collectLocked(ctx)
}

// collectLocked is Collect with collectMu held.
func (m *Monitor) collectLocked(ctx context.Context) *Figures {
	start := time.Now()
	f := &Figures{Time: start.UnixMilli(), Interval: m.opts.Interval.Milliseconds(), Objects: map[string]ObjectFigures{}}
	var workers, others []*probe
	var pools []pool
	for _, o := range m.rs.Objects() {
		typ := o.Type()
		switch {
		case typ == "Mafalda":
			if p, ok := o.Value().(pool); ok {
				pools = append(pools, p)
			}
			continue
		case typ == "Worker":
			workers = append(workers, &probe{id: o.ID(), typ: typ, value: o.Value()})
			continue
		case typ == "Router" || typ == "MafaldaRouter":
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
		others = append(others, &probe{id: o.ID(), typ: typ, value: o.Value()})
	}
	probes := slices.Concat(workers, m.turn(others))
	m.runProbes(ctx, probes)
	workers = slices.Concat(workers, m.poolProbes(ctx, pools))
	f.Totals.Workers = len(workers)
	m.account(f, workers, others, probes, start)
	m.server(f, start)
	if m.opts.Servers != nil {
		f.Servers = m.opts.Servers()
	}
	f.CollectMillis = float64(time.Since(start).Microseconds()) / 1000
	m.c.lastAt = start
	m.last.Store(f)
	return f
}

// poolProbes lists the workers of the Mafaldas' pools as probes whose
// resource usage is already in (one GetResourceUsages per Mafalda).
func (m *Monitor) poolProbes(ctx context.Context, pools []pool) []*probe {
	var out []*probe
	for _, p := range pools {
		usages, err := p.GetResourceUsages(ctx)
		if err != nil {
			m.log.Debug("monitor: mafalda workers", "err", err)
			continue
		}
		for _, u := range usages {
			if u.Usage == nil {
				continue
			}
			out = append(out, &probe{id: u.WorkerID, typ: typePoolWorker, pid: u.PID, ok: true,
				cpuMs: u.Usage.UTime + u.Usage.STime, fig: ObjectFigures{Mem: u.Usage.MaxRSS * 1024}})
		}
	}
	return out
}

// typePoolWorker marks the probes of a Mafalda's workers.
const typePoolWorker = "@pool"

// turn picks the objects probed this time: all of them, or
// MaxStatsCalls from the cursor on, wrapping around.
func (m *Monitor) turn(others []*probe) []*probe {
	n := m.opts.MaxStatsCalls
	if len(others) <= n {
		m.c.cursor = 0
		return others
	}
	from := m.c.cursor % len(others)
	out := make([]*probe, 0, n)
	out = append(out, others[from:min(from+n, len(others))]...)
	out = append(out, others[:n-len(out)]...)
	m.c.cursor = (from + n) % len(others)
	return out
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
		p.cnt.KeyFramesReceived += s.KeyFrames
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
		p.cnt.KeyFramesSent += s.KeyFrames
	}
	p.rank = 3
	return nil
}

// account adds what the probed objects counted since their last turn to
// the totals, works out the workers' CPU and the transports' bitrates,
// and keeps the per-object entries MaxObjects allows, from every live
// object's last turn.
func (m *Monitor) account(f *Figures, workers, others, probed []*probe, now time.Time) {
	c := &m.c
	elapsed := now.Sub(c.lastAt)
	cpuSeen := map[int]int64{}
	for _, p := range workers {
		if !p.ok {
			continue
		}
		if prev, ok := c.cpuPrev[p.pid]; ok && !c.lastAt.IsZero() && elapsed > 0 {
			cpu := max(float64(p.cpuMs-prev)/float64(elapsed.Milliseconds())*100, 0)
			p.fig.CPU = &cpu
			if _, counted := cpuSeen[p.pid]; !counted {
				f.Totals.WorkersCPU += cpu
				c.cpuSecs += max(float64(p.cpuMs-prev), 0) / 1000
			}
		}
		cpuSeen[p.pid] = p.cpuMs
	}
	c.cpuPrev = cpuSeen
	for _, p := range probed {
		if !p.ok || p.typ == "Worker" {
			continue
		}
		prev, seen := c.objs[p.id]
		if transportTypes[p.typ] && seen && !p.rated {
			// Bitrates from the byte counters, where the stats have none.
			if d := now.Sub(prev.at); d > 0 {
				p.fig.Recv = rateOf(p.io[0], prev.io[0], d)
				p.fig.Send = rateOf(p.io[1], prev.io[1], d)
			}
		}
		var old Counters
		if seen {
			old = prev.cnt
		}
		c.totals.add(p.cnt.since(old))
		c.objs[p.id] = &sample{at: now, fig: p.fig, cnt: p.cnt, io: p.io, rank: p.rank}
	}
	// The entries: workers as probed now, the others from their last turn.
	type entry struct {
		id string
		s  *sample
	}
	entries := make([]entry, 0, len(workers)+len(others))
	for _, p := range workers {
		switch {
		case !p.ok:
		case p.typ == typePoolWorker:
			f.Pool = append(f.Pool, PoolWorker{ID: p.id, PID: p.pid, ObjectFigures: p.fig})
		default:
			entries = append(entries, entry{p.id, &sample{fig: p.fig}})
		}
	}
	live := make(map[string]*sample, len(others))
	for _, p := range others {
		s, ok := c.objs[p.id]
		if !ok {
			continue
		}
		live[p.id] = s
		entries = append(entries, entry{p.id, s})
		if transportTypes[p.typ] {
			f.Totals.RecvBitrate += s.fig.Recv
			f.Totals.SendBitrate += s.fig.Send
		}
	}
	c.objs = live // closed objects leave
	f.Totals.Counters = c.totals
	f.Totals.WorkersCPUSeconds = c.cpuSecs
	if len(entries) > m.opts.MaxObjects {
		slices.SortStableFunc(entries, func(a, b entry) int {
			if r := cmp.Compare(a.s.rank, b.s.rank); r != 0 {
				return r
			}
			// The worst first: a low score, then a high loss.
			return cmp.Or(cmp.Compare(scoreOf(a.s.fig), scoreOf(b.s.fig)), cmp.Compare(b.s.fig.Loss, a.s.fig.Loss))
		})
		f.Omitted = len(entries) - m.opts.MaxObjects
		entries = entries[:m.opts.MaxObjects]
	}
	for _, e := range entries {
		f.Objects[e.id] = e.s.fig
	}
}

// rateOf is the bits/s of a byte counter that went from prev to cur.
func rateOf(cur, prev uint64, elapsed time.Duration) uint64 {
	if cur < prev {
		return 0
	}
	return uint64(float64(cur-prev) * 8 / elapsed.Seconds())
}

func scoreOf(f ObjectFigures) int {
	if f.Score == nil {
		return 10
	}
	return *f.Score
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
		ForwardedPackets:  d(c.ForwardedPackets, prev.ForwardedPackets),
		ForwardedBytes:    d(c.ForwardedBytes, prev.ForwardedBytes),
		ReceivedPackets:   d(c.ReceivedPackets, prev.ReceivedPackets),
		ReceivedBytes:     d(c.ReceivedBytes, prev.ReceivedBytes),
		NacksReceived:     d(c.NacksReceived, prev.NacksReceived),
		NacksSent:         d(c.NacksSent, prev.NacksSent),
		PlisReceived:      d(c.PlisReceived, prev.PlisReceived),
		FirsReceived:      d(c.FirsReceived, prev.FirsReceived),
		PlisSent:          d(c.PlisSent, prev.PlisSent),
		FirsSent:          d(c.FirsSent, prev.FirsSent),
		KeyFramesReceived: d(c.KeyFramesReceived, prev.KeyFramesReceived),
		KeyFramesSent:     d(c.KeyFramesSent, prev.KeyFramesSent),
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
	c.KeyFramesReceived += d.KeyFramesReceived
	c.KeyFramesSent += d.KeyFramesSent
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
