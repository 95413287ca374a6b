package registry

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// run is the registry's one goroutine: it handles received messages,
// publishes heartbeats, sweeps lost servers and rejoins after reconnects,
// until Close.
func (r *Registry) run() {
	defer r.wg.Done()
	interval := r.opts.Interval
	gap := max(interval/10, time.Millisecond)
	last := time.Now()
	next := last // the first heartbeat goes at once
	hb := time.NewTimer(0)
	defer hb.Stop()
	sweep := time.NewTicker(max(interval/4, 5*time.Millisecond))
	defer sweep.Stop()
	for {
		select {
		case <-r.quit:
			return
		case m := <-r.msgs:
			r.handle(m)
		case <-hb.C:
			r.heartbeat()
			last = time.Now()
			next = last.Add(interval)
			hb.Reset(interval)
		case <-r.kick:
			at := last.Add(gap)
			if now := time.Now(); at.Before(now) {
				at = now
			}
			if at.Before(next) {
				next = at
				hb.Reset(time.Until(at))
			}
		case <-sweep.C:
			r.drain()
			r.sweep(time.Now())
		case <-r.status:
			r.join()
		}
	}
}

// drain handles the messages already waiting, so that a sweep never
// counts as missing a heartbeat that has arrived.
func (r *Registry) drain() {
	for n := len(r.msgs); n > 0; n-- {
		r.handle(<-r.msgs)
	}
}

// join asks who is there, with this server's record as the request: the
// others learn of it and answer with theirs.
func (r *Registry) join() {
	if r.opts.Observer {
		_ = r.publish(WhoSubject, r.inbox, nil)
		return
	}
	if data, ok := r.nextRecord(); ok {
		_ = r.publish(WhoSubject, r.inbox, data)
	}
}

// heartbeat publishes this server's record, unless disconnected (a
// heartbeat kept for later says nothing about now).
func (r *Registry) heartbeat() {
	if r.opts.Observer || !r.nc.IsConnected() {
		return
	}
	if data, ok := r.nextRecord(); ok {
		_ = r.publish(HeartbeatSubject(r.opts.ServerID), "", data)
	}
}

// nextRecord numbers and encodes this server's record for sending.
func (r *Registry) nextRecord() ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.self.Seq++
	data, err := json.Marshal(&r.self)
	if err != nil {
		r.log.Error("registry: encoding own record", "err", err)
		return nil, false
	}
	return data, true
}

// handle dispatches one received message by subject.
func (r *Registry) handle(m *nats.Msg) {
	r.stats.received.Add(1)
	switch {
	case m.Sub != nil && m.Sub.Subject == r.inbox:
		r.record(m.Data, "")
	case m.Subject == WhoSubject && len(m.Data) == 0:
		r.answerObserver(m.Reply)
	case m.Subject == WhoSubject:
		if r.record(m.Data, "") && m.Reply != "" && !r.opts.Observer {
			if data, ok := r.nextRecord(); ok {
				_ = r.publish(m.Reply, "", data)
			}
		}
	case strings.HasPrefix(m.Subject, HeartbeatSubject("")):
		r.record(m.Data, strings.TrimPrefix(m.Subject, HeartbeatSubject("")))
	case strings.HasPrefix(m.Subject, GoodbyeSubject("")):
		r.goodbyeFrom(m.Data, strings.TrimPrefix(m.Subject, GoodbyeSubject("")))
	}
}

// answerObserver answers an observer's empty who-is-there request with
// this server's record (an observer answers nobody).
func (r *Registry) answerObserver(reply string) {
	if r.opts.Observer || reply == "" {
		return
	}
	if data, ok := r.nextRecord(); ok {
		_ = r.publish(reply, "", data)
	}
}

// drop counts and logs a message that breaks the protocol.
func (r *Registry) drop(err error, data []byte) {
	if errors.Is(err, ErrTooLarge) {
		r.stats.oversized.Add(1)
	} else {
		r.stats.malformed.Add(1)
	}
	r.log.Debug("registry: dropped message", "err", err, "bytes", len(data))
}

// record takes in a server's record, sent on subject token id (empty for
// an answer to our request). It reports whether the record came from
// another live server.
func (r *Registry) record(data []byte, id string) bool {
	rec, err := DecodeRecord(data, r.opts.MaxRecordBytes)
	if err == nil && id != "" && rec.ID != id {
		err = errors.New("registry: record of " + rec.ID + " on the subject of " + id)
		err = errors.Join(ErrMalformed, err)
	}
	if err != nil {
		r.drop(err, data)
		return false
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec.ID == r.self.ID && !r.opts.Observer {
		if rec.Incarnation != r.self.Incarnation {
			r.stats.conflicts.Add(1)
			r.log.Warn("registry: another server uses this server's id", "incarnation", rec.Incarnation)
		}
		return false
	}
	old, known := r.peers[rec.ID]
	switch {
	case !known && len(r.peers) >= r.opts.MaxServers:
		r.stats.full.Add(1)
		return false
	case !known:
		r.admit(rec, now)
	case old.Incarnation != rec.Incarnation:
		r.log.Info("registry: server restarted", "peer", rec.ID, "incarnation", rec.Incarnation)
		r.remove(old, EventLost)
		r.admit(rec, now)
	case rec.Seq <= old.Seq:
		r.stats.stale.Add(1)
		return false
	default:
		changed := !sameState(&old.Record, rec)
		old.Record, old.LastSeen = *rec, now
		if changed {
			r.emit(EventUpdated, old)
		}
	}
	return true
}

// admit adds a server to the view. r.mu is held.
func (r *Registry) admit(rec *Record, now time.Time) {
	s := &Server{Record: *rec, LastSeen: now}
	r.peers[rec.ID] = s
	r.log.Info("registry: server joined", "peer", rec.ID, "url", rec.RopeURL)
	r.emit(EventJoined, s)
}

// remove drops a server from the view. r.mu is held.
func (r *Registry) remove(s *Server, kind EventKind) {
	delete(r.peers, s.ID)
	r.log.Info("registry: server "+kind.String(), "peer", s.ID)
	r.emit(kind, s)
}

// goodbyeFrom removes the server that said goodbye on subject token id.
func (r *Registry) goodbyeFrom(data []byte, id string) {
	g, err := DecodeGoodbye(data)
	if err == nil && g.ID != id {
		err = errors.Join(ErrMalformed, errors.New("registry: goodbye of "+g.ID+" on the subject of "+id))
	}
	if err != nil {
		r.drop(err, data)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.peers[g.ID]; ok && s.Incarnation == g.Incarnation {
		r.remove(s, EventLeft)
	}
}

// sweep removes the servers not heard from for Misses of their intervals.
func (r *Registry) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.peers {
		if now.Sub(s.LastSeen) > time.Duration(r.opts.Misses)*s.Interval() {
			r.remove(s, EventLost)
		}
	}
}
