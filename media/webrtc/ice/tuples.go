package ice

import "time"

// handleTuple applies a valid check on t, following mediasoup's
// IceServer::HandleTuple, extended with renomination: a NOMINATION value
// only switches the selected tuple when it is newer than the last one.
func (s *Server) handleTuple(t Tuple, nominated bool, nomination uint32, now time.Time) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r Result
	s.lastValid = now
	if s.state == StateClosed {
		return r
	}
	if s.indexOf(t) < 0 {
		s.tuples = append([]Tuple{t}, s.tuples...)
		r.NewTuple = true
	}
	if nomination != 0 {
		if nomination <= s.nomination && s.hasSelected {
			nominated = false
		} else {
			s.nomination = nomination
		}
	}
	switch {
	case s.state == StateNew || s.state == StateDisconnected:
		s.setState(&r, StateConnected)
		if nominated {
			s.setState(&r, StateCompleted)
		}
		s.selectTuple(&r, t)
	case nominated:
		s.setState(&r, StateCompleted)
		s.selectTuple(&r, t)
	}
	return r
}

// RemoveTuple forgets t (a closed TCP connection). If it was selected the
// newest remaining tuple is selected, or the state becomes disconnected.
func (s *Server) RemoveTuple(t Tuple) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r Result
	i := s.indexOf(t)
	if i < 0 {
		return r
	}
	s.tuples = append(s.tuples[:i:i], s.tuples[i+1:]...)
	r.Removed = []Tuple{t}
	if !s.hasSelected || s.selected != t {
		return r
	}
	if len(s.tuples) > 0 {
		s.selectTuple(&r, s.tuples[0])
		return r
	}
	s.hasSelected = false
	s.setState(&r, StateDisconnected)
	return r
}

// CheckConsent expires consent when no valid check arrived within the
// consent timeout before now: the server becomes disconnected and forgets
// every tuple. It returns when the next check is due (zero if none).
func (s *Server) CheckConsent(now time.Time) (Result, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r Result
	if s.consentTimeout < 0 || (s.state != StateConnected && s.state != StateCompleted) {
		return r, 0
	}
	if left := s.lastValid.Add(s.consentTimeout).Sub(now); left > 0 {
		return r, left
	}
	r.Removed = s.tuples
	s.tuples, s.hasSelected = nil, false
	s.setState(&r, StateDisconnected)
	return r, 0
}

// ConsentTimeout returns the configured timeout (negative: disabled).
func (s *Server) ConsentTimeout() time.Duration { return s.consentTimeout }

func (s *Server) setState(r *Result, st State) {
	if s.state == st {
		return
	}
	s.state = st
	r.StateChanged, r.State = true, st
}

func (s *Server) selectTuple(r *Result, t Tuple) {
	if s.hasSelected && s.selected == t {
		return
	}
	s.selected, s.hasSelected = t, true
	r.SelectedChanged, r.Selected = true, t
}

func (s *Server) indexOf(t Tuple) int {
	for i, u := range s.tuples {
		if u == t {
			return i
		}
	}
	return -1
}
