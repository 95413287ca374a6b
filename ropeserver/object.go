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
	qid    []byte // id as a JSON string
	head   []byte // {"id":…,"type":…,"parent":…, of its encoded state
	typ    *objectType
	parent *Object
	value  any

	// Guarded by srv.mu.
	order uint64
	// props is replaced, never changed in place, so that a snapshot taken
	// under srv.mu can be encoded after it is released.
	props   propSet
	appData json.RawMessage
	size    int64 // of the encoded state
	// appDataSets counts SetAppData calls, so that rope.setAppData knows
	// whether its OnSetAppData hook applied the change itself.
	appDataSets uint64
	// owner is the Grant.Subject of the connection that owns it (grant.go).
	owner string
	// viewers are the connections with a view that see it (view.go).
	viewers map[*Conn]struct{}
	// passers are the connections with a view that do not see it (their
	// grant hides it with HideOthersShallow) but see below it
	// (view_shallow.go).
	passers  map[*Conn]struct{}
	children map[*Object]struct{}
	closed   bool
	onClose  []func()
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
	// Owner is the subject that owns the object from its creation
	// (Object.Owner, spec §18.1.2), so that it appears in its owner's view
	// with its rope.created; Call.Create sets it to the caller's. A later
	// Call.Own records its caller's subject. Default: none ("").
	Owner string
}

// Create creates an object of the named type and announces it.
func (s *Server) Create(typeName string, o *ObjectOptions) (*Object, error) {
	if o == nil {
		o = &ObjectOptions{}
	}
	obj := &Object{srv: s, id: o.ID, parent: o.Parent, value: o.Value, owner: o.Owner}
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
	enc, err := obj.encodeProps(o.Props)
	if err != nil {
		return nil, err
	}
	obj.props = newPropSet(obj.typ, func(i int) json.RawMessage { return enc[obj.typ.props[i].name] })
	if _, ok := s.objects[obj.id]; ok {
		return nil, fmt.Errorf("create %s %q: %w", typeName, obj.id, ErrDuplicateID)
	}
	p := obj.parent
	if p != nil && p.closed {
		return nil, fmt.Errorf("create %s under %q: parent: %w", typeName, p.id, ErrClosed)
	}
	obj.qid, obj.head = obj.encodeHead()
	st := obj.stateLocked()
	if err := s.checkSizeLocked(obj, 0, int64(st.size())); err != nil {
		return nil, err
	}
	if p != nil {
		if p.children == nil {
			p.children = map[*Object]struct{}{}
		}
		p.children[obj] = struct{}{}
	}
	s.created++
	obj.order = s.created
	s.objects[obj.id] = obj
	s.ordered = append(s.ordered, obj)
	s.resizeLocked(obj, int64(st.size()))
	s.stateBytes++ // the comma between objects
	body := append([]byte(`"object":`), st.appendJSON(make([]byte, 0, obj.size+16))...)
	s.publishBodyLocked(rope.MethodCreated, obj, noteCreated, body)
	return obj, nil
}

// checkSizeLocked fails when o's state, growing from old to size bytes,
// would pass MaxObjectBytes or take the total past MaxStateBytes.
func (s *Server) checkSizeLocked(o *Object, old, size int64) error {
	if size > s.opts.MaxObjectBytes {
		return fmt.Errorf("state of %s %q would take %d bytes, over MaxObjectBytes (%d): %w",
			o.typ.Name, o.id, size, s.opts.MaxObjectBytes, ErrTooLarge)
	}
	if total := s.stateBytes - old + size; size > old && total > s.opts.MaxStateBytes {
		return fmt.Errorf("state of all objects would take %d bytes, over MaxStateBytes (%d): %w",
			total, s.opts.MaxStateBytes, ErrStateFull)
	}
	return nil
}

// resizeLocked records o's new state size.
func (s *Server) resizeLocked(o *Object, size int64) {
	s.stateBytes += size - o.size
	o.size = size
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
	return o.props.value(o.typ.index(name))
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
	if !o.props.changed(o.typ, enc) {
		return nil
	}
	next := o.props.with(o.typ, enc)
	st := o.stateLocked()
	st.props = next
	size := int64(st.size())
	if err := s.checkSizeLocked(o, o.size, size); err != nil {
		return err
	}
	o.props = next
	s.resizeLocked(o, size)
	body := append(append([]byte(nil), `"id":`...), o.qid...)
	body = append(body, `,"props":`...)
	s.publishBodyLocked(rope.MethodUpdated, o, noteChanged, o.typ.appendProps(body, enc))
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
	return o.setAppDataRaw(raw)
}

