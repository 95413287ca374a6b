package registry

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"time"
)

// ProtocolVersion is the version of the registry's subjects and messages,
// the "v1" in SubjectPrefix and the "v" member of every message.
//
// History:
//   - 1 (2026-12): heartbeats, goodbyes and the who-is-there request
//     (spec/cluster-v1.md, first edition).
const ProtocolVersion = 1

// Fixed bounds of a record (spec/cluster-v1.md §4.4); the whole message is
// bounded by Options.MaxRecordBytes.
const (
	MaxIDLen             = 64
	MaxURLLen            = 2048
	MaxMediaAddresses    = 16
	MaxMediaAddressLen   = 255
	MaxWorkersPerRecord  = 1024
	MaxVersionLen        = 256
	MinInterval          = 10 * time.Millisecond
	MaxInterval          = time.Minute
	maxSafeInteger       = 1<<53 - 1
	defaultMaxRecordSize = 64 << 10
)

// Record is what a server tells the cluster about itself: published as a
// heartbeat, in answer to a who-is-there request, and as that request's
// body (spec/cluster-v1.md §4.1).
type Record struct {
	// V is ProtocolVersion.
	V int `json:"v"`
	// ID names the server in the cluster: 1 to 64 of A-Z a-z 0-9 _ -,
	// so that it is one NATS subject token.
	ID string `json:"id"`
	// Incarnation names one run of the server: a restarted server keeps
	// its ID and has a new Incarnation. Same charset and length as ID.
	Incarnation string `json:"incarnation"`
	// Seq counts the records one incarnation has sent, from 1.
	Seq uint64 `json:"seq"`
	// IntervalMS is the sender's heartbeat interval in milliseconds.
	IntervalMS int64 `json:"intervalMs"`
	// RopeURL is where other servers and clients reach the server's ROPE
	// endpoint (ws:// or wss://).
	RopeURL string `json:"ropeUrl"`
	// MediaAddresses are the IP addresses or host names other servers
	// reach this server's media transports at, the preferred first.
	MediaAddresses []string `json:"mediaAddresses"`
	// Workers are the server's media workers.
	Workers []Worker `json:"workers"`
	// Load is how busy the server is, in percent of its capacity.
	Load float64 `json:"load"`
	// MaxWorkers is the most workers the server runs at once; 0 (absent)
	// means no limit.
	MaxWorkers int `json:"maxWorkers,omitempty"`
	// Version is the server's software version; informative.
	Version string `json:"version,omitempty"`
}

// Worker is one media worker of a server.
type Worker struct {
	// ID is the worker's id on its server (its ROPE object id).
	ID string `json:"id"`
	// PID is the worker's process id on its host; 0 (absent) if unknown.
	PID int `json:"pid,omitempty"`
	// Load is the CPU the worker uses, in percent of one CPU.
	Load float64 `json:"load"`
}

// Goodbye is what a server sends when it leaves the cluster cleanly.
type Goodbye struct {
	V           int    `json:"v"`
	ID          string `json:"id"`
	Incarnation string `json:"incarnation"`
}

// Interval is the record's heartbeat interval.
func (r *Record) Interval() time.Duration {
	return time.Duration(r.IntervalMS) * time.Millisecond
}

// Clone returns a deep copy of r.
func (r *Record) Clone() Record {
	c := *r
	c.MediaAddresses = slices.Clone(r.MediaAddresses)
	c.Workers = slices.Clone(r.Workers)
	return c
}

// sameState reports whether a and b say the same, seq aside.
func sameState(a, b *Record) bool {
	return a.ID == b.ID && a.Incarnation == b.Incarnation && a.IntervalMS == b.IntervalMS &&
		a.RopeURL == b.RopeURL && slices.Equal(a.MediaAddresses, b.MediaAddresses) &&
		slices.Equal(a.Workers, b.Workers) && a.Load == b.Load &&
		a.MaxWorkers == b.MaxWorkers && a.Version == b.Version
}

