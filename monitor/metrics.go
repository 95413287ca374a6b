package monitor

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ropehq/rope/ropeserver"
)

// Metrics are the Prometheus metrics of one server, in a registry of
// their own (no globals): the ROPE server's calls (counted by
// ObserveCall, which goes in ropeserver.Options.OnCall), and at each
// scrape its connections, queues and replay ring, and the Monitor's
// figures (collected for the scrape when older than half an interval).
// Every label has a bounded set of values: methods of registered types,
// error codes, object types, directions.
type Metrics struct {
	reg   *prometheus.Registry
	calls *prometheus.CounterVec
	mon   atomic.Pointer[Monitor]
}

// NewMetrics returns the metrics, with Go's runtime and process
// collectors; attach a Monitor with Options.Metrics.
func NewMetrics() *Metrics {
	x := &Metrics{reg: prometheus.NewRegistry()}
	x.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rope_calls_total",
		Help: "ROPE requests answered, by method (<Type>.<method>, rope.setAppData, rope.ping, rope.call when the object or method was not found, other) and error code (0: a result).",
	}, []string{"method", "code"})
	x.reg.MustRegister(x.calls, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		(*metricsCollector)(x))
	return x
}

// Registry is the registry /metrics serves.
func (x *Metrics) Registry() *prometheus.Registry { return x.reg }

// ObserveCall counts one answered request; it is a ropeserver.Options.OnCall.
func (x *Metrics) ObserveCall(ci ropeserver.CallInfo) {
	x.calls.WithLabelValues(ci.Method, strconv.Itoa(ci.Code)).Inc()
}

func (x *Metrics) attach(m *Monitor) { x.mon.Store(m) }

// metricsCollector reads the server and the Monitor at each scrape.
type metricsCollector Metrics

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descConns          = desc("rope_connections", "Open ROPE connections.")
	descQueuedMessages = desc("rope_send_queue_messages", "Messages waiting in all connections' send queues (the notification queue depth).")
	descQueuedBytes    = desc("rope_send_queue_bytes", "Bytes waiting in all connections' send queues.")
	descMaxQueuedBytes = desc("rope_send_queue_max_bytes", "Bytes waiting in the fullest connection's send queue.")
	descReplayMessages = desc("rope_replay_ring_messages", "Notifications kept in the replay ring for resume.")
	descReplayBytes    = desc("rope_replay_ring_bytes", "Bytes of the notifications kept in the replay ring.")
	descStateBytes     = desc("rope_state_bytes", "Bytes of all objects' state (what rope.init carries).")
	descObjects        = desc("rope_objects", "Live ROPE objects.")
	descInFlight       = desc("rope_requests_in_flight", "Requests running.")
	descMedia          = desc("rope_media_objects", "Live media objects by type.", "type")
	descBitrate        = desc("rope_media_transport_bitrate_bits_per_second", "Sum of the transports' bitrates, by direction.", "direction")
	descPackets        = desc("rope_media_packets_total", "RTP packets: forwarded by consumers (direction=out), received by producers (in).", "direction")
	descBytes          = desc("rope_media_bytes_total", "RTP bytes: forwarded by consumers (direction=out), received by producers (in).", "direction")
	descNacks          = desc("rope_media_nacks_total", "NACKs received from consumers' endpoints (direction=in) and sent by producers to theirs (out).", "direction")
	descPlis           = desc("rope_media_plis_total", "PLIs received from consumers' endpoints (direction=in) and sent by producers to theirs (out).", "direction")
	descFirs           = desc("rope_media_firs_total", "FIRs received from consumers' endpoints (direction=in) and sent by producers to theirs (out).", "direction")
	descKeyFrames      = desc("rope_media_keyframes_total", "Key frames received by producers (direction=in) and sent by consumers (out).", "direction")
	descKeyFrameAsks   = desc("rope_media_keyframe_requests_total", "Key frames asked of senders (PLIs and FIRs the producers sent).")
	descWorkerCPU      = desc("rope_media_workers_cpu_seconds_total", "CPU time of the worker processes while the monitor saw them (in-process workers: the server's process).")
	descWorkerCPUNow   = desc("rope_media_workers_cpu_ratio", "CPU of the worker processes over the last interval, in cores.")
	descSubscribers    = desc("rope_monitor_subscribers", "Connections subscribed to the Monitor's figures.")
	descMonitorSent    = desc("rope_monitor_notifications_total", "Figures notifications sent to monitor subscribers.")
	descMonitorBytes   = desc("rope_monitor_notification_bytes_total", "Bytes of the figures notifications sent.")
	descCollectSeconds = desc("rope_monitor_collect_seconds", "How long the last collection of figures took.")
)

