package mafalda

import (
	"context"
	"math"

	"github.com/ropehq/rope/media"
)

// LoadFunc returns a worker's load in percent of one CPU. A worker whose
// load reaches a MafaldaRouter's WatermarkWorker takes no more of its
// transports while another worker can.
type LoadFunc func(ctx context.Context, w media.Worker) (float64, error)

// Options configure a Mafalda. nil means all defaults. They apply to the
// Mafalda's own placements, also over the workers it shares with other
// Mafaldas over the same API ("Sharing" in the package doc).
type Options struct {
	// CPUs caps the workers per set of worker settings (one worker per
	// CPU): a placement of this Mafalda creates a worker only while the
	// pool, shared with the other Mafaldas over the same API, has fewer
	// workers with those settings. Mafaldas that share a pool should
	// agree on it; one with a smaller CPUs creates no worker beyond its
	// cap but uses those others created. Default runtime.NumCPU().
	CPUs int
	// LoadFunc measures a worker's load. Default: the CPU percentage the
	// worker used between its last two measurements, from
	// GetResourceUsage (user + system time over wall time; 0 until there
	// are two), measured again when a placement comes at least a second
	// after the last measurement; the samples are shared by the
	// Mafaldas of a pool. With the local engine every worker
	// shares the process's usage; with media/workerproc each worker is
	// a process and the figure is that process's own.
	LoadFunc LoadFunc
	// MaxConsumersPerWorker, when positive, counts a worker carrying that
	// many consumers (pipe consumers included, those of every Mafalda of
	// the pool counted) as full, whatever its load, for this Mafalda's
	// placements. Default 0: no limit.
	MaxConsumersPerWorker int
	// PipeOptions are the ListenInfo, EnableSctp, NumSctpStreams,
	// EnableRtx and EnableSrtp of the pipes opened on demand between
	// routers; default PipeToRouter's (UDP on 127.0.0.1, no RTX, no SRTP).
	PipeOptions *media.PipeToRouterOptions
	// PipeFanout shapes the pipes of each MafaldaRouter: its routers sit
	// in slots 0, 1, 2, … (the lowest free slot when they join) and a
	// producer travels hop by hop along the tree in which slot i's
	// parent is slot (i−1)/PipeFanout, relayed by the routers between
	// its origin and each router consuming it. A room over n routers then
	// needs at most 2·(n−1) pipe transport pairs (one each way per edge)
	// where piping from the origin into every router needs up to n·(n−1).
	// 1 makes a chain, PipeStar a star around slot 0; PipeDirect (any
	// negative value) pipes from the origin into each router directly,
	// as before trees. Default (0): DefaultPipeFanout, 4, which is a
	// star up to 5 routers and two levels (a path of at most 4 hops)
	// up to 21, while no router relays for more than 4 children and its
	// parent, so no one worker carries every relay as a star's hub does.
	// It pays because pipe transport pairs are reused per pair of routers
	// (the engine, worker processes and servers of a cluster alike, as
	// mediasoup does between workers).
	PipeFanout int
}

const (
	// DefaultPipeFanout is Options.PipeFanout's default.
	DefaultPipeFanout = 4
	// PipeStar as Options.PipeFanout pipes every producer through the
	// router in slot 0 (when it leaves, the lowest slot occupied).
	PipeStar = math.MaxInt
	// PipeDirect as Options.PipeFanout pipes every producer from its
	// origin straight into each router consuming it: the fewest hops,
	// and a full mesh of pipe transport pairs.
	PipeDirect = -1
)

// MafaldaRouterOptions configure Mafalda.CreateMafaldaRouter. nil means
// all defaults.
type MafaldaRouterOptions struct {
	// ID of the MafaldaRouter; default a new UUID.
	ID string `json:"id,omitempty"`
	// MaxWorkers caps the workers this MafaldaRouter creates itself; it
	// also uses workers that others created. nil means runtime.NumCPU();
	// 0 means it creates none and only uses workers already running.
	MaxWorkers *int `json:"maxWorkers,omitempty"`
	// RouterOptions are given to every router it creates; MediaCodecs
	// decide its RTP capabilities. Routers with the same MediaCodecs on
	// one worker are shared by every MafaldaRouter.
	RouterOptions media.RouterOptions `json:"routerOptions"`
	// WorkerSettings are given to every worker it creates; workers with
	// the same settings (appData aside) are shared.
	WorkerSettings media.WorkerSettings `json:"workerSettings"`
	// WebRtcServerOptions, when set, give every worker this
	// MafaldaRouter places a WebRTC transport on one WebRtcServer, created
	// at the first such transport and closed with the worker, and its
	// WebRTC transports created without ListenInfos or WebRtcServer use
	// it. The server is shared by every MafaldaRouter of the pool with the
	// same WorkerSettings and the same listen infos (appData aside). The
	// worker with slot i among those with its WorkerSettings (0 for the
	// first, the lowest slot free for the next; a slot is free again once
	// its worker has closed) listens on each fixed port plus i: with
	// port P, workers 0..N-1 listen on P..P+N-1, so Options.CPUs workers
	// need that many consecutive free ports. A listen info with a
	// portRange (port 0) is given as is. The API's workers must support
	// CreateWebRtcServer: over another Mafalda's API (whose worker views
	// do not) the transports fail with media.ErrUnsupported. Default
	// nil: transports take the listen infos given to
	// CreateWebRtcTransport.
	WebRtcServerOptions *media.WebRtcServerOptions `json:"webRtcServerOptions,omitempty"`
	// WatermarkWorker is the load (LoadFunc percent) from which a worker
	// takes no more of its transports while another can; default 60.
	WatermarkWorker float64 `json:"watermarkWorker,omitempty"`
}

// DefaultWatermarkWorker is MafaldaRouterOptions.WatermarkWorker's default.
const DefaultWatermarkWorker = 60

// Int returns a pointer to n, for MafaldaRouterOptions.MaxWorkers.
func Int(n int) *int { return &n }