// DecodeRecord decodes and validates a record of at most maxBytes bytes
// (0: 64 KiB). Errors wrap ErrTooLarge or ErrMalformed.
func DecodeRecord(data []byte, maxBytes int) (*Record, error) {
	if maxBytes <= 0 {
		maxBytes = defaultMaxRecordSize
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), maxBytes)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.MediaAddresses == nil {
		r.MediaAddresses = []string{}
	}
	if r.Workers == nil {
		r.Workers = []Worker{}
	}
	return &r, nil
}

// Validate checks r against spec/cluster-v1.md §4; errors wrap
// ErrMalformed.
func (r *Record) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	switch {
	case r.V != ProtocolVersion:
		return bad("v %d, want %d", r.V, ProtocolVersion)
	case !ValidID(r.ID):
		return bad("id %q", r.ID)
	case !ValidID(r.Incarnation):
		return bad("incarnation %q", r.Incarnation)
	case r.Seq < 1 || r.Seq > maxSafeInteger:
		return bad("seq %d", r.Seq)
	case r.Interval() < MinInterval || r.Interval() > MaxInterval:
		return bad("intervalMs %d, want %d to %d", r.IntervalMS, MinInterval.Milliseconds(), MaxInterval.Milliseconds())
	case !validLoad(r.Load):
		return bad("load %v", r.Load)
	case r.MaxWorkers < 0:
		return bad("maxWorkers %d", r.MaxWorkers)
	case len(r.Version) > MaxVersionLen:
		return bad("version of %d bytes", len(r.Version))
	}
	if err := validURL(r.RopeURL); err != nil {
		return bad("ropeUrl: %v", err)
	}
	if len(r.MediaAddresses) > MaxMediaAddresses {
		return bad("%d mediaAddresses, limit %d", len(r.MediaAddresses), MaxMediaAddresses)
	}
	for _, a := range r.MediaAddresses {
		if a == "" || len(a) > MaxMediaAddressLen {
			return bad("media address %q", a)
		}
	}
	return validWorkers(r.Workers)
}

func validWorkers(ws []Worker) error {
	if len(ws) > MaxWorkersPerRecord {
		return fmt.Errorf("%w: %d workers, limit %d", ErrMalformed, len(ws), MaxWorkersPerRecord)
	}
	seen := make(map[string]struct{}, len(ws))
	for _, w := range ws {
		if w.ID == "" || len(w.ID) > MaxIDLen || w.PID < 0 || !validLoad(w.Load) {
			return fmt.Errorf("%w: worker %+v", ErrMalformed, w)
		}
		if _, dup := seen[w.ID]; dup {
			return fmt.Errorf("%w: worker %q listed twice", ErrMalformed, w.ID)
		}
		seen[w.ID] = struct{}{}
	}
	return nil
}

func validLoad(l float64) bool { return l >= 0 && !math.IsInf(l, 0) && !math.IsNaN(l) }

func validURL(s string) error {
	if len(s) > MaxURLLen {
		return fmt.Errorf("%d bytes, limit %d", len(s), MaxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("%q: want ws://host… or wss://host…", s)
	}
	return nil
}

// ValidID reports whether s may be a server id or an incarnation: 1 to 64
// of A-Z a-z 0-9 _ - (one NATS subject token, no wildcard).
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// DecodeGoodbye decodes and validates a goodbye; errors wrap ErrMalformed
// or ErrTooLarge.
func DecodeGoodbye(data []byte) (*Goodbye, error) {
	if len(data) > 1024 {
		return nil, fmt.Errorf("%w: goodbye of %d bytes", ErrTooLarge, len(data))
	}
	var g Goodbye
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if g.V != ProtocolVersion || !ValidID(g.ID) || !ValidID(g.Incarnation) {
		return nil, fmt.Errorf("%w: goodbye %+v", ErrMalformed, g)
	}
	return &g, nil
}
