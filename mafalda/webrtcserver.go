package mafalda

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ropehq/rope/media"
)

// serverEntry is one WebRtcServer of a worker, created by the first
// WebRTC transport placed there by a MafaldaRouter with its
// WebRtcServerOptions (see MafaldaRouterOptions.WebRtcServerOptions).
type serverEntry struct {
	// ready is closed once server or err is set; they are not written
	// after that.
	ready  chan struct{}
	server media.WebRtcServer
	err    error
}

// serverKey identifies a set of WebRtcServerOptions; appData does not
// count. "" means none.
func serverKey(o *media.WebRtcServerOptions) string {
	if o == nil {
		return ""
	}
	b, _ := json.Marshal(o.ListenInfos)
	return string(b)
}

// shiftListenInfos returns the listen infos of the worker with slot i:
// each fixed port moved up by i, port ranges and port 0 kept as they are.
func shiftListenInfos(infos []media.TransportListenInfo, i int) ([]media.TransportListenInfo, error) {
	out := make([]media.TransportListenInfo, len(infos))
	for j, li := range infos {
		if li.Port != 0 {
			p := int(li.Port) + i
			if p > 65535 {
				return nil, fmt.Errorf("mafalda: webRtcServerOptions: port %d + worker %d above 65535: %w", li.Port, i, media.ErrInvalidParams)
			}
			li.Port = uint16(p)
		}
		out[j] = li
	}
	return out, nil
}

// webRtcServer returns the WebRtcServer of we for mr's
// WebRtcServerOptions, creating it at the first call. Concurrent callers
// wait for the one creating it; a failed creation is forgotten, so the
// next transport tries again.
func (mr *MafaldaRouter) webRtcServer(ctx context.Context, we *workerEntry) (media.WebRtcServer, error) {
	p := mr.m.p
	p.mu.Lock()
	se := we.servers[mr.skey]
	if se != nil {
		p.mu.Unlock()
		select {
		case <-se.ready:
			return se.server, se.err
		case <-ctx.Done():
			return nil, fmt.Errorf("mafalda: wait for webRtcServer: %w", ctx.Err())
		}
	}
	se = &serverEntry{ready: make(chan struct{})}
	we.servers[mr.skey] = se
	slot := we.slot
	p.mu.Unlock()

	defer close(se.ready)
	opts := *mr.opts.WebRtcServerOptions
	opts.AppData = opts.AppData.Clone()
	infos, err := shiftListenInfos(opts.ListenInfos, slot)
	if err == nil {
		opts.ListenInfos = infos
		se.server, err = we.worker.CreateWebRtcServer(ctx, &opts)
	}
	if err != nil {
		se.err = fmt.Errorf("mafalda: create webRtcServer on worker %d: %w", slot, err)
		p.mu.Lock()
		if we.servers[mr.skey] == se {
			delete(we.servers, mr.skey)
		}
		p.mu.Unlock()
		return nil, se.err
	}
	key := mr.skey
	se.server.OnClose(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if we.servers[key] == se {
			delete(we.servers, key)
		}
	})
	return se.server, nil
}

// takeSlotLocked gives we the lowest slot no other worker with its
// settings holds.
func (p *pool) takeSlotLocked(we *workerEntry) {
	held := p.slots[we.key]
	if held == nil {
		held = map[int]bool{}
		p.slots[we.key] = held
	}
	i := 0
	for held[i] {
		i++
	}
	held[i], we.slot, we.slotHeld = true, i, true
}

// freeSlot gives back we's slot once its worker has closed or died, its
// WebRtcServers' sockets with it.
func (p *pool) freeSlot(we *workerEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !we.slotHeld {
		return
	}
	we.slotHeld = false
	delete(p.slots[we.key], we.slot)
	if len(p.slots[we.key]) == 0 {
		delete(p.slots, we.key)
	}
}