// Describe sends every metric's description.
func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConns, descQueuedMessages, descQueuedBytes, descMaxQueuedBytes,
		descReplayMessages, descReplayBytes, descStateBytes, descObjects, descInFlight, descMedia, descBitrate,
		descPackets, descBytes, descNacks, descPlis, descFirs, descKeyFrames, descKeyFrameAsks, descWorkerCPU, descWorkerCPUNow,
		descSubscribers, descMonitorSent, descMonitorBytes, descCollectSeconds} {
		ch <- d
	}
}

// Collect reads the server and the Monitor's figures.
func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.mon.Load()
	if m == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	st := m.rs.Stats()
	gauge(descConns, float64(st.Conns))
	gauge(descQueuedMessages, float64(st.QueuedMessages))
	gauge(descQueuedBytes, float64(st.QueuedBytes))
	gauge(descMaxQueuedBytes, float64(st.MaxQueuedBytes))
	gauge(descReplayMessages, float64(st.ReplayMessages))
	gauge(descReplayBytes, float64(st.ReplayBytes))
	gauge(descStateBytes, float64(st.StateBytes))
	gauge(descObjects, float64(st.Objects))
	gauge(descInFlight, float64(st.InFlight))

	ctx, cancel := context.WithTimeout(context.Background(), max(m.opts.Interval, 5*time.Second))
	f := m.Figures(ctx)
	cancel()
	t := f.Totals
	for typ, n := range map[string]int{"worker": t.Workers, "router": t.Routers, "transport": t.Transports,
		"producer": t.Producers, "consumer": t.Consumers, "dataproducer": t.DataProducers, "dataconsumer": t.DataConsumers} {
		gauge(descMedia, float64(n), typ)
	}
	gauge(descBitrate, float64(t.RecvBitrate), "in")
	gauge(descBitrate, float64(t.SendBitrate), "out")
	counter(descPackets, float64(t.ForwardedPackets), "out")
	counter(descPackets, float64(t.ReceivedPackets), "in")
	counter(descBytes, float64(t.ForwardedBytes), "out")
	counter(descBytes, float64(t.ReceivedBytes), "in")
	counter(descNacks, float64(t.NacksReceived), "in")
	counter(descNacks, float64(t.NacksSent), "out")
	counter(descPlis, float64(t.PlisReceived), "in")
	counter(descPlis, float64(t.PlisSent), "out")
	counter(descFirs, float64(t.FirsReceived), "in")
	counter(descFirs, float64(t.FirsSent), "out")
	counter(descKeyFrames, float64(t.KeyFramesReceived), "in")
	counter(descKeyFrames, float64(t.KeyFramesSent), "out")
	counter(descKeyFrameAsks, float64(t.PlisSent+t.FirsSent))
	counter(descWorkerCPU, t.WorkersCPUSeconds)
	gauge(descWorkerCPUNow, t.WorkersCPU/100)
	gauge(descSubscribers, float64(m.Subscribers()))
	sent, bytes := m.Sent()
	counter(descMonitorSent, float64(sent))
	counter(descMonitorBytes, float64(bytes))
	gauge(descCollectSeconds, f.CollectMillis/1000)
}
