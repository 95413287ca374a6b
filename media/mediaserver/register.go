package mediaserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// kind is one ROPE type of the catalogue and how to serve its media
// objects.
type kind struct {
	name   string
	props  []string
	events []string
	// match reports whether a media object is of this kind.
	match func(m any) bool
	// state returns the object's properties.
	state func(m any) map[string]any
	// live, when set, returns those of them that change after creation,
	// which refresh sets: the others (rtpParameters, ids, the kind) are
	// fixed then, as mediasoup's are, and encoding them again on every
	// score event was most of a worker's garbage.
	live func(m any) map[string]any
	// methods builds the type's method table.
	methods func(s *Server) map[string]ropeserver.MethodFunc
	// wire registers the media event handlers that keep o in sync.
	wire func(s *Server, o *ropeserver.Object, m any)
}

// newKind builds a kind for media objects of interface type M.
func newKind[M any](name string, props, events []string, state func(M) map[string]any,
	methods func(*Server) map[string]ropeserver.MethodFunc, wire func(*Server, *ropeserver.Object, M)) *kind {
	return &kind{
		name: name, props: props, events: events, methods: methods,
		match: func(m any) bool { _, ok := m.(M); return ok },
		state: func(m any) map[string]any { return state(m.(M)) },
		wire:  func(s *Server, o *ropeserver.Object, m any) { wire(s, o, m.(M)) },
	}
}

// refreshing sets k's live properties (kind.live) and returns k.
func refreshing[M any](k *kind, live func(M) map[string]any) *kind {
	k.live = func(m any) map[string]any { return live(m.(M)) }
	return k
}

func (s *Server) kindOf(m any) *kind {
	for _, k := range s.kinds {
		if k.match(m) {
			return k
		}
	}
	return nil
}

func (s *Server) kindNamed(name string) *kind {
	for _, k := range s.kinds {
		if k.name == name {
			return k
		}
	}
	return nil
}

// ensure returns m's ROPE object, registering it under parent first if
// needed: the object is created with its current state, its media events
// are wired, and it closes at once if m closed meanwhile.
func (s *Server) ensure(parent *ropeserver.Object, m any) (*ropeserver.Object, error) {
	if o, ok := s.lookup(m); ok {
		return o, nil
	}
	k := s.kindOf(m)
	if k == nil {
		return nil, fmt.Errorf("mediaserver: no ROPE type for %T", m)
	}
	opts := &ropeserver.ObjectOptions{ID: mediaID(m), Parent: parent, Props: k.state(m), AppData: appData(m), Value: m}
	o, fresh, err := s.create(k, m, opts)
	if err != nil || !fresh {
		return o, err
	}
	o.OnClose(func() { s.forget(m) })
	followAppData(o, m)
	k.wire(s, o, m)
	s.refresh(o)
	if c, ok := m.(interface{ Closed() bool }); ok && c.Closed() {
		o.Close()
	}
	return o, nil
}

// create creates the ROPE object unless another goroutine just did; a
// media id already in use by another object gets "@<parent id>" appended.
func (s *Server) create(k *kind, m any, opts *ropeserver.ObjectOptions) (*ropeserver.Object, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.objs[m]; ok {
		return o, false, nil
	}
	o, err := s.rs.Create(k.name, opts)
	if errors.Is(err, ropeserver.ErrDuplicateID) && opts.ID != "" && opts.Parent != nil {
		opts.ID += "@" + opts.Parent.ID()
		o, err = s.rs.Create(k.name, opts)
	}
	if err != nil {
		return nil, false, fmt.Errorf("mediaserver: register %s: %w", k.name, err)
	}
	s.objs[m] = o
	return o, true, nil
}

func (s *Server) lookup(m any) (*ropeserver.Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[m]
	return o, ok
}

func (s *Server) forget(m any) {
	s.mu.Lock()
	delete(s.objs, m)
	s.mu.Unlock()
}

// refresh publishes the properties of o that changed.
func (s *Server) refresh(o *ropeserver.Object) {
	k := s.kindNamed(o.Type())
	if k == nil || k.state == nil {
		return
	}
	state := k.state
	if k.live != nil {
		state = k.live
	}
	if err := o.Set(state(o.Value())); err != nil && !errors.Is(err, ropeserver.ErrClosed) {
		s.log.Error("mediaserver: update properties", "object", o.ID(), "err", err)
	}
}

// emit refreshes o's properties, then sends the event.
func (s *Server) emit(o *ropeserver.Object, event string, data any) {
	s.refresh(o)
	if err := o.Emit(event, data); err != nil && !errors.Is(err, ropeserver.ErrClosed) {
		s.log.Error("mediaserver: emit", "object", o.ID(), "event", event, "err", err)
	}
}

// ropeID is the ROPE id of a media object, or its media id when it is
// not registered.
func (s *Server) ropeID(m any) string {
	if o, ok := s.lookup(m); ok {
		return o.ID()
	}
	return mediaID(m)
}

func mediaID(m any) string {
	if x, ok := m.(interface{ ID() string }); ok {
		return x.ID()
	}
	return ""
}

func appData(m any) any {
	if x, ok := m.(interface{ AppData() media.AppData }); ok {
		if d := x.AppData(); d != nil {
			return d
		}
	}
	return nil
}

