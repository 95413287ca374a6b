package ice

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v3"
)

// DefaultConsentTimeout is mediasoup's iceConsentTimeout default: without a
// valid check for this long a connected transport becomes disconnected
// (RFC 7675 uses 30 s too).
const DefaultConsentTimeout = 30 * time.Second

// attrNomination is the NOMINATION attribute of ICE renomination
// (draft-thatcher-ice-renomination), which Chromium sends when the remote
// SDP has a=ice-options:renomination.
const attrNomination stun.AttrType = 0xC001

// Options configure a [Server]. The zero value is valid.
type Options struct {
	// UsernameFragment is the local ufrag; empty means 32 random characters.
	UsernameFragment string
	// Password is the local password; empty means 32 random characters.
	Password string
	// ConsentTimeout is how long a connected server waits for a valid check
	// before it becomes disconnected. Zero means DefaultConsentTimeout;
	// negative disables the timeout.
	ConsentTimeout time.Duration
}

// Result tells the caller what one processed packet changed.
type Result struct {
	// Response is the STUN message to send back on the tuple, or nil.
	Response []byte
	// Valid is true when the packet was an authenticated Binding request:
	// the tuple is now one of the server's valid tuples.
	Valid bool
	// NewTuple is true when the tuple was not known before.
	NewTuple bool
	// StateChanged is true when the ICE state changed to State.
	StateChanged bool
	State        State
	// SelectedChanged is true when Selected became the selected tuple.
	SelectedChanged bool
	Selected        Tuple
	// Removed lists tuples the server forgot (consent expiry, removal).
	Removed []Tuple
}

// Server is an ICE-lite server for one transport. It is safe for
// concurrent use.
type Server struct {
	consentTimeout time.Duration

	// mu guards every field below.
	mu          sync.Mutex
	ufrag, pwd  string
	oldUfrag    string // previous credentials, kept until the new ones are used
	oldPwd      string
	state       State
	tuples      []Tuple // newest first
	selected    Tuple
	hasSelected bool
	nomination  uint32 // highest NOMINATION value seen
	lastValid   time.Time
}

// NewServer returns a server in state new.
func NewServer(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.UsernameFragment == "" {
		o.UsernameFragment = RandomString(UfragLength)
	}
	if o.Password == "" {
		o.Password = RandomString(PasswordLength)
	}
	if o.ConsentTimeout == 0 {
		o.ConsentTimeout = DefaultConsentTimeout
	}
	return &Server{consentTimeout: o.ConsentTimeout, ufrag: o.UsernameFragment, pwd: o.Password}
}

// Parameters returns the current iceParameters.
func (s *Server) Parameters() Parameters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Parameters{UsernameFragment: s.ufrag, Password: s.pwd, ICELite: true}
}

// State returns the current state.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// SelectedTuple returns the selected tuple, if any.
func (s *Server) SelectedTuple() (Tuple, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.selected, s.hasSelected
}

// IsValidTuple reports whether t passed a valid check.
func (s *Server) IsValidTuple(t Tuple) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.indexOf(t) >= 0
}

// Restart sets new credentials (empty means random), as mediasoup's
// restartIce: checks with the old ones stay valid until the peer uses the
// new ones. It returns the new parameters.
func (s *Server) Restart(ufrag, pwd string) Parameters {
	if ufrag == "" {
		ufrag = RandomString(UfragLength)
	}
	if pwd == "" {
		pwd = RandomString(PasswordLength)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oldUfrag, s.oldPwd = s.ufrag, s.pwd
	s.ufrag, s.pwd = ufrag, pwd
	s.nomination = 0
	return Parameters{UsernameFragment: s.ufrag, Password: s.pwd, ICELite: true}
}

// Close moves the server to state closed and forgets its tuples.
func (s *Server) Close() Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateClosed {
		return Result{}
	}
	r := Result{StateChanged: true, State: StateClosed, Removed: s.tuples}
	s.state, s.tuples, s.hasSelected = StateClosed, nil, false
	return r
}

// Process handles one STUN packet received on tuple t at time now.
// A non-nil error means the packet was dropped; the Result may still carry
// nothing to do.
func (s *Server) Process(b []byte, t Tuple, now time.Time) (Result, error) {
	msg := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := msg.Decode(); err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrNotSTUN, err)
	}
	if msg.Type.Method != stun.MethodBinding {
		return Result{}, fmt.Errorf("%w: %s", ErrNotBinding, msg.Type)
	}
	if msg.Type.Class != stun.ClassRequest {
		return Result{}, nil // indications and responses are ignored
	}
	if err := stun.Fingerprint.Check(msg); err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrNoFingerprint, err)
	}
	if !msg.Contains(stun.AttrUsername) || !msg.Contains(stun.AttrMessageIntegrity) ||
		!msg.Contains(stun.AttrPriority) {
		return Result{}, ErrMissingAttributes
	}
	pwd, err := s.authenticate(msg)
	if err != nil {
		return Result{}, err
	}
	resp, err := buildResponse(msg, t, pwd)
	if err != nil {
		return Result{}, err
	}
	nominated, nomination := nominationOf(msg)
	r := s.handleTuple(t, nominated, nomination, now)
	r.Response, r.Valid = resp, true
	return r, nil
}

// authenticate checks USERNAME and MESSAGE-INTEGRITY against the current,
// then the previous credentials, and returns the password that matched.
func (s *Server) authenticate(msg *stun.Message) (string, error) {
	var user stun.Username
	if err := user.GetFrom(msg); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMissingAttributes, err)
	}
	local, _, ok := strings.Cut(user.String(), ":")
	if !ok {
		return "", fmt.Errorf("%w: username %q", ErrUnauthorized, user.String())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateClosed {
		return "", ErrClosed
	}
	if local == s.ufrag && stun.NewShortTermIntegrity(s.pwd).Check(msg) == nil {
		s.oldUfrag, s.oldPwd = "", ""
		return s.pwd, nil
	}
	if s.oldUfrag != "" && local == s.oldUfrag && stun.NewShortTermIntegrity(s.oldPwd).Check(msg) == nil {
		return s.oldPwd, nil
	}
	return "", fmt.Errorf("%w: username %q", ErrUnauthorized, user.String())
}

// nominationOf reports whether msg nominates its tuple, with the NOMINATION
// value when present (0 for a plain USE-CANDIDATE).
func nominationOf(msg *stun.Message) (bool, uint32) {
	if v, err := msg.Get(attrNomination); err == nil && len(v) == 4 {
		return true, binary.BigEndian.Uint32(v) & 0x00FFFFFF
	}
	return msg.Contains(stun.AttrUseCandidate), 0
}

// buildResponse makes the authenticated success response to req.
func buildResponse(req *stun.Message, t Tuple, pwd string) ([]byte, error) {
	addr := t.Remote.Addr().Unmap()
	resp, err := stun.Build(
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.NewType(stun.MethodBinding, stun.ClassSuccessResponse),
		&stun.XORMappedAddress{IP: net.IP(addr.AsSlice()), Port: int(t.Remote.Port())},
		stun.NewShortTermIntegrity(pwd),
		stun.Fingerprint,
	)
	if err != nil {
		return nil, fmt.Errorf("ice: build response: %w", err)
	}
	return resp.Raw, nil
}