// setAppDataRaw is SetAppData for a JSON object already checked.
func (o *Object) setAppDataRaw(raw json.RawMessage) error {
	body := make([]byte, 0, len(o.qid)+len(raw)+16)
	body = append(append(body, `"id":`...), o.qid...)
	body = append(append(body, `,"appData":`...), raw...)
	s := o.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.closed {
		return fmt.Errorf("setAppData on %s %q: %w", o.typ.Name, o.id, ErrClosed)
	}
	size := o.size - int64(len(o.appData)) + int64(len(raw))
	if err := s.checkSizeLocked(o, o.size, size); err != nil {
		return err
	}
	o.appData = raw
	o.appDataSets++
	s.resizeLocked(o, size)
	s.publishBodyLocked(rope.MethodUpdated, o, noteChanged, body)
	return nil
}

// Emit sends one of the type's events with data, of at most MaxObjectBytes.
func (o *Object) Emit(event string, data any) error {
	if !o.typ.declares(o.typ.Events, event) {
		return fmt.Errorf("emit %q on %s: %w", event, o.typ.Name, ErrUndeclared)
	}
	raw, err := marshalValue(data)
	if err != nil {
		return fmt.Errorf("emit %q on %s: %w", event, o.typ.Name, err)
	}
	s := o.srv
	if int64(len(raw)) > s.opts.MaxObjectBytes {
		return fmt.Errorf("emit %q on %s: data of %d bytes, over MaxObjectBytes (%d): %w",
			event, o.typ.Name, len(raw), s.opts.MaxObjectBytes, ErrTooLarge)
	}
	body := make([]byte, 0, len(o.qid)+len(event)+len(raw)+32)
	body = append(append(body, `"id":`...), o.qid...)
	body = appendJSONString(append(body, `,"event":`...), event)
	body = append(append(body, `,"data":`...), raw...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.closed {
		return fmt.Errorf("emit %q on %s %q: %w", event, o.typ.Name, o.id, ErrClosed)
	}
	s.publishBodyLocked(rope.MethodEvent, o, noteChanged, body)
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
		s.resizeLocked(c, 0)
		s.stateBytes--
		s.nClosed++
		s.publishBodyLocked(rope.MethodClosed, c, noteClosed, append([]byte(`"id":`), c.qid...))
		hooks = append(hooks, c.onClose...)
		c.onClose = nil
	}
	s.forgetClosedLocked()
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

func (o *Object) stateLocked() objectState {
	return objectState{typ: o.typ, head: o.head, props: o.props, appData: o.appData}
}

// encodeHead encodes the object's id, and the start of its state:
// {"id":…,"type":…,"parent":…,
func (o *Object) encodeHead() (qid, head []byte) {
	qid = appendJSONString(nil, o.id)
	head = append([]byte(`{"id":`), qid...)
	head = appendJSONString(append(head, `,"type":`...), o.typ.Name)
	head = append(head, `,"parent":`...)
	if o.parent != nil {
		head = append(head, o.parent.qid...)
	} else {
		head = append(head, "null"...)
	}
	return qid, append(head, ',')
}

// objectState is an object's state as snapshots and rope.created carry it.
// Its values are never changed in place, so it is encoded without s.mu.
type objectState struct {
	typ     *objectType
	head    []byte
	props   propSet
	appData json.RawMessage
}

// size is the length of appendJSON's output.
func (st objectState) size() int {
	return len(st.head) + len(`"props":,"appData":}`) + len(st.props.jsonOrEmpty()) + len(st.appData)
}

func (st objectState) appendJSON(buf []byte) []byte {
	buf = append(buf, st.head...)
	buf = append(buf, `"props":`...)
	buf = append(buf, st.props.jsonOrEmpty()...)
	buf = append(buf, `,"appData":`...)
	buf = append(buf, st.appData...)
	return append(buf, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(buf, q...)
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
