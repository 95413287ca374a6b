package mediaserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

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

// extension is a registered Extension.
type extension struct {
	Extension
	// mu guards adding.
	mu sync.Mutex
	// adding are the media objects Add is registering as this type: the
	// only ones its kind matches.
	adding map[any]bool
}

func (e *extension) matches(m any) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.adding[m]
}

func (e *extension) setAdding(m any, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		e.adding[m] = true
	} else {
		delete(e.adding, m)
	}
}

// Extend registers extension types on the ROPE server. Call it right after
// Register, before clients connect: the catalogue is not guarded against
// concurrent changes.
func (s *Server) Extend(exts ...Extension) error {
	for _, x := range exts {
		base := s.kindNamed(x.Base)
		if base == nil || x.Name == "" {
			return fmt.Errorf("mediaserver: extension %q of unknown type %q: %w", x.Name, x.Base, ropeserver.ErrBadType)
		}
		ext := &extension{Extension: x, adding: map[any]bool{}}
		k := &kind{
			name:   x.Name,
			props:  append(slices.Clone(base.props), x.Properties...),
			events: append(slices.Clone(base.events), x.Events...),
			match:  ext.matches,
			state: func(m any) map[string]any {
				st := base.state(m)
				if x.State != nil {
					maps.Copy(st, x.State(m))
				}
				return st
			},
			live: extendLive(base.live, x.State),
			methods: func(s *Server) map[string]ropeserver.MethodFunc {
				ms := base.methods(s)
				maps.Copy(ms, x.Methods)
				return ms
			},
			wire: func(s *Server, o *ropeserver.Object, m any) {
				base.wire(s, o, m)
				if x.Wire != nil {
					x.Wire(s, o, m)
				}
			},
		}
		t := ropeserver.Type{Name: k.name, Methods: s.leaseCreating(k.methods(s)), Events: k.events, Properties: k.props,
			OnSetAppData: setMediaAppData}
		if err := s.rs.RegisterType(t); err != nil {
			return fmt.Errorf("mediaserver: %w", err)
		}
		// First in the catalogue, so kindOf picks it for the objects Add
		// registers, before the base type that matches them too.
		s.kinds = append([]*kind{k}, s.kinds...)
		s.exts = append(s.exts, ext)
	}
	return nil
}

// Add registers a media object under parent as a ROPE object of the
// extension type typeName, as the catalogue's objects are registered
// (events wired, appData followed), and returns it; an object already
// registered is returned as it is. Objects it creates (transports of a
// router, ...) are registered as the base type's are.
func (s *Server) Add(typeName string, parent *ropeserver.Object, m any) (*ropeserver.Object, error) {
	var ext *extension
	for _, e := range s.exts {
		if e.Name == typeName {
			ext = e
		}
	}
	if ext == nil {
		return nil, fmt.Errorf("mediaserver: no extension type %q: %w", typeName, ropeserver.ErrBadType)
	}
	ext.setAdding(m, true)
	defer ext.setAdding(m, false)
	return s.ensure(parent, m)
}

// Emit publishes o's changed properties, then sends the event (an
// Extension's Wire uses it).
func (s *Server) Emit(o *ropeserver.Object, event string, data any) { s.emit(o, event, data) }

// WireError converts an error for the wire as the package's WireError
// does, adding the reason of an Extension sentinel it matches.
func (s *Server) WireError(err error) error {
	out := WireError(err)
	for _, ext := range s.exts {
		for reason, sentinel := range ext.Errors {
			if !errors.Is(err, sentinel) {
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
			e.Data.Detail, _ = json.Marshal(ExtendedErrorDetail{Code: media.ErrorCode(err), Reason: reason})
			return &e
		}
	}
	return out
}

// extendLive is an extension kind's live properties: its base's and all
// of its own (nil when its base refreshes everything).
func extendLive(base func(any) map[string]any, own func(any) map[string]any) func(any) map[string]any {
	if base == nil {
		return nil
	}
	return func(m any) map[string]any {
		st := base(m)
		if own != nil {
			maps.Copy(st, own(m))
		}
		return st
	}
}