// method adapts fn to a ROPE method of objects of type M with params P:
// it binds the params, runs fn, publishes the object's changed properties
// (unless the method is read-only) and converts a media error to its wire
// form.
func method[M, P any](s *Server, fn func(ctx context.Context, o *ropeserver.Object, m M, p *P) (any, error)) ropeserver.MethodFunc {
	return func(ctx context.Context, call *ropeserver.Call) (res any, err error) {
		defer func() {
			// A media implementation that panics on some input must not
			// take the server down: the caller gets an internal error.
			if r := recover(); r != nil {
				res, err = nil, fmt.Errorf("mediaserver: %s.%s panicked: %v", call.Object.Type(), call.Method, r)
				s.log.Error("mediaserver: method panicked", "object", call.Object.ID(), "method", call.Method, "panic", r,
					"stack", string(debug.Stack()))
			}
		}()
		m, ok := call.Object.Value().(M)
		if !ok {
			return nil, fmt.Errorf("mediaserver: %s %s holds %T", call.Object.Type(), call.Object.ID(), call.Object.Value())
		}
		p := new(P)
		if err := call.Bind(p); err != nil {
			return nil, err
		}
		res, err = fn(ctx, call.Object, m, p)
		if !readOnly[call.Method] {
			s.refresh(call.Object)
		}
		if err != nil {
			return nil, s.WireError(err)
		}
		return res, nil
	}
}

// readOnly are the methods that change no state: no refresh after them.
var readOnly = map[string]bool{"dump": true, "getStats": true, "getResourceUsage": true,
	"canConsume": true, "getBufferedAmount": true, "send": true, "sendRtcp": true}

// created registers a media object that a method just created under
// parent and returns {"id"}.
func created[M any](s *Server, parent *ropeserver.Object, m M, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	o, err := s.ensure(parent, m)
	if err != nil {
		// Do not leave a media object no client can reach.
		if c, ok := any(m).(interface{ Close(context.Context) error }); ok {
			_ = c.Close(context.Background())
		}
		return nil, err
	}
	s.refresh(o)
	return rope.CreateResult{ID: o.ID()}, nil
}

// WireError converts an error for the wire. Media errors become
// ApplicationError (-32010) named as mediasoup's error classes, with the
// stable media code in data.detail.code and as message the error's text
// up to the media error: what the media error wraps (an OS error after a
// ParamError) stays out. A socket that could not be opened (address in
// use or not local, port not permitted) without a media error is a
// TypeError too. rope errors pass through, except an InternalError (a
// server behind this one, as a worker process, failed): its text is
// internal here too. The rest are returned as they are, which the ROPE
// server sends as an InternalError whose text stays in its log unless
// it sends full errors.
func WireError(err error) error {
	var re *rope.Error
	if errors.As(err, &re) {
		if re.Code == rope.CodeInternalError {
			return internalError{err.Error()}
		}
		return re
	}
	if media.ErrorCode(err) == "" {
		if pe := socketError(err); pe != nil {
			err = fmt.Errorf("%w: %w", pe, err)
		} else {
			return err
		}
	}
	e := rope.AppError(media.ErrorName(err), "%s", mediaText(err))
	e.Data.Detail, _ = json.Marshal(ErrorDetail{Code: media.ErrorCode(err)})
	return e
}

// internalError is an error whose text must not reach clients: it
// matches no rope.Error, so the ROPE server logs it and sends an
// InternalError.
type internalError struct{ text string }

func (e internalError) Error() string { return e.text }

// mediaText is err's text cut after the text of the media error in its
// chain (the first with a code).
func mediaText(err error) string {
	var m interface{ Code() string }
	if !errors.As(err, &m) {
		return err.Error()
	}
	full, own := err.Error(), m.(error).Error()
	if i := strings.Index(full, own); i >= 0 {
		return full[:i+len(own)]
	}
	return own
}

// socketError names a failure to open a socket (a *net.OpError) that an
// implementation returned without a media error, or returns nil.
func socketError(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) {
		return nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return &media.ParamError{Reason: "address in use"}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return &media.ParamError{Reason: "ip is not an address of this host"}
	case errors.Is(err, syscall.EACCES):
		return &media.ParamError{Reason: "port not permitted"}
	}
	return nil
}

// ErrorDetail is the data.detail of a media ApplicationError.
type ErrorDetail struct {
	// Code is the media error code: "invalid_params", "unsupported",
	// "invalid_state", "closed", "not_found" or "duplicate_id".
	Code string `json:"code"`
}

// followAppData publishes the appData changes of m (a
// media.AppDataNotifier), so that what the server application sets reaches
// every client. A change equal to the published appData is not published
// again: that is a client's rope.setAppData coming back through m (its
// OnSetAppData hook, setMediaAppData), which the request itself announces.
func followAppData(o *ropeserver.Object, m any) {
	n, ok := m.(media.AppDataNotifier)
	if !ok {
		return
	}
	off := n.OnAppDataChange(func(d media.AppData) {
		if d == nil {
			d = media.AppData{}
		}
		raw, err := json.Marshal(d)
		if err != nil || sameJSON(raw, o.AppData()) {
			return
		}
		_ = o.SetAppData(json.RawMessage(raw)) // fails only once o closed
	})
	o.OnClose(off)
}

// sameJSON reports whether a and b encode the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// setMediaAppData makes a client's rope.setAppData reach the media object
// itself, so the server application reads what clients set.
func setMediaAppData(_ context.Context, o *ropeserver.Object, raw json.RawMessage) error {
	x, ok := o.Value().(interface{ SetAppData(media.AppData) })
	if !ok {
		return nil
	}
	var d media.AppData
	if err := json.Unmarshal(raw, &d); err != nil {
		return rope.NewError(rope.CodeInvalidParams, "appData: %v", err)
	}
	x.SetAppData(d)
	return nil
}
