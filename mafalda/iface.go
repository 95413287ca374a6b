package mafalda

import (
	"context"

	"github.com/ropehq/rope/media"
)

// Service is what a Mafalda offers, in process (*Mafalda) or over ROPE
// (mafalda/mafaldaclient.Client), so an application swaps one constructor
// to move its Mafalda to another machine. Closing is left to whoever made
// it: Mafalda.Close closes its MafaldaRouters and the workers no other
// Mafalda uses, a client's Close its connection.
type Service interface {
	// SupportedRtpCapabilities are the underlying media API's.
	SupportedRtpCapabilities() media.RtpCapabilities
	// CreateRouter creates a MafaldaRouter (Mafalda.CreateMafaldaRouter).
	CreateRouter(ctx context.Context, o *MafaldaRouterOptions) (Router, error)
	// GetMafaldaRouter returns the open MafaldaRouter with that id.
	GetMafaldaRouter(id string) (Router, bool)
	// GetResourceUsages returns the resource usage of every worker.
	GetResourceUsages(ctx context.Context) ([]WorkerUsage, error)
	// Dump returns the state of every worker and MafaldaRouter.
	Dump(ctx context.Context) (*Dump, error)
	// CloseAllMafaldaRouters closes every MafaldaRouter.
	CloseAllMafaldaRouters(ctx context.Context) error
	// API is the Mafalda as a media.API (Mafalda.API).
	API() media.API
}

// Router is what a MafaldaRouter offers, in process (*MafaldaRouter) or
// over ROPE (*mafaldaclient.MafaldaRouter): the media.Router API and the
// Mafalda events. The routers and workers it spans are named by
// RouterInfo and WorkerInfo, which a remote client can receive.
type Router interface {
	media.Router
	// Options are the options it was created with, defaults applied.
	Options() MafaldaRouterOptions
	// Transports and RtpObservers are the open ones it handed out.
	Transports() []media.Transport
	RtpObservers() []media.RtpObserver
	// OnError ("error") reports failures that no call returns.
	OnError(fn func(error)) (off func())
	// OnNewRouterInfo ("newrouter") fires when it starts using a router.
	OnNewRouterInfo(fn func(RouterInfo)) (off func())
	// OnWorkerDiedInfo ("workerdied") fires when a worker it uses died.
	OnWorkerDiedInfo(fn func(WorkerInfo, error)) (off func())
}

var (
	_ Service = (*Mafalda)(nil)
	_ Router  = (*MafaldaRouter)(nil)
)

// RouterInfo names a router a MafaldaRouter uses and its worker: the data
// of "newrouter" on the wire.
type RouterInfo struct {
	RouterID string     `json:"routerId"`
	Worker   WorkerInfo `json:"worker"`
}

// WorkerInfo names a worker Mafalda uses: its id (WorkerDump.ID) and
// process id.
type WorkerInfo struct {
	WorkerID string `json:"workerId"`
	PID      int    `json:"pid"`
}

// CreateRouter is CreateMafaldaRouter returning the Router interface.
func (m *Mafalda) CreateRouter(ctx context.Context, o *MafaldaRouterOptions) (Router, error) {
	mr, err := m.CreateMafaldaRouter(ctx, o)
	if err != nil {
		return nil, err
	}
	return mr, nil
}

// GetMafaldaRouter returns the open MafaldaRouter with that id.
func (m *Mafalda) GetMafaldaRouter(id string) (Router, bool) {
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	mr, ok := m.routers[id]
	if !ok {
		return nil, false
	}
	return mr, true
}

// workerInfo names a worker Mafalda uses; one it no longer knows gets
// only its PID.
func (m *Mafalda) workerInfo(w media.Worker) WorkerInfo {
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	for _, we := range m.p.workers {
		if we.worker == w {
			return WorkerInfo{WorkerID: we.id, PID: w.PID()}
		}
	}
	return WorkerInfo{PID: w.PID()}
}

// OnNewRouterInfo is OnNewRouter with the router and worker named.
func (mr *MafaldaRouter) OnNewRouterInfo(fn func(RouterInfo)) func() {
	if fn == nil {
		return func() {}
	}
	return mr.OnNewRouter(func(r media.Router, w media.Worker) {
		fn(RouterInfo{RouterID: r.ID(), Worker: mr.m.workerInfo(w)})
	})
}

// OnWorkerDiedInfo is OnWorkerDied with the worker named.
func (mr *MafaldaRouter) OnWorkerDiedInfo(fn func(WorkerInfo, error)) func() {
	if fn == nil {
		return func() {}
	}
	return mr.onWorkerDied.on(func(we workerErr) { fn(WorkerInfo{WorkerID: we.id, PID: we.worker.PID()}, we.err) })
}
