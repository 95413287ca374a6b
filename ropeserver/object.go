package ropeserver

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/ropehq/rope/rope"
)

// Object is a live server object. Its state changes (Set, SetAppData, Emit,
// Close) reach every connection as sequenced notifications.
type Object struct {
	srv    *Server
	id     string
	typ    *objectType
	parent *Object
	value  any

	// Guarded by srv.mu.
	order   uint64
	props   map[string]json.RawMessage
	appData json.RawMessage
	// appDataSets counts SetAppData calls, so that rope.setAppData knows
	// whether its OnSetAppData hook applied the change itself.
	appDataSets uint64
	children    map[*Object]struct{}
	closed      bool
	onClose     []func()
}

// ObjectOptions describe a new object. Zero fields take defaults.
type ObjectOptions struct {
	// ID is the object's id. Default: a random UUID.
	ID string
	// Parent is the object's parent; it closes with it. Default: none.
	Parent *Object
	// Props are the initial properties; each must be declared by the type.
	Props map[string]any
	// AppData is the initial appData (a JSON object). Default: {}.
	AppData any
	// Value is the Go value behind the object, returned by Object.Value.
	Value any
}

// Create creates an object of the named type and announces it.
func (s *Server) Create(typeName string, o *ObjectOptions) (*Object, error) {
	if o == nil {
		o = &ObjectOptions{}
	}
	obj := &Object{srv: s, id: o.ID, parent: o.Parent, value: o.Value, children: map[*Object]struct{}{}}
	if obj.id == "" {
		obj.id = uuid.NewString()
	}
	var err error
	if obj.appData, err = encodeAppData(o.AppData); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if obj.typ = s.types[typeName]; obj.typ == nil {
		return nil, fmt.Errorf("create %q: %w", typeName, ErrUnknownType)
	}
	if obj.props, err = obj.encodeProps(o.Props); err != nil {
		return nil, err
	}
	if _, ok := s.objects[obj.id]; ok {
		return nil, fmt.Errorf("create %s %q: %w", typeName, obj.id, ErrDuplicateID)
	}
	if p := obj.parent; p != nil {
		if p.closed {
			return nil, fmt.Errorf("create %s under %q: parent: %w", typeName, p.id, ErrClosed)
		}
		p.children[obj] = struct{}{}
	}
	s.created++
	obj.order = s.created
	s.objects[obj.id] = obj
	s.publishLocked(rope.MethodCreated, func(seq uint64) any {
		return &rope.CreatedParams{Seq: seq, Object: obj.stateLocked()}
	})
	return obj, nil
}

// Object returns the live object with that id.
func (s *Server) Object(id string) (*Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[id]
	return o, ok
}

// ID is the object's id.
func (o *Object) ID() string { return o.id }

// Type is the name of the object's type.
func (o *Object) Type() string { return o.typ.Name }

// Parent is the object's parent, or nil.
func (o *Object) Parent() *Object { return o.parent }

// Value is the Go value given at creation.
func (o *Object) Value() any { return o.value }

// Closed reports whether the object has closed.
func (o *Object) Closed() bool {
	o.srv.mu.Lock()
	defer o.srv.mu.Unlock()
	return o.closed
}

// Prop returns a property's current JSON value.
func (o *Object) Prop(name string) json.RawMessage {
	o.srv.mu.Lock()
	defer o.srv.mu.Unlock()
	return o.props[name]
}

// AppData returns the object's appData as JSON.
func (o *Object) AppData() json.RawMessage {
	o.srv.mu.Lock()
	defer o.srv.mu.Unlock()
	return o.appData
}

// Set changes properties. Only those whose JSON value changes are announced;
// nothing is sent when none does.
func (o *Object) Set(props map[string]any) error {
	s := o.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.closed {
		return fmt.Errorf("set on %s %q: %w", o.typ.Name, o.id, ErrClosed)
	}
	enc, err := o.encodeProps(props)
	if err != nil {
		return err
	}
	for k, v := range enc {
		if bytes.Equal(o.props[k], v) {
			delete(enc, k)
			continue
		}
		o.props[k] = v
	}
	if len(enc) == 0 {
		return nil
	}
	s.publishLocked(rope.MethodUpdated, func(seq uint64) any {
		return &rope.UpdatedParams{Seq: seq, ID: o.id, Props: enc}
	})
	return nil
}

