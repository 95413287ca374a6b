package engine

import (
	"slices"

	"github.com/ropehq/rope/media/internal/rtppkt"
)

// reportLevel hands the packet's audio level to the observers.
func (p *producer) reportLevel(obs []*rtpObserver, b []byte, h *rtppkt.Header) {
	v, ok := rtppkt.Extension(b, *h, p.audioLevelID)
	if !ok || len(v) < 1 {
		return
	}
	for _, o := range obs {
		o.addLevel(p, int(v[0]&0x7f))
	}
}

func (p *producer) addObserver(o *rtpObserver) {
	p.consMu.Lock()
	defer p.consMu.Unlock()
	obs := append(slices.Clone(p.observerListLocked()), o)
	p.observers.Store(&obs)
}

func (p *producer) removeObserver(o *rtpObserver) {
	p.consMu.Lock()
	defer p.consMu.Unlock()
	obs := slices.DeleteFunc(slices.Clone(p.observerListLocked()), func(x *rtpObserver) bool { return x == o })
	p.observers.Store(&obs)
}

func (p *producer) observerListLocked() []*rtpObserver {
	if obs := p.observers.Load(); obs != nil {
		return *obs
	}
	return nil
}

func (p *producer) observerList() []*rtpObserver {
	if obs := p.observers.Load(); obs != nil {
		return *obs
	}
	return nil
}
