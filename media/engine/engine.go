// Package engine is the in-process implementation of the media API: a
// Worker runs inside the calling process, and its routers forward RTP
// between plain, pipe and direct transports on goroutines it owns.
//
// Packet path: on Linux a worker has one event loop (event_loop.go,
// media/internal/evloop): one goroutine, parked in Go's poller on an
// epoll set of all the worker's UDP sockets (plain, pipe, WebRTC, and
// WebRtcServer), that wakes once for every socket and timer that is
// ready, reads each ready socket in a batch (recvmmsg) into one buffer
// set shared by the worker, and runs the RTCP and bandwidth timers of
// all its transports (elsewhere, or with Options.PerSocketReaders, each
// socket has its own read goroutine and each transport its tickers). The
// read path finds the producer stream by SSRC in a copy-on-write table (a new SSRC is placed once by its MID and RID header
// extensions and then added to the table, see rtp_listener.go), and hands
// the packet to the producer, which
// forwards it synchronously to its consumers. Each consumer rewrites SSRC,
// payload type and sequence number, and writes its MID into the MID
// header extension, into its own output queue (the
// received packet is never modified after the producer hands it on); when
// the loop's turn (or the reader's batch) is done, each consumer sends
// its queue to its transport's socket with one sendmmsg. Nothing on that
// path allocates; sends and reads are raw non-blocking syscalls, which
// neither park the goroutine nor wake the runtime's sysmon.
//
// A transport whose producer negotiated transport-cc records each
// packet's transport-wide sequence number and arrival time on that path
// too, and sends the sender transport-cc feedback every 100 ms from its
// RTCP goroutine (bwe.go), as mediasoup does, so that browsers raise their
// send rate and simulcast layers; one whose producer negotiated
// abs-send-time and goog-remb instead estimates the bandwidth itself and
// sends REMB (bwe_remb.go).
//
// WebRtcTransports run on media/webrtc, with their own sockets or on a
// WebRtcServer's (webrtc_server.go), whose sockets route packets to them
// by ICE ufrag, then by tuple; their RTP joins the same forwarding path:
// a socket's recvmmsg batch is decrypted packet by packet into the
// consumers' queues, and when it ends (OnReadBatchEnd) each consumer's
// queue is encrypted in place under one SRTP lock and sent with one
// sendmmsg; the queues of consumers whose transports share a
// WebRtcServer socket leave it together (webrtc.RTPBatchWriter).
//
// Data producers and consumers of WebRTC, plain and pipe transports ride
// an SCTP association (sctp_data.go): over DTLS for WebRtcTransports,
// straight in the UDP datagrams for plain and pipe transports created
// with enableSctp (sctp_udp.go), as mediasoup does. There the read
// goroutine tells SCTP from RTP and RTCP by the first bytes (only what is
// neither is looked at again) and queues it to the association's own
// goroutines; RTP's path is unchanged. PipeToRouter pipes data producers
// over the same pair of pipe transports as producers.
//
// A worker is a unit of failure, as a mediasoup worker process: every
// goroutine the engine runs for it (and media/webrtc's, through OnPanic)
// recovers a panic, after which the worker dies ("died",
// ErrWorkerPanicked) and closes its objects while the process and the
// other workers go on (died.go). Its logs go to Options.Logger, filtered
// by its logLevel and logTags as mediasoup's (logging.go).
//
// Lock order (outer first): pipeMu, worker.mu, router.mu, transport.mu,
// producer.sendMu, producer.ingress, consumer.mu, producer.consMu,
// rtppkt.Store, srtpSession.sendMu. udpLink.regMu and loopTimers.mu
// come before worker.mu and the event loop's own lock (a leaf); a
// socket's Remove and a timer's Stop, which wait for the loop's turn to
// end, are called with no engine lock held. tccServer.mu and rembServer.mu are leaves (no
// lock taken under them). tccClient.mu (bwe_send.go) comes after
// transport.mu; a tccClient's gcc.History lock is a leaf, taken under
// tccClient.mu or consumer.mu; transportRates.mu is a leaf. sctpData.mu is taken with no engine lock held,
// before sctpUDP.mu (a leaf) and pion's locks. webRtcServer.mu is taken with no
// other engine lock held. Events are emitted with no lock held,
// except "rtp" (Consumer.OnRtp) and "rtcp" (DirectTransport.OnRtcp),
// which run on the packet path: their handlers must not call back into
// the engine synchronously (hand the work to another goroutine).
package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
)

