package mediaserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// Extension is a ROPE type that extends one of the catalogue's: its
// objects have every method, property and event of the base type (served
// by this Server, so their children are the catalogue's types) plus its
// own. mafalda/mafaldaserver serves a MafaldaRouter as "MafaldaRouter",
// which extends "Router".
//
// An extension type is never chosen for a media object by itself: the
// application registers an object under it with Add.
type Extension struct {
	// Name is the ROPE type's name.
	Name string
	// Base is the catalogue type it extends, e.g. TypeRouter.
	Base string
	// Methods are added to the base type's (a name in both replaces the
	// base method).
	Methods map[string]ropeserver.MethodFunc
	// Properties and Events are added to the base type's.
	Properties, Events []string
	// State returns the added properties of an object; nil means none.
	State func(m any) map[string]any
	// Wire registers the media event handlers that emit the added events
	// (with Server.Emit); nil means none. The base type's are wired too.
	Wire func(s *Server, o *ropeserver.Object, m any)
	// Errors are the extension's sentinel errors that must survive the
	// wire, by reason: a method error matching one goes out with the
	// reason in data.detail.reason (see ExtendedErrorDetail).
	Errors map[string]error
}

// ExtendedErrorDetail is the data.detail of an ApplicationError whose
// error matches an Extension's sentinel: ErrorDetail plus the reason.
type ExtendedErrorDetail struct {
	// Code is the media error code, as in ErrorDetail.
	Code string `json:"code,omitempty"`
	// Reason is the key of the sentinel in Extension.Errors.
	Reason string `json:"reason"`
}

// Extend registers extension types on the ROPE server. Call it right after
// Register, before clients connect: the catalogue is not guarded against
// concurrent changes.
func (s *Server) Extend(exts ...Extension) error {
	for _, ext := range exts {
		base := s.kindNamed(ext.Base)
		if base == nil || ext.Name == "" {
			return fmt.Errorf("mediaserver: extension %q of unknown type %q: %w", ext.Name, ext.Base, ropeserver.ErrBadType)
		}
		k := &kind{
			name:   ext.Name,
			props:  append(slices.Clone(base.props), ext.Properties...),
			events: append(slices.Clone(base.events), ext.Events...),
			match:  func(any) bool { return false },
			state: func(m any) map[string]any {
				st := base.state(m)
				if ext.State != nil {
					maps.Copy(st, ext.State(m))
				}
				return st
			},
			methods: func(s *Server) map[string]ropeserver.MethodFunc {
				ms := base.methods(s)
				maps.Copy(ms, ext.Methods)
				return ms
			},
			wire: func(s *Server, o *ropeserver.Object, m any) {
				base.wire(s, o, m)
				if ext.Wire != nil {
					ext.Wire(s, o, m)
				}
			},
		}
		t := ropeserver.Type{Name: k.name, Methods: k.methods(s), Events: k.events, Properties: k.props,
			OnSetAppData: setMediaAppData}
		if err := s.rs.RegisterType(t); err != nil {
			return fmt.Errorf("mediaserver: %w", err)
		}
		s.kinds = append(s.kinds, k)
		for reason, sentinel := range ext.Errors {
			s.reasons = append(s.reasons, errorReason{reason, sentinel})
		}
	}
	return nil
}

// errorReason is one sentinel of Extension.Errors.
type errorReason struct {
	reason   string
	sentinel error
}

// Add registers a media object under parent as a ROPE object of the
// extension type typeName, with its events wired, and returns it; an
// object already registered is returned as it is. Objects it creates
// (transports of a router, ...) are registered as the base type's are.
func (s *Server) Add(typeName string, parent *ropeserver.Object, m any) (*ropeserver.Object, error) {
	if o, ok := s.lookup(m); ok {
		return o, nil
	}
	k := s.kindNamed(typeName)
	if k == nil {
		return nil, fmt.Errorf("mediaserver: no type %q: %w", typeName, ropeserver.ErrBadType)
	}
	opts := &ropeserver.ObjectOptions{ID: mediaID(m), Parent: parent, Props: k.state(m), AppData: appData(m), Value: m}
	o, fresh, err := s.create(k, m, opts)
	if err != nil || !fresh {
		return o, err
	}
	o.OnClose(func() { s.forget(m) })
	k.wire(s, o, m)
	s.refresh(o)
	if c, ok := m.(interface{ Closed() bool }); ok && c.Closed() {
		o.Close()
	}
	return o, nil
}

// Emit publishes o's changed properties, then sends the event (an
// Extension's Wire uses it).
func (s *Server) Emit(o *ropeserver.Object, event string, data any) { s.emit(o, event, data) }

// WireError converts an error for the wire as the package's WireError
// does, adding the reason of an Extension sentinel it matches.
func (s *Server) WireError(err error) error {
	out := WireError(err)
	for _, r := range s.reasons {
		if !errors.Is(err, r.sentinel) {
			continue
		}
		var re *rope.Error
		if !errors.As(out, &re) {
			re = rope.AppError("Error", "%s", err.Error())
		}
		if re.Code != rope.CodeApplicationError {
			return out
		}
		e := *re
		e.Data.Detail, _ = json.Marshal(ExtendedErrorDetail{Code: media.ErrorCode(err), Reason: r.reason})
		return &e
	}
	return out
}
