package webrtc

import (
	"errors"
	"time"

	"github.com/ropehq/rope/media/webrtc/demux"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/listener"
)

// handlePacket handles a packet from a tuple this transport validated.
func (t *Transport) handlePacket(b []byte, tup ice.Tuple, l listener.Link) {
	switch demux.Classify(b) {
	case demux.STUN:
		t.handleSTUN(b, tup, l)
	case demux.DTLS:
		if !t.pc.Push(b) {
			t.dropped.Add(1)
		}
	case demux.RTP:
		t.handleRTP(b)
	case demux.RTCP:
		t.handleRTCP(b)
	default:
		t.dropped.Add(1)
		t.logger.Debug("webrtc: dropping unknown packet", "tuple", tup, "size", len(b))
	}
}

// handleSTUN runs a STUN packet through the ICE server, answers it and
// applies what changed.
func (t *Transport) handleSTUN(b []byte, tup ice.Tuple, l listener.Link) {
	t.iceMu.Lock()
	defer t.iceMu.Unlock()
	res, err := t.ice.Process(b, tup, time.Now())
	if err != nil {
		t.dropped.Add(1)
		t.logger.Warn("webrtc: dropping STUN packet", "tuple", tup, "err", err)
		return
	}
	if res.Valid {
		t.startConsentTimer()
	}
	// Apply first, so that the path is selected by the time the peer
	// sees the response.
	t.apply(res, tup, l)
	if res.Response != nil {
		if err := l.Send(res.Response, tup.Remote); err != nil {
			t.logger.Debug("webrtc: STUN response not sent", "tuple", tup, "err", err)
		}
	}
}

// apply carries an ICE result into routing, the selected path, callbacks
// and DTLS start.
func (t *Transport) apply(res ice.Result, tup ice.Tuple, l listener.Link) {
	if res.Valid && res.NewTuple {
		t.mu.Lock()
		t.links[tup] = l
		t.mu.Unlock()
		t.server.addTuple(tup, t)
	}
	if len(res.Removed) > 0 {
		t.mu.Lock()
		for _, r := range res.Removed {
			delete(t.links, r)
		}
		t.mu.Unlock()
		t.server.removeTuples(t, res.Removed)
	}
	if res.SelectedChanged {
		t.mu.Lock()
		link := t.links[res.Selected]
		t.mu.Unlock()
		t.path.Store(newPath(res.Selected, link))
		if f := t.opts.OnICESelectedTupleChange; f != nil {
			f(res.Selected)
		}
	}
	if !res.StateChanged || !t.setICEState(res.State) {
		return
	}
	switch res.State {
	case ice.StateDisconnected, ice.StateClosed:
		t.path.Store(nil)
	case ice.StateConnected, ice.StateCompleted:
		defer t.maybeRunDTLS()
	}
	if f := t.opts.OnICEStateChange; f != nil {
		f(res.State)
	}
}

// setICEState records st unless the transport has closed: Close sets
// closed without callbacks, and a result computed before (a TCP
// connection the peer closed as it saw close_notify) must not overwrite
// it. It reports whether st was recorded.
func (t *Transport) setICEState(st ice.State) bool {
	for {
		old := t.iceState.Load()
		if ice.State(old) == ice.StateClosed {
			return false
		}
		if t.iceState.CompareAndSwap(old, uint32(st)) {
			return true
		}
	}
}

// removeTuple handles a closed TCP connection.
func (t *Transport) removeTuple(tup ice.Tuple) {
	t.iceMu.Lock()
	defer t.iceMu.Unlock()
	t.apply(t.ice.RemoveTuple(tup), tup, nil)
}

// startConsentTimer arms the consent check after the first valid check.
func (t *Transport) startConsentTimer() {
	d := t.ice.ConsentTimeout()
	if d < 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.consentTimer != nil {
		return
	}
	t.consentTimer = time.AfterFunc(d, t.checkConsent)
}

// checkConsent runs when consent may have expired and re-arms the timer.
func (t *Transport) checkConsent() {
	defer t.guard()
	t.iceMu.Lock()
	res, next := t.ice.CheckConsent(time.Now())
	if res.StateChanged {
		t.logger.Warn("webrtc: ICE consent expired", "timeout", t.ice.ConsentTimeout())
	}
	t.apply(res, ice.Tuple{}, nil)
	t.iceMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if next <= 0 {
		next = t.ice.ConsentTimeout() // disconnected: check again after new checks
	}
	t.consentTimer.Reset(next)
}

// sendDTLS sends a DTLS record on the selected tuple. Without one (ICE
// consent expired) the record is dropped, as mediasoup drops it: a write
// error would be fatal to the DTLS connection, which must outlive a
// disconnection (its own and SCTP's retransmissions carry on once ICE is
// back).
func (t *Transport) sendDTLS(b []byte) error {
	if err := t.sendSelected(b); !errors.Is(err, ErrNotConnected) {
		return err
	}
	t.logger.Debug("webrtc: no selected tuple, DTLS record dropped", "size", len(b))
	return nil
}

// sendSelected sends b on the selected tuple.
func (t *Transport) sendSelected(b []byte) error {
	p := t.path.Load()
	if p == nil || p.link == nil {
		return ErrNotConnected
	}
	return p.link.Send(b, p.tuple.Remote)
}