// Options tune the local engine. The zero value gives the defaults.
type Options struct {
	// RTCPInterval is the period of generated RTCP reports (SR for
	// consumers, RR for producers) and score updates; default 1s.
	RTCPInterval time.Duration
	// PerSocketReaders gives each socket of plain and pipe transports its
	// own reader goroutine and each transport its own tickers, instead of
	// the worker's event loop (Linux; elsewhere there is none). Default
	// false.
	PerSocketReaders bool
	// LoopWaitsOnThread has each worker's event loop wait in epoll_wait
	// on its own thread while packets keep coming, instead of parking in
	// Go's poller between them (evloop.Options.WaitOnThread): for a
	// process that runs one worker on one P (GOMAXPROCS=1), such as a
	// worker child (media/workerproc). Default false.
	LoopWaitsOnThread bool
	// SendQueue bounds, in bytes, the queue each socket of the event
	// loop keeps of datagrams its full send buffer refused, sent in
	// order once it is writable (mediasoup's libuv queues them too);
	// beyond it they are dropped. Default 256 KiB per socket; negative:
	// none, drop at once. Without the event loop sends wait for room.
	SendQueue int
	// OutPoolBytes bounds the packet buffers each worker lends its
	// consumers' output queues beyond one buffer each (out_pool.go): a
	// read batch that brings a consumer several packets queues them for
	// one sendmmsg while the pool has buffers, and a consumer that finds
	// none sends what it queued first. Default DefaultOutPoolBytes
	// (1 MiB, 698 buffers).
	OutPoolBytes int
	// NoSendRing has each consumer's packets sent with a system call of
	// their own instead of one io_uring submission per event-loop turn
	// for all the plain and pipe transports' consumers (send_ring.go).
	// Without io_uring (other systems, a kernel or sandbox that refuses
	// it) that is what happens anyway. Default false.
	NoSendRing bool
	// Logger receives the workers' logs, each worker's filtered by its
	// logLevel and logTags (WorkerSettings, UpdateSettings) as
	// mediasoup's worker filters its own. Default: text on stderr, as
	// mediasoup's workers log.
	Logger *slog.Logger
}

type api struct {
	opts        Options
	onNewWorker event.Listeners[media.Worker]
}

var (
	_ media.API               = (*api)(nil)
	_ media.Versioned         = (*api)(nil)
	_ media.NewWorkerNotifier = (*api)(nil)
)

// Version is media.Version(): the mediasoup version followed, with this
// module's.
func (a *api) Version() string { return media.Version() }

// OnNewWorker (mediasoup's observer "newworker") fires for each worker
// CreateWorker makes, before it returns.
func (a *api) OnNewWorker(fn func(media.Worker)) func() { return a.onNewWorker.On(fn) }

// New returns the local engine's entry point. opts may be nil.
func New(opts *Options) media.API {
	a := &api{}
	if opts != nil {
		a.opts = *opts
	}
	if a.opts.RTCPInterval <= 0 {
		a.opts.RTCPInterval = time.Second
	}
	if a.opts.OutPoolBytes <= 0 {
		a.opts.OutPoolBytes = DefaultOutPoolBytes
	}
	if a.opts.Logger == nil {
		a.opts.Logger = slog.New(defaultLogHandler())
	}
	return a
}

func (a *api) SupportedRtpCapabilities() media.RtpCapabilities {
	return supportedCapabilities()
}

func (a *api) CreateWorker(ctx context.Context, s *media.WorkerSettings) (media.Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	settings := media.WorkerSettings{LogLevel: media.LogLevelError, RtcMinPort: 10000, RtcMaxPort: 59999}
	if s != nil {
		settings.LogTags = s.LogTags
		settings.AppData = s.AppData
		settings.LibwebrtcFieldTrials, settings.DisableLiburing = s.LibwebrtcFieldTrials, s.DisableLiburing
		if s.LogLevel != "" {
			settings.LogLevel = s.LogLevel
		}
		if s.RtcMinPort != 0 {
			settings.RtcMinPort = s.RtcMinPort
		}
		if s.RtcMaxPort != 0 {
			settings.RtcMaxPort = s.RtcMaxPort
		}
	}
	if settings.RtcMinPort > settings.RtcMaxPort {
		return nil, &media.ParamError{Field: "rtcMinPort", Reason: fmt.Sprintf("greater than rtcMaxPort (%d > %d)", settings.RtcMinPort, settings.RtcMaxPort)}
	}
	if !validLogLevel(settings.LogLevel) {
		return nil, &media.ParamError{Field: "logLevel", Reason: fmt.Sprintf("invalid %q", settings.LogLevel)}
	}
	var cert *dtlstransport.Certificate
	if s != nil {
		settings.DtlsCertificateFile, settings.DtlsPrivateKeyFile = s.DtlsCertificateFile, s.DtlsPrivateKeyFile
		var err error
		if cert, err = loadCertificate(settings.DtlsCertificateFile, settings.DtlsPrivateKeyFile); err != nil {
			return nil, err
		}
	}
	w := newWorker(a, settings)
	w.cert = cert
	a.onNewWorker.Emit(w)
	return w, nil
}

// loadCertificate reads the DTLS certificate and key a worker's settings
// name (PEM files, as mediasoup's dtlsCertificateFile and
// dtlsPrivateKeyFile); none named: nil, the generated one is used. Only
// one of them named, or files that do not hold a matching pair, is a
// TypeError naming the field (without the OS's text).
func loadCertificate(certFile, keyFile string) (*dtlstransport.Certificate, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "":
		return nil, &media.ParamError{Field: "dtlsCertificateFile", Reason: "missing (dtlsPrivateKeyFile is given)"}
	case keyFile == "":
		return nil, &media.ParamError{Field: "dtlsPrivateKeyFile", Reason: "missing (dtlsCertificateFile is given)"}
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, &media.ParamError{Field: "dtlsCertificateFile", Reason: "cannot load a certificate and key from the files given"}
	}
	cert, err := dtlstransport.NewCertificate(pair)
	if err != nil {
		return nil, &media.ParamError{Field: "dtlsCertificateFile", Reason: "unusable certificate"}
	}
	return cert, nil
}

func validLogLevel(l media.WorkerLogLevel) bool { return l.Valid() }