// SetProp changes one property.
func (o *Object) SetProp(name string, value any) error {
	return o.Set(map[string]any{name: value})
}

// SetAppData replaces the object's appData (a JSON object).
func (o *Object) SetAppData(appData any) error {
	raw, err := encodeAppData(appData)
	if err != nil {
		return err
	}
	s := o.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.closed {
		return fmt.Errorf("setAppData on %s %q: %w", o.typ.Name, o.id, ErrClosed)
	}
	o.appData = raw
	o.appDataSets++
	s.publishLocked(rope.MethodUpdated, func(seq uint64) any {
		return &rope.UpdatedParams{Seq: seq, ID: o.id, AppData: raw}
	})
	return nil
}

// Emit sends one of the type's events with data.
func (o *Object) Emit(event string, data any) error {
	if !o.typ.declares(o.typ.Events, event) {
		return fmt.Errorf("emit %q on %s: %w", event, o.typ.Name, ErrUndeclared)
	}
	raw, err := marshalValue(data)
	if err != nil {
		return fmt.Errorf("emit %q on %s: %w", event, o.typ.Name, err)
	}
	s := o.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.closed {
		return fmt.Errorf("emit %q on %s %q: %w", event, o.typ.Name, o.id, ErrClosed)
	}
	s.publishLocked(rope.MethodEvent, func(seq uint64) any {
		return &rope.EventParams{Seq: seq, ID: o.id, Event: event, Data: raw}
	})
	return nil
}

// OnClose registers fn to run after the object closes (at once if it has).
func (o *Object) OnClose(fn func()) {
	o.srv.mu.Lock()
	if !o.closed {
		o.onClose = append(o.onClose, fn)
		o.srv.mu.Unlock()
		return
	}
	o.srv.mu.Unlock()
	fn()
}

// Close closes the object's descendants, then the object, announcing each,
// then runs their OnClose hooks in that order. It is idempotent.
func (o *Object) Close() {
	s := o.srv
	s.mu.Lock()
	if o.closed {
		s.mu.Unlock()
		return
	}
	var closing []*Object
	o.collectLocked(&closing)
	var hooks []func()
	for _, c := range closing {
		c.closed = true
		delete(s.objects, c.id)
		if c.parent != nil {
			delete(c.parent.children, c)
		}
		s.publishLocked(rope.MethodClosed, func(seq uint64) any {
			return &rope.ClosedParams{Seq: seq, ID: c.id}
		})
		hooks = append(hooks, c.onClose...)
		c.onClose = nil
	}
	s.mu.Unlock()
	for _, h := range hooks {
		h()
	}
}

// collectLocked appends o's descendants, deepest first and children in
// creation order, then o.
func (o *Object) collectLocked(out *[]*Object) {
	kids := make([]*Object, 0, len(o.children))
	for c := range o.children {
		kids = append(kids, c)
	}
	sortByOrder(kids)
	for _, c := range kids {
		c.collectLocked(out)
	}
	*out = append(*out, o)
}

func (o *Object) encodeProps(props map[string]any) (map[string]json.RawMessage, error) {
	enc := make(map[string]json.RawMessage, len(props))
	for k, v := range props {
		if !o.typ.declares(o.typ.Properties, k) {
			return nil, fmt.Errorf("property %q of %s: %w", k, o.typ.Name, ErrUndeclared)
		}
		raw, err := marshalValue(v)
		if err != nil {
			return nil, fmt.Errorf("property %q of %s: %w", k, o.typ.Name, err)
		}
		enc[k] = raw
	}
	return enc, nil
}

func (o *Object) stateLocked() rope.ObjectState {
	st := rope.ObjectState{ID: o.id, Type: o.typ.Name, Props: o.props, AppData: o.appData}
	if o.parent != nil {
		st.Parent = &o.parent.id
	}
	return st
}

func encodeAppData(v any) (json.RawMessage, error) {
	raw, err := marshalValue(v)
	if err != nil {
		return nil, fmt.Errorf("appData: %w", err)
	}
	if v == nil || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' {
		return nil, rope.NewError(rope.CodeInvalidParams, "appData must be a JSON object")
	}
	return raw, nil
}

func (o *Object) appDataSetCount() uint64 {
	o.srv.mu.Lock()
	defer o.srv.mu.Unlock()
	return o.appDataSets
}
